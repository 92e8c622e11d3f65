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
    return _scored_block(users, factors, *_pairs(excluded), k)


def _pairs(excluded: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-row excluded columns as (row, column) pairs sorted by row."""
    lengths = np.fromiter((len(e) for e in excluded), dtype=np.int64, count=len(excluded))
    if not lengths.sum():
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.repeat(np.arange(len(excluded)), lengths), np.concatenate(excluded).astype(np.int64)


def _scored_block(users: np.ndarray, factors: np.ndarray, pair_rows: np.ndarray, pair_cols: np.ndarray,
                  k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scores = users @ factors.T
    scores[pair_rows, pair_cols] = -np.inf
    rows, cols, values = top_k_rows(scores, min(k, factors.shape[0]))
    finite = np.isfinite(values)
    return rows[finite], cols[finite], values[finite]


def _exact_top_k(user_factors: np.ndarray, item_factors: np.ndarray, pair_rows: np.ndarray,
                 pair_cols: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every row scored against every item, in blocks of rows on the process's CPUs (numpy lets
    go of the interpreter while it multiplies and sorts); excluded (row, column) pairs by row."""
    threads = len(os.sched_getaffinity(0))
    # Each thread holds a block's scores (and a copy while it sorts): the blocks share the bound.
    block = max(2, SCORE_BLOCK_VALUES // threads // max(1, item_factors.shape[0]))
    n_rows = user_factors.shape[0]

    def run(start: int):
        # A block of one row would be a matrix-vector product, whose sums BLAS orders otherwise.
        stop = n_rows if n_rows - (start + block) == 1 else min(start + block, n_rows)
        lo, hi = np.searchsorted(pair_rows, [start, stop])
        rows, cols, values = _scored_block(user_factors[start:stop], item_factors, pair_rows[lo:hi] - start,
                                           pair_cols[lo:hi], k)
        return rows + start, cols, values

    starts = [start for start in range(0, n_rows, block) if n_rows - start != 1 or start == 0]
    with threadpool_limits(1, "blas"), ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(run, starts))
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    return tuple(np.concatenate(p) for p in zip(*parts, strict=True))


# Items every row is scored against first: those of the largest norms. ALS item factors' norms
# are long-tailed (at rees46 the largest is 17,000 times the median), so for most users no other
# item can reach their k-th best score among these.
HEAD_ITEMS = 512
# A dot product computed in float32 may exceed the product of the computed norms by a few parts
# in a million: the bound is lowered by far more than that.
NORM_BOUND_SLACK = 1e-4


def top_k_for(user_factors: np.ndarray, item_factors: np.ndarray, excluded: list[np.ndarray], k: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's top-k items by dot product, skipping its ``excluded`` item indices, as (rows,
    columns, scores) sorted by row then rank: exactly what scoring every item gives, by scoring
    far fewer. Each row is scored first against the ``HEAD_ITEMS`` items of the largest norms;
    an item can beat the k-th best of those only if its norm reaches that score over the row's
    norm (Cauchy-Schwarz), so rows that no other item's norm reaches are done, and the rest are
    scored again against every item that might, grouped by how many that is."""
    pair_rows, pair_cols = _pairs(excluded)
    n_rows, n_items = user_factors.shape[0], item_factors.shape[0]
    if n_items <= 2 * HEAD_ITEMS:
        return _exact_top_k(user_factors, item_factors, pair_rows, pair_cols, k)
    norms = np.linalg.norm(item_factors, axis=1)
    by_norm = np.argsort(-norms, kind="stable")
    descending = norms[by_norm]

    def among(first: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top-k of ``rows`` (sorted) among the ``first`` items by norm; in global rows and columns."""
        columns = np.sort(by_norm[:first])  # in column order: ties still go to the lower column
        mine = np.isin(pair_rows, rows) & np.isin(pair_cols, columns)
        users = user_factors if len(rows) == n_rows else user_factors[rows]
        got_rows, got_cols, values = _exact_top_k(users, item_factors[columns],
                                                  np.searchsorted(rows, pair_rows[mine]),
                                                  np.searchsorted(columns, pair_cols[mine]), k)
        return rows[got_rows], columns[got_cols], values

    everyone = np.arange(n_rows)
    rows, cols, values = among(HEAD_ITEMS, everyone)
    ends = np.searchsorted(rows, everyone, side="right")
    full = ends - np.searchsorted(rows, everyone) == min(k, n_items)
    kth = np.where(full, values[np.maximum(ends - 1, 0)] if len(values) else 0.0, -np.inf)
    user_norms = np.linalg.norm(user_factors, axis=1)
    reach = np.divide(kth, user_norms, out=np.full(n_rows, -np.inf), where=(kth > 0) & (user_norms > 0))
    needed = np.where(reach > 0, np.searchsorted(-descending, -reach * (1 - NORM_BOUND_SLACK), side="right"),
                      n_items)
    done = needed <= HEAD_ITEMS
    keep = done[rows]
    parts = [(rows[keep], cols[keep], values[keep])]
    first = HEAD_ITEMS
    while first < n_items:  # the other rows, by how many items they need: a few groups
        first = min(n_items, first * 4)
        group = np.nonzero(~done & (needed <= first))[0]
        if len(group):
            parts.append(among(int(needed[group].max()), group))
            done[group] = True
    rows, cols, values = (np.concatenate(p) for p in zip(*parts, strict=True))
    order = np.argsort(rows, kind="stable")
    return rows[order], cols[order], values[order]


def popular_rows(n_rows: int, excluded_rows: np.ndarray, excluded_positions: np.ndarray, n_items: int, k: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Each row's first k positions of a popularity order (0: the most popular of ``n_items``)
    that are not among its excluded (row, position) pairs, as (rows, positions) by row then
    position: ``ranking.recommend_popular``'s lists. Each row looks only as deep as its own
    exclusions."""
    lengths = np.minimum(k + np.bincount(excluded_rows, minlength=n_rows), n_items)
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
    positions = np.arange(len(rows), dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    if len(excluded_rows):
        pairs = excluded_rows.astype(np.int64) * n_items + excluded_positions
        kept = ~np.isin(rows * n_items + positions, pairs)
        rows, positions = rows[kept], positions[kept]
    first = ranks_in_rows(rows, n_rows) <= k
    return rows[first], positions[first]


def rows_of(pair_rows: np.ndarray, pair_cols: np.ndarray, n_rows: int) -> list[np.ndarray]:
    """Pairs (row, column) as each row's sorted columns: row i's list is the i-th array."""
    order = np.lexsort((pair_cols, pair_rows))
    bounds = np.searchsorted(pair_rows[order], np.arange(1, n_rows))
    return np.split(pair_cols[order].astype(np.int64), bounds)


def unit_rows(factors: np.ndarray) -> np.ndarray:
    """The rows scaled to length 1 (zero rows stay zero), in place."""
    norms = np.linalg.norm(factors, axis=1, keepdims=True)
    return np.divide(factors, norms, out=factors, where=norms > 0)
