"""Implicit-feedback ALS on the interaction matrix, and top-K over its factors.

Two engines fit the same model (confidence 1 + alpha x score, preference 1 for every pair seen):
Spark MLlib's ALS on the executors, or the ``implicit`` library on the driver, which trains
several times faster (no per-iteration jobs and shuffles) while the matrix fits the driver's
memory. Both give factors as ``(id, features)`` DataFrames, so everything after the fit
is shared. They differ in regularisation: MLlib scales regParam by each user's and item's number
of ratings, implicit does not, so the same regParam is a different model; the tuning and the
quality gate judge each by NDCG@K all the same.

Spark's ALS wants 32-bit integer ids, the store's ids are 64-bit: ``index_ids`` maps them to
dense indices (kept with the model) and back. Top-K for every user is a block-wise product of
user factors with broadcast item factors and a partial sort, not ``recommendForAllUsers``. The
driver holds at most ``MAX_FACTOR_BYTES`` of item factors at once: a larger catalogue is scored
chunk by chunk and the chunks' top-K merged.
"""

import os
from dataclasses import dataclass
from functools import reduce

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from threadpoolctl import threadpool_limits

from recsys.jobs import side_by_side
from recsys.params import AlsParams


def dense_index(ids: DataFrame, id_col: str, index_col: str) -> DataFrame:
    """Distinct ids numbered 0..n-1 in id order, so the same ids always get the same index."""
    return ids.select(id_col).distinct().select(
        id_col, (F.row_number().over(Window.orderBy(id_col)) - 1).cast("int").alias(index_col)
    )


# auto's bound for fitting on the driver. Measured (benchmarks/bench_engine_bound.py): Python's peak
# grows about 57 MB per million pairs (the Arrow columns, the id maps, the CSR and implicit's
# transpose) and the default 2g driver JVM peaks at 2.5 GB whatever the size; at 20 million pairs
# the driver needs about 1.2 GB beside its JVM and a fit takes about 75 s on 2 cores. Above it
# Spark's ALS spreads the work.
IMPLICIT_MAX_NON_ZEROS = 20_000_000
ENGINES = ("spark", "implicit")


def resolve_engine(wanted: str, non_zeros: int) -> str:
    """The engine that fits: ``wanted`` unless it is ``auto``, which picks implicit while the
    matrix fits the driver (``IMPLICIT_MAX_NON_ZEROS``)."""
    if wanted in ENGINES:
        return wanted
    return "implicit" if non_zeros <= IMPLICIT_MAX_NON_ZEROS else "spark"


@dataclass
class DriverFactors:
    """A model fitted on the driver, shaped like MLlib's ALSModel where the pipeline reads it, with
    the fit's own arrays (row i is index i), from which top-K runs on the driver too."""
    rank: int
    userFactors: DataFrame  # noqa: N815 (ALSModel's names)
    itemFactors: DataFrame  # noqa: N815
    user_matrix: np.ndarray
    item_matrix: np.ndarray


def fit(indexed: DataFrame, params: AlsParams, engine: str = "spark") -> ALSModel | DriverFactors:
    """Fit implicit ALS on (user_idx, item_idx, score) with ``engine`` (``auto``: ``resolve_engine``)."""
    if engine not in ENGINES:
        engine = resolve_engine(engine, indexed.count())
    if engine == "implicit":
        return _fit_on_driver(indexed, params)
    return _fit_spark(indexed, params)


def _fit_spark(indexed: DataFrame, params: AlsParams) -> ALSModel:
    """MLlib's ALS. ``params.blocks`` user and item blocks (Spark's default is 10): with more than
    2, Spark adds the blocks' partial sums in the order their tasks finish, so factors differ in
    the last bits from run to run; with 2 the addition is commutative and a rerun gives identical
    factors."""
    als = ALS(
        rank=params.rank,
        regParam=params.reg_param,
        alpha=params.alpha,
        maxIter=params.max_iter,
        seed=params.seed,
        implicitPrefs=True,
        nonnegative=params.nonnegative,
        numUserBlocks=params.blocks,
        numItemBlocks=params.blocks,
        coldStartStrategy="drop",
        userCol="user_idx",
        itemCol="item_idx",
        ratingCol="score",
    )
    return als.fit(canonical_order(indexed))


