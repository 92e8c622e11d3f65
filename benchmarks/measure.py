"""What the benchmarks measure with: a timer, a memory sampler and the machine's description."""

import os
import platform
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil


def timed(fn):
    """``fn()``'s result and its wall seconds."""
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


class MemorySampler(threading.Thread):
    """(time, memory of this process and its children, machine's used memory) every ``every``
    seconds. A process's share is its PSS: pages the JVM and its Python workers share count once,
    where summing their RSS would count them twice."""

    def __init__(self, every: float = 0.5):
        super().__init__(daemon=True)
        self.every, self.samples, self._done = every, [], threading.Event()

    def run(self):
        me = psutil.Process()
        while not self._done.is_set():
            rss = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    rss += proc.memory_full_info().pss
                except psutil.Error:
                    pass
            vm = psutil.virtual_memory()
            self.samples.append((datetime.now(UTC), rss / 2**20, (vm.total - vm.available) / 2**20))
            self._done.wait(self.every)

    def stop(self):
        self._done.set()
        self.join()

    def peak(self, start: datetime, end: datetime) -> tuple[float | None, float | None]:
        inside = [s for s in self.samples if start <= s[0] <= end]
        if not inside:
            return None, None
        return round(max(s[1] for s in inside)), round(max(s[2] for s in inside))


def machine() -> dict:
    vm = psutil.virtual_memory()
    return {"host": platform.node(), "cpus": os.cpu_count(), "memory_gb": round(vm.total / 2**30, 1),
            "cpu": next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                         if line.startswith("model name")), platform.processor()),
            "os": platform.platform(), "python": platform.python_version(),
            "measured_at": datetime.now(UTC).isoformat()}
