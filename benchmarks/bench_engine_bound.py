"""Benchmark: what fitting on the driver costs as the matrix grows, the measure behind auto's
engine choice (``recsys.driver_memory``).

    python -m benchmarks.bench_engine_bound [--pairs 5000000 10000000 20000000]

For each size, in a fresh process (so each peak is its own): a random interaction matrix with a
store's shape (users = pairs / 16, products = pairs / 60, long-tailed), collected from a Spark
DataFrame exactly as ``train_als`` collects it (``recsys.als.fit`` with the implicit engine, rank
30, 10 iterations). Prints the fit's seconds and the driver's peak memory: the JVM's (Spark's heap
and the Arrow batches) and Python's (the arrays, the CSR and implicit's copy of it), each process's
peak resident set, beside what ``driver_memory.driver_engine_need`` predicts for the fit (its
lists apart: ``top_k`` 0), which must not be below Python's peak. Python's peak includes
generating the random pairs (an upper bound of the fit's own). The refit's top-K rows are not
measured here (everyone's top-K at these sizes takes longer than the fit): the rees46 daily run's
peak memory (``make bench SCALE=rees46``) checks them.
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

RANK, ITERATIONS = 30, 10


def measure(pairs: int) -> dict:
    import numpy as np
    import pyarrow as pa

    from recsys import als
    from recsys.driver_memory import driver_engine_need
    from recsys.params import AlsParams
    from recsys.session import get_spark

    spark = get_spark("bench engine bound", "local[2]", {"spark.driver.memory": "2g", "spark.ui.enabled": "false",
                                                         "spark.log.level": "ERROR"})
    rng = np.random.default_rng(1)
    n_users, n_items = max(1, pairs // 16), max(1, pairs // 60)
    users = rng.integers(0, n_users, pairs, dtype=np.int32)
    items = (rng.zipf(1.3, pairs) % n_items).astype(np.int32)
    scores = rng.random(pairs, dtype=np.float32) + np.float32(0.1)
    ratings = spark.createDataFrame(pa.table({"user_idx": users, "item_idx": items, "score": scores}),
                                    "user_idx int, item_idx int, score float")
    ratings = ratings.groupBy("user_idx", "item_idx").max("score").withColumnRenamed("max(score)", "score")
    ratings = ratings.localCheckpoint()  # a Spark-side matrix, as train_als reads it from the lake
    non_zeros = ratings.count()
    del users, items, scores
    started = time.monotonic()
    model = als.fit(ratings, AlsParams(rank=RANK, reg_param=0.05, alpha=10.0, max_iter=ITERATIONS, blocks=2),
                    "implicit")
    fitted = time.monotonic()
    status = open(f"/proc/{spark.sparkContext._gateway.proc.pid}/status").read()
    jvm_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
    return {"non_zeros": non_zeros, "users": model.user_array.shape[0], "products": model.item_array.shape[0],
            "fit_s": round(fitted - started, 1),
            "python_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "jvm_peak_mb": round(jvm_kb / 1024),
            "need_mb": round(driver_engine_need(non_zeros, model.user_array.shape[0], model.item_array.shape[0],
                                                RANK, 0) / 2**20)}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, nargs="+", default=[5_000_000, 10_000_000, 20_000_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    print("| non-zeros | users | products | fit s | Python peak MB | predicted need MB | JVM peak MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for pairs in args.pairs:
        out = subprocess.run([sys.executable, "-m", "benchmarks.bench_engine_bound", "--one", str(pairs)],
                             capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
        if out.returncode != 0:
            print(f"| {pairs:,} | failed (exit {out.returncode}): {(out.stderr.strip().splitlines() or [''])[-1]} |")
            continue
        m = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {m['non_zeros']:,} | {m['users']:,} | {m['products']:,} | {m['fit_s']} | "
              f"{m['python_peak_mb']:,} | {m['need_mb']:,} | {m['jvm_peak_mb']:,} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
