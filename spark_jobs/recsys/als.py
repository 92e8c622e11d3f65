"""Implicit-feedback ALS on the interaction matrix, and top-K over its factors.

Spark's ALS wants 32-bit integer ids, the store's ids are 64-bit: ``index_ids`` maps them to
dense indices (kept with the model) and back. Top-K for every user is a block-wise product of
user factors with broadcast item factors and a partial sort, not ``recommendForAllUsers``. The
driver holds at most ``MAX_FACTOR_BYTES`` of item factors at once: a larger catalogue is scored
chunk by chunk and the chunks' top-K merged.
"""

from functools import reduce

import numpy as np
import pandas as pd
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from recsys.params import AlsParams


def dense_index(ids: DataFrame, id_col: str, index_col: str) -> DataFrame:
    """Distinct ids numbered 0..n-1 in id order, so the same ids always get the same index."""
    return ids.select(id_col).distinct().select(
        id_col, (F.row_number().over(Window.orderBy(id_col)) - 1).cast("int").alias(index_col)
    )


def fit(indexed: DataFrame, params: AlsParams) -> ALSModel:
    """Fit implicit ALS on (user_idx, item_idx, score).

    ``params.blocks`` user and item blocks (Spark's default is 10): with more than 2, Spark adds
    the blocks' partial sums in the order their tasks finish, so factors differ in the last bits
    from run to run; with 2 the addition is commutative and a rerun gives identical factors.
    """
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


def item_factor_matrix(model: ALSModel) -> np.ndarray:
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
    starts = np.searchsorted(rows, np.arange(n_rows))
    keep = np.arange(len(rows)) - starts[rows] < k
    return rows[keep], cols[keep], values[keep]


def top_k(user_factors: DataFrame, item_factors: np.ndarray, k: int) -> DataFrame:
    """Top-k items per user by dot product, skipping each user's ``exclude`` item indices.

    ``user_factors`` has (user_idx int, features array<float>, exclude array<int>).
    Returns (user_idx, item_idx, rank, score).
    """
    return _top_k(user_factors, user_factors.sparkSession.sparkContext.broadcast(item_factors), k)


def _top_k(user_factors: DataFrame, items, k: int, offset: int = 0) -> DataFrame:
    """``top_k`` over broadcast item factors whose row i is item index ``offset + i``."""
    n_items = items.value.shape[0]
    k = min(k, n_items)
    # Bound one block's score matrix to about 64 MB whatever the catalogue size.
    block = max(1, 16_000_000 // max(1, n_items))

    def score_partition(batches):
        factors = items.value
        for batch in batches:
            for start in range(0, len(batch), block):
                part = batch.iloc[start:start + block]
                users = np.stack(part["features"].to_numpy()).astype(np.float32)
                scores = users @ factors.T
                excluded = [np.asarray(e if e is not None else [], dtype=np.int64) - offset for e in part["exclude"]]
                excluded = [e[(e >= 0) & (e < n_items)] for e in excluded]  # this chunk's items only
                lengths = np.fromiter((len(e) for e in excluded), dtype=np.int64, count=len(excluded))
                if lengths.sum():
                    scores[np.repeat(np.arange(len(part)), lengths), np.concatenate(excluded)] = -np.inf
                rows, cols, values = top_k_rows(scores, k)
                finite = np.isfinite(values)
                rows, cols, values = rows[finite], cols[finite], values[finite]
                starts = np.searchsorted(rows, np.arange(len(part)))
                yield pd.DataFrame({
                    "user_idx": part["user_idx"].to_numpy()[rows],
                    "item_idx": (cols + offset).astype(np.int32),
                    "rank": (np.arange(len(rows)) - starts[rows] + 1).astype(np.int32),
                    "score": values.astype(np.float64),
                })

    schema = "user_idx int, item_idx int, rank int, score double"
    return user_factors.mapInPandas(score_partition, schema)


def recommend(model: ALSModel, users: DataFrame, items: DataFrame, k: int,
              exclude: DataFrame | None) -> DataFrame:
    """Top-k (user_id, product_id, rank, score) for the model's users, in store ids.

    ``users``/``items`` are the index maps; ``exclude`` holds (user_id, product_id) pairs that
    must not be recommended (already purchased, say).
    """
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


def similar_products(model: ALSModel, items: DataFrame, k: int) -> DataFrame:
    """For each product, the k products whose ALS item factors are closest by cosine
    similarity (the original notebook's substitute and supplementary products).

    Returns (product_id, similar_rank, similar_product_id, similarity).
    """
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
