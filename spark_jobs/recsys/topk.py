"""Top-K by dot product in numpy: the kernel both ALS engines score with (Spark's in each task of
its block-wise top-K, the driver's over thread blocks). It imports no pyspark.

Every top-K here ranks a row's scores largest first, ties by lower column, and leaves out the
row's excluded columns; ``ranks_in_rows`` numbers the result 1, 2, ... within each row.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits

# One block's score matrix holds about this many values (64 MB), whatever the catalogue size.
SCORE_BLOCK_VALUES = 16_000_000


def top_k_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's k largest scores, largest first, ties by lower column: (rows, columns, scores).

    A partial sort of every row costs far more than reading it. Instead the columns are dealt
    into groups (column j goes to group j mod g); the k-th largest group maximum is a lower bound
    of the row's k-th largest score (k groups each hold a score at least that large), so only
    the groups whose maximum reaches it, and the few columns left over, can hold the top k.
    """
    n_rows, n_cols = scores.shape
    size = max(1, min(64, n_cols // (4 * k)))  # columns per group
    groups = n_cols // size
    dealt = scores[:, :groups * size].reshape(n_rows, size, groups)
    maxima = dealt.max(axis=1)  # elementwise over contiguous runs: fast
    bound = np.partition(maxima, groups - k, axis=1)[:, groups - k]
    hit_rows, hit_groups = np.nonzero(maxima >= bound[:, None])
    hit_values = dealt[hit_rows, :, hit_groups]  # (hits, size): the candidate groups' scores
    i, j = np.nonzero(hit_values >= bound[hit_rows][:, None])
    lo_rows, lo_cols = np.nonzero(scores[:, groups * size:] >= bound[:, None])  # columns left over
    rows = np.concatenate([hit_rows[i], lo_rows])
    cols = np.concatenate([hit_groups[i] + groups * j, lo_cols + groups * size])
    values = np.concatenate([hit_values[i, j], scores[lo_rows, lo_cols + groups * size]])
    order = np.lexsort((cols, -values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    keep = ranks_in_rows(rows, n_rows) <= k
    return rows[keep], cols[keep], values[keep]


def ranks_in_rows(rows: np.ndarray, n_rows: int) -> np.ndarray:
    """1, 2, ... within each row of ``rows`` (sorted, each below ``n_rows``): a top-K's ranks."""
    starts = np.searchsorted(rows, np.arange(n_rows))
    return np.arange(len(rows)) - starts[rows] + 1


def top_k_block(users: np.ndarray, factors: np.ndarray, excluded: list[np.ndarray], k: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``top_k_rows`` of the block's scores (``users`` x ``factors``), each row's ``excluded``
    columns left out: (rows, columns, scores), rows and columns local to the block."""
    scores = users @ factors.T
    lengths = np.fromiter((len(e) for e in excluded), dtype=np.int64, count=len(excluded))
    if lengths.sum():
        scores[np.repeat(np.arange(len(excluded)), lengths), np.concatenate(excluded)] = -np.inf
    rows, cols, values = top_k_rows(scores, min(k, factors.shape[0]))
    finite = np.isfinite(values)
    return rows[finite], cols[finite], values[finite]


def top_k_for(user_factors: np.ndarray, item_factors: np.ndarray, excluded: list[np.ndarray], k: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's top-k items by dot product, skipping its ``excluded`` item indices, as (rows,
    columns, scores) sorted by row then rank; ``top_k_block`` over blocks of rows, on the process's
    CPUs (numpy lets go of the interpreter while it multiplies and sorts)."""
    threads = len(os.sched_getaffinity(0))
    # Each thread holds a block's scores (and a copy while it sorts): the blocks share the bound.
    block = max(2, SCORE_BLOCK_VALUES // threads // max(1, item_factors.shape[0]))
    n_rows = user_factors.shape[0]

    def run(start: int):
        # A block of one row would be a matrix-vector product, whose sums BLAS orders otherwise.
        stop = n_rows if n_rows - (start + block) == 1 else min(start + block, n_rows)
        rows, cols, values = top_k_block(user_factors[start:stop], item_factors, excluded[start:stop], k)
        return rows + start, cols, values

    starts = [start for start in range(0, n_rows, block) if n_rows - start != 1 or start == 0]
    with threadpool_limits(1, "blas"), ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(run, starts))
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    return tuple(np.concatenate(p) for p in zip(*parts, strict=True))


def rows_of(pair_rows: np.ndarray, pair_cols: np.ndarray, n_rows: int) -> list[np.ndarray]:
    """Pairs (row, column) as each row's sorted columns: row i's list is the i-th array."""
    order = np.lexsort((pair_cols, pair_rows))
    bounds = np.searchsorted(pair_rows[order], np.arange(1, n_rows))
    return np.split(pair_cols[order].astype(np.int64), bounds)


def unit_rows(factors: np.ndarray) -> np.ndarray:
    """The rows scaled to length 1 (zero rows stay zero), in place."""
    norms = np.linalg.norm(factors, axis=1, keepdims=True)
    return np.divide(factors, norms, out=factors, where=norms > 0)
