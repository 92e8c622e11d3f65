"""Benchmark: exact top-K by the norm bound (``recsys.topk.top_k_for``) against scoring every item.

    python -m benchmarks.bench_topk [--model DIR] [--users 100000] [--k 10]

``--model`` is a saved ALS model (``<lake>/models/run_date=<d>/als``, MLlib's layout), for example
the rees46 benchmark's; without it, implicit ALS (rank 30, 10 iterations) is fitted on a random
long-tailed matrix (3 million pairs, 200,000 users, 50,000 products) so the factors have a trained
model's norms. A sample of ``--users`` users, each with up to three excluded products (the largest
item among them for one user in seven), is scored both ways in the same run; prints each one's
seconds, the ratio, and whether the lists and scores are identical (they must be).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def saved_factors(path: Path, name: str) -> np.ndarray:
    import pyarrow.parquet as pq

    table = pq.read_table(path / name)
    ids = table.column("id").to_numpy()
    values = table.column("features").combine_chunks().flatten().to_numpy().astype(np.float32)
    matrix = np.zeros((int(ids.max()) + 1, len(values) // len(ids)), np.float32)
    matrix[ids] = values.reshape(len(ids), -1)
    return matrix


def fitted_factors() -> tuple[np.ndarray, np.ndarray]:
    from recsys.als_implicit import implicit_factors
    from recsys.params import AlsParams

    rng = np.random.default_rng(5)
    pairs, users, products = 3_000_000, 200_000, 50_000
    items = np.minimum((rng.pareto(1.2, pairs) * 200).astype(np.int32), products - 1)  # long-tailed popularity
    user_idx = rng.integers(0, users, pairs).astype(np.int32)
    scores = rng.random(pairs).astype(np.float32) + 0.1
    return implicit_factors(user_idx, items, scores, AlsParams(rank=30, reg_param=0.05, alpha=1.0, max_iter=10))


def main(argv: list[str]) -> None:
    from recsys import topk

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args(argv)
    if args.model:
        user_factors, item_factors = saved_factors(args.model, "userFactors"), saved_factors(args.model, "itemFactors")
    else:
        user_factors, item_factors = fitted_factors()
    rng = np.random.default_rng(11)
    sample = np.sort(rng.choice(len(user_factors), min(args.users, len(user_factors)), replace=False))
    users = user_factors[sample]
    largest = int(np.argmax(np.linalg.norm(item_factors, axis=1)))
    excluded = [np.sort(rng.choice(len(item_factors), rng.integers(0, 4), replace=False)) for _ in sample]
    excluded[::7] = [np.array([largest])] * len(excluded[::7])
    norms = np.linalg.norm(item_factors, axis=1)
    print(f"{len(users):,} users, {item_factors.shape[0]:,} items, rank {item_factors.shape[1]}, k {args.k}; "
          f"item norms: median {np.median(norms):.4g}, largest {norms.max():.4g}")
    started = time.perf_counter()
    bounded = topk.top_k_for(users, item_factors, excluded, args.k)
    bounded_s = time.perf_counter() - started
    started = time.perf_counter()
    every = topk._exact_top_k(users, item_factors, *topk._pairs(excluded), args.k)
    every_s = time.perf_counter() - started
    same = all(np.array_equal(a, b) for a, b in zip(bounded, every, strict=True))
    print(f"norm bound {bounded_s:.2f} s, every item {every_s:.2f} s: {every_s / bounded_s:.1f}x; "
          f"identical lists and scores: {same}")
    if not same:
        sys.exit("the norm bound changed a list")


if __name__ == "__main__":
    main(sys.argv[1:])