def _fit_on_driver(indexed: DataFrame, params: AlsParams) -> DriverFactors:
    """``implicit_factors`` of the ratings, collected to the driver as int/int/float Arrow columns."""
    table = (indexed.select(F.col("user_idx").cast("int"), F.col("item_idx").cast("int"), F.col("score").cast("float"))
             .toArrow())
    columns = [table.column(name).to_numpy() for name in ("user_idx", "item_idx", "score")]
    del table
    user_factors, item_factors = implicit_factors(*columns, params)
    spark = indexed.sparkSession
    return DriverFactors(params.rank, _factor_frame(spark, user_factors), _factor_frame(spark, item_factors),
                         user_factors, item_factors)


def implicit_factors(users: np.ndarray, items: np.ndarray, scores: np.ndarray,
                     params: AlsParams) -> tuple[np.ndarray, np.ndarray]:
    """The implicit library's ALS on (user_idx, item_idx, score) ratings: (user factors, item
    factors), a row per index up to the largest given. MLlib's confidence (1 + alpha x score, given
    to implicit as the matrix's values with its own alpha at 1) and implicit's own solver, a few
    conjugate-gradient steps per user (2.4x faster than its exact Cholesky solve at 600,000
    non-zeros, rank 30; the tuning and the gate judge the result). Each user's and item's solve
    reads only the other side's factors, so the thread count does not change a bit of the result;
    BLAS runs one thread (its threaded sums could)."""
    from implicit.cpu.als import AlternatingLeastSquares
    from scipy.sparse import csr_matrix

    if params.nonnegative:
        raise ValueError("the implicit engine has no non-negative ALS: use als_engine spark")
    shape = (int(users.max()) + 1 if len(users) else 0, int(items.max()) + 1 if len(items) else 0)
    # Only pairs with a positive score: MLlib reads a score of 0 as no preference (as if unseen),
    # while implicit would read confidence 1 + 0 as a positive one.
    positive = scores > 0
    confidence = scores[positive].astype(np.float32) * np.float32(params.alpha) + np.float32(1.0)
    user_items = csr_matrix((confidence, (users[positive], items[positive])), shape=shape)
    del confidence
    user_items.sort_indices()  # each user's solve adds its items up in item order, whatever the read order
    with threadpool_limits(1, "blas"):  # before the model exists: it checks the BLAS threads
        model = AlternatingLeastSquares(factors=params.rank, regularization=params.reg_param, alpha=1.0,
                                        iterations=params.max_iter, use_cg=True, random_state=params.seed,
                                        num_threads=len(os.sched_getaffinity(0)))
        model.fit(user_items, show_progress=False)
    return model.user_factors, model.item_factors


def _factor_frame(spark, factors: np.ndarray) -> DataFrame:
    """(id int, features array<float>) rows of a factor matrix, as MLlib's models hold them."""
    factors = np.ascontiguousarray(factors, dtype=np.float32)
    n, rank = factors.shape
    features = pa.ListArray.from_arrays(pa.array(np.arange(0, n * rank + 1, rank, dtype=np.int32)),
                                        pa.array(factors.reshape(-1)))
    table = pa.table({"id": pa.array(np.arange(n, dtype=np.int32)), "features": features})
    return spark.createDataFrame(table, "id int, features array<float>")


def save(model: ALSModel | DriverFactors, path: str) -> None:
    """The model under ``path``: MLlib's own format, or the driver's factors as Parquet in the
    same userFactors/itemFactors layout."""
    if isinstance(model, DriverFactors):
        model.userFactors.write.parquet(f"{path}/userFactors")
        model.itemFactors.write.parquet(f"{path}/itemFactors")
    else:
        model.write().save(path)


