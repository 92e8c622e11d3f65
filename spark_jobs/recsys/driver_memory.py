"""What fitting and ranking on the driver needs, and what the driver has: ``auto``'s engine choice.

The implicit engine holds on the driver the window's pairs (Arrow columns, the CSR matrix and
implicit's transpose of it), the factors, and at the refit everyone's top-K rows before they go
back to Spark. ``driver_engine_need`` adds these up with the sizes measured by
benchmarks/bench_engine_bound.py (docs/benchmarks.md, "The driver engine's bound").

The driver has its machine's memory, or its container's (the cgroup limit) when that is lower,
less the JVM's heap (``spark.driver.memory``), and of that only ``DRIVER_SHARE``: the Airflow
worker, other tasks and the page cache live there too. Total memory, not free memory, on purpose:
the same deployment always chooses the same engine, so a rerun of a date fits the same model.
"""

import re

MB = 1024 * 1024
# Python's own peak apart from the data: the interpreter, numpy, pyarrow, implicit, pyspark.
DRIVER_BASE_BYTES = 400 * MB
# Per pair, at the fit's peak: Arrow's int/int/float columns (12 bytes), the COO triplets and the
# CSR built from them, implicit's transpose. bench_engine_bound measured 43 MB more Python peak per
# million pairs from 19 to 28 million pairs, factors included; 40 bytes and the factors apart err high.
BYTES_PER_PAIR = 40
# float32 factors, held twice at the refit (the model's and a user block's or the unit rows' copy).
BYTES_PER_FACTOR = 2 * 4
# A top-K row on the driver: the blocks' (row, column, score), their concatenation and the Arrow
# columns of (user id, rank, product id, score) handed to Spark.
BYTES_PER_LIST_ROW = 60
DRIVER_SHARE = 0.5

_UNITS = {"b": 1, "k": 1024, "m": MB, "g": 1024 * MB, "t": 1024 * 1024 * MB}


def driver_engine_need(pairs: int, users: int, products: int, rank: int, top_k: int) -> int:
    """Bytes the implicit engine needs on the driver, its JVM apart, for a window of ``pairs``."""
    return (DRIVER_BASE_BYTES + pairs * BYTES_PER_PAIR + (users + products) * rank * BYTES_PER_FACTOR
            + users * top_k * BYTES_PER_LIST_ROW)


def memory_bytes(size: str) -> int:
    """Bytes of a JVM memory size as Spark writes them: 2g, 512m, 1536k, 4t; a bare number is MB
    (as spark.driver.memory reads one)."""
    found = re.fullmatch(r"\s*(\d+)\s*([bkmgt])?b?\s*", size.lower())
    if not found:
        raise ValueError(f"{size!r} is not a memory size such as 2g or 512m")
    return int(found[1]) * _UNITS[found[2] or "m"]


def _read_number(path: str) -> int | None:
    """The number a cgroup file holds, or None when it says max, is missing or unreadable."""
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def machine_memory(proc: str = "/proc", cgroup: str = "/sys/fs/cgroup") -> int:
    """Bytes of memory the driver's processes may use: the machine's total, or the limit of the
    cgroup they run in (v2 memory.max or v1 memory.limit_in_bytes) when lower."""
    with open(f"{proc}/meminfo") as f:
        total = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemTotal:"))
    limits = [_read_number(f"{cgroup}/memory.max"), _read_number(f"{cgroup}/memory/memory.limit_in_bytes")]
    return min([total] + [limit for limit in limits if limit])


def driver_budget(machine: int, jvm_heap: int) -> int:
    """Bytes the implicit engine may take on a driver of ``machine`` bytes whose JVM has ``jvm_heap``."""
    return max(0, int((machine - jvm_heap) * DRIVER_SHARE))


def describe(need: int, budget: int) -> str:
    return f"the driver engine needs about {need / MB:,.0f} MB of the {budget / MB:,.0f} MB the driver may give it"