def canonical_order(indexed: DataFrame) -> DataFrame:
    """The ratings in an order fixed by their content, not by how they were read.

    ALS adds up each user's and item's normal equations in the order ratings reach it; the same
    ratings in another order give factors that differ in the last bits, and then other ties and
    other tables on a rerun.
    """
    partitions = int(indexed.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    return indexed.repartition(partitions, "user_idx").sortWithinPartitions("user_idx", "item_idx")


# Item factors collected to the driver and broadcast at once, at most (float32): 256 MB is 2.2
# million products at rank 30. Nothing else in top-K grows with the catalogue on the driver. A
# chunk's top-K is checkpointed so its broadcast can go: losing an executor then fails the job
# (the task's retry reruns it) rather than recomputing the chunk.
MAX_FACTOR_BYTES = 256 * 2**20


def factor_matrix(factors: DataFrame, rank: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    """A model's (id, features) factors with ``start <= id < stop`` as a dense array whose row i
    is id ``start + i`` (zeros if unseen); all of them without ``stop``. Collected as Arrow
    columns, so the driver holds about the array's own size, not a Python object per value."""
    if stop is not None:
        factors = factors.where(F.col("id").between(start, stop - 1))
    table = factors.select("id", "features").toArrow()
    ids = table.column("id").to_numpy().astype(np.int64)
    values = table.column("features").combine_chunks().flatten().to_numpy().astype(np.float32, copy=False)
    if stop is None:
        stop = int(ids.max()) + 1 if len(ids) else 0
    matrix = np.zeros((stop - start, rank), dtype=np.float32)
    matrix[ids - start] = values.reshape(len(ids), rank)
    return matrix


def item_factor_matrix(model: ALSModel | DriverFactors) -> np.ndarray:
    """Item factors indexed by item_idx."""
    return factor_matrix(model.itemFactors, model.rank)


def unit_rows(factors: np.ndarray) -> np.ndarray:
    """The rows scaled to length 1 (zero rows stay zero), in place."""
    norms = np.linalg.norm(factors, axis=1, keepdims=True)
    return np.divide(factors, norms, out=factors, where=norms > 0)


def top_k_over_items(queries: DataFrame, item_factors: DataFrame, rank: int, k: int, unit: bool = False,
                     max_bytes: int | None = None) -> DataFrame:
    """``top_k`` of ``queries`` over the model's item factors (``unit``: scaled to length 1),
    collecting at most ``max_bytes`` of factors to the driver at a time: a larger catalogue is
    cut into chunks of item indices, each chunk's top-k is computed and kept (so its broadcast can
    go), and the chunks' lists are merged by score, ties by lower item index, as ``top_k`` ranks."""
    items = (item_factors.agg(F.max("id")).first()[0] or 0) + 1
    chunk = max(k, (max_bytes or MAX_FACTOR_BYTES) // (4 * rank))
    if items <= chunk:
        matrix = factor_matrix(item_factors, rank, 0, items)
        return top_k(queries, unit_rows(matrix) if unit else matrix, k)
    partials = []
    for start in range(0, items, chunk):
        matrix = factor_matrix(item_factors, rank, start, min(items, start + chunk))
        broadcast = queries.sparkSession.sparkContext.broadcast(unit_rows(matrix) if unit else matrix)
        del matrix
        partials.append(_top_k(queries, broadcast, k, offset=start).localCheckpoint())
        broadcast.destroy()
    order = Window.partitionBy("user_idx").orderBy(F.desc("score"), F.asc("item_idx"))
    merged = reduce(DataFrame.unionByName, partials)
    return merged.withColumn("rank", F.row_number().over(order).cast("int")).where(F.col("rank") <= k)


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


def top_k(user_factors: DataFrame, item_factors: np.ndarray, k: int) -> DataFrame:
    """Top-k items per user by dot product, skipping each user's ``exclude`` item indices.

    ``user_factors`` has (user_idx int, features array<float>, exclude array<int>).
    Returns (user_idx, item_idx, rank, score).
    """
    return _top_k(user_factors, user_factors.sparkSession.sparkContext.broadcast(item_factors), k)


# One block's score matrix holds about this many values (64 MB), whatever the catalogue size.
SCORE_BLOCK_VALUES = 16_000_000


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


def _top_k(user_factors: DataFrame, items, k: int, offset: int = 0) -> DataFrame:
    """``top_k`` over broadcast item factors whose row i is item index ``offset + i``."""
    n_items = items.value.shape[0]
    block = max(1, SCORE_BLOCK_VALUES // max(1, n_items))

    def score_partition(batches):
        factors = items.value
        for batch in batches:
            for start in range(0, len(batch), block):
                part = batch.iloc[start:start + block]
                users = np.stack(part["features"].to_numpy()).astype(np.float32)
                excluded = [np.asarray(e if e is not None else [], dtype=np.int64) - offset for e in part["exclude"]]
                excluded = [e[(e >= 0) & (e < n_items)] for e in excluded]  # this chunk's items only
                rows, cols, values = top_k_block(users, factors, excluded, k)
                yield pd.DataFrame({
                    "user_idx": part["user_idx"].to_numpy()[rows],
                    "item_idx": (cols + offset).astype(np.int32),
                    "rank": ranks_in_rows(rows, len(part)).astype(np.int32),
                    "score": values.astype(np.float64),
                })

    schema = "user_idx int, item_idx int, rank int, score double"
    return user_factors.mapInPandas(score_partition, schema)


def top_k_for(user_factors: np.ndarray, item_factors: np.ndarray, excluded: list[np.ndarray], k: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``top_k`` on the driver: each row's top-k items by dot product, skipping its ``excluded``
    item indices, as (rows, columns, scores) sorted by row then rank; ``top_k_block`` over blocks
    of rows, on the process's CPUs (numpy lets go of the interpreter while it multiplies and sorts)."""
    from concurrent.futures import ThreadPoolExecutor

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


def arrow_columns(df: DataFrame, *names: str) -> list[np.ndarray]:
    """The columns of a DataFrame collected to the driver as numpy arrays (through Arrow)."""
    table = df.select(*names).toArrow()
    return [table.column(name).to_numpy() for name in names]


def arrow_columns_of(*wanted: tuple[DataFrame, tuple[str, ...]]) -> list[list[np.ndarray]]:
    """``arrow_columns`` of several DataFrames, collected side by side (``jobs.side_by_side``)."""
    return side_by_side(*[lambda frame=frame, names=names: arrow_columns(frame, *names) for frame, names in wanted])


def _index_map(df: DataFrame, id_col: str, index_col: str, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An id map collected: (ids, indices) in index order, and the array whose entry i is index i's id."""
    ids, indices = arrow_columns(df, id_col, index_col)
    order = np.argsort(indices, kind="stable")
    ids, indices = ids[order], indices[order]
    id_of = np.zeros(size, dtype=np.int64)
    id_of[indices] = ids
    return ids, indices, id_of


def _ranked_frame(spark, ids: np.ndarray, rows: np.ndarray, other_ids: np.ndarray, cols: np.ndarray,
                  values: np.ndarray, names: tuple[str, str, str, str]) -> DataFrame:
    """(id, rank, other id, score) rows of a driver top-K, as a DataFrame."""
    table = pa.table({names[0]: pa.array(ids[rows].astype(np.int64)),
                      names[1]: pa.array(ranks_in_rows(rows, len(ids)).astype(np.int32)),
                      names[2]: pa.array(other_ids[cols].astype(np.int64)),
                      names[3]: pa.array(values.astype(np.float64))})
    frame = spark.createDataFrame(table, f"{names[0]} long, {names[1]} int, {names[2]} long, {names[3]} double")
    # Spark cuts a large Arrow table into a partition per 10,000 rows: as many load files.
    return frame.coalesce(spark.sparkContext.defaultParallelism)


def _recommend_on_driver(model: DriverFactors, users: DataFrame, items: DataFrame, k: int,
                         exclude: DataFrame | None) -> DataFrame:
    """``recommend`` for a model fitted on the driver, scored there: the same lists, without a
    Spark job per block (3.6 million rows at 100,000 products took Spark 90 s)."""
    user_ids, user_idx, _ = _index_map(users, "user_id", "user_idx", model.user_matrix.shape[0])
    _, _, product_of = _index_map(items, "product_id", "item_idx", model.item_matrix.shape[0])
    excluded = [np.empty(0, np.int64)] * len(user_idx)
    if exclude is not None:
        pairs = exclude.join(users, "user_id").join(items, "product_id")
        pair_users, pair_items = arrow_columns(pairs, "user_idx", "item_idx")
        excluded = rows_of(np.searchsorted(user_idx, pair_users), pair_items, len(user_idx))
    rows, cols, values = top_k_for(model.user_matrix[user_idx], model.item_matrix, excluded, k)
    return _ranked_frame(users.sparkSession, user_ids, rows, product_of, cols, values,
                         ("user_id", "rank", "product_id", "score")).select("user_id", "product_id", "rank", "score")


def recommend(model: ALSModel | DriverFactors, users: DataFrame, items: DataFrame, k: int,
              exclude: DataFrame | None) -> DataFrame:
    """Top-k (user_id, product_id, rank, score) for the model's users, in store ids.

    ``users``/``items`` are the index maps; ``exclude`` holds (user_id, product_id) pairs that
    must not be recommended (already purchased, say).
    """
    if isinstance(model, DriverFactors):
        return _recommend_on_driver(model, users, items, k, exclude)
    factors = model.userFactors.select(F.col("id").alias("user_idx"), "features")
    if exclude is not None:
        excluded = (
            exclude.join(users, "user_id").join(items, "product_id")
            .groupBy("user_idx").agg(F.collect_list("item_idx").alias("exclude"))
        )
        factors = factors.join(excluded, "user_idx", "left")
    else:
        factors = factors.withColumn("exclude", F.lit(None).cast("array<int>"))
    ranked = top_k_over_items(factors, model.itemFactors, model.rank, k)
    return ranked.join(users, "user_idx").join(items, "item_idx").select(
        "user_id", "product_id", "rank", "score"
    )


def similar_products(model: ALSModel | DriverFactors, items: DataFrame, k: int) -> DataFrame:
    """For each product, the k products whose ALS item factors are closest by cosine
    similarity (the original notebook's substitute and supplementary products).

    Returns (product_id, similar_rank, similar_product_id, similarity).
    """
    if isinstance(model, DriverFactors):
        product_ids, item_idx, product_of = _index_map(items, "product_id", "item_idx", model.item_matrix.shape[0])
        unit = unit_rows(model.item_matrix.astype(np.float32, copy=True))
        rows, cols, values = top_k_for(unit[item_idx], unit, [np.array([i]) for i in item_idx], k)
        return _ranked_frame(items.sparkSession, product_ids, rows, product_of, cols, values,
                             ("product_id", "similar_rank", "similar_product_id", "similarity"))
    norm = F.sqrt(F.aggregate("features", F.lit(0.0), lambda acc, x: acc + x * x))
    queries = model.itemFactors.select(
        F.col("id").alias("user_idx"),
        F.transform("features", lambda x: F.when(norm > 0, x / norm).otherwise(0.0)).alias("features"),
        F.array(F.col("id")).alias("exclude"),  # a product is not its own substitute
    )
    ranked = top_k_over_items(queries, model.itemFactors, model.rank, k, unit=True)
    other = items.select(F.col("product_id").alias("similar_product_id"), F.col("item_idx").alias("other_idx"))
    return (
        ranked.join(items.withColumnRenamed("item_idx", "user_idx"), "user_idx")
        .join(other, ranked["item_idx"] == other["other_idx"])
        .select("product_id", F.col("rank").alias("similar_rank"), "similar_product_id",
                F.col("score").alias("similarity"))
    )
