"""The Spark engine: MLlib's ALS on the executors, and top-K as Spark jobs.

Top-K for every user is a block-wise product of user factors with broadcast item factors and a
partial sort (``recsys.topk``), not ``recommendForAllUsers``. The driver holds at most
``MAX_FACTOR_BYTES`` of item factors at once: a larger catalogue is scored chunk by chunk and the
chunks' top-K merged.
"""

from functools import reduce

import numpy as np
import pandas as pd
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from recsys.als import AlsEngine, AlsModel, Trials
from recsys.collect import factor_matrix
from recsys.params import AlsParams
from recsys.topk import SCORE_BLOCK_VALUES, ranks_in_rows, top_k_block, unit_rows

# Item factors collected to the driver and broadcast at once, at most (float32): 256 MB is 2.2
# million products at rank 30. Nothing else in top-K grows with the catalogue on the driver. A
# chunk's top-K is checkpointed so its broadcast can go: losing an executor then fails the job
# (the task's retry reruns it) rather than recomputing the chunk.
MAX_FACTOR_BYTES = 256 * 2**20


class SparkAls(AlsEngine):
    def fit(self, indexed: DataFrame, params: AlsParams) -> "SparkAlsModel":
        """MLlib's ALS. ``params.blocks`` user and item blocks (Spark's default is 10): with more
        than 2, Spark adds the blocks' partial sums in the order their tasks finish, so factors
        differ in the last bits from run to run; with 2 the addition is commutative and a rerun
        gives identical factors."""
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
        model = als.fit(canonical_order(indexed))
        return SparkAlsModel(model.rank, model.userFactors, model.itemFactors, model)

    def trials(self, spark_way: Trials) -> Trials:
        return spark_way


def canonical_order(indexed: DataFrame) -> DataFrame:
    """The ratings in an order fixed by their content, not by how they were read.

    ALS adds up each user's and item's normal equations in the order ratings reach it; the same
    ratings in another order give factors that differ in the last bits, and then other ties and
    other tables on a rerun.
    """
    partitions = int(indexed.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    return indexed.repartition(partitions, "user_idx").sortWithinPartitions("user_idx", "item_idx")


class SparkAlsModel(AlsModel):
    """Factors scored by Spark jobs; ``mllib`` the fitted MLlib model (None for factors from
    elsewhere, which can be scored but not saved)."""

    def __init__(self, rank: int, user_factors: DataFrame, item_factors: DataFrame, mllib: ALSModel | None = None):
        super().__init__(rank, user_factors, item_factors)
        self.mllib = mllib

    def save(self, path: str) -> None:
        self.mllib.write().save(path)

    def recommend(self, users: DataFrame, items: DataFrame, k: int, exclude: DataFrame | None) -> DataFrame:
        factors = self.user_factors.select(F.col("id").alias("user_idx"), "features")
        if exclude is not None:
            excluded = (
                exclude.join(users, "user_id").join(items, "product_id")
                .groupBy("user_idx").agg(F.collect_list("item_idx").alias("exclude"))
            )
            factors = factors.join(excluded, "user_idx", "left")
        else:
            factors = factors.withColumn("exclude", F.lit(None).cast("array<int>"))
        ranked = top_k_over_items(factors, self.item_factors, self.rank, k)
        return ranked.join(users, "user_idx").join(items, "item_idx").select(
            "user_id", "product_id", "rank", "score"
        )

    def similar_products(self, items: DataFrame, k: int) -> DataFrame:
        norm = F.sqrt(F.aggregate("features", F.lit(0.0), lambda acc, x: acc + x * x))
        queries = self.item_factors.select(
            F.col("id").alias("user_idx"),
            F.transform("features", lambda x: F.when(norm > 0, x / norm).otherwise(0.0)).alias("features"),
            F.array(F.col("id")).alias("exclude"),  # a product is not its own substitute
        )
        ranked = top_k_over_items(queries, self.item_factors, self.rank, k, unit=True)
        other = items.select(F.col("product_id").alias("similar_product_id"), F.col("item_idx").alias("other_idx"))
        return (
            ranked.join(items.withColumnRenamed("item_idx", "user_idx"), "user_idx")
            .join(other, ranked["item_idx"] == other["other_idx"])
            .select("product_id", F.col("rank").alias("similar_rank"), "similar_product_id",
                    F.col("score").alias("similarity"))
        )


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


def top_k(user_factors: DataFrame, item_factors: np.ndarray, k: int) -> DataFrame:
    """Top-k items per user by dot product, skipping each user's ``exclude`` item indices.

    ``user_factors`` has (user_idx int, features array<float>, exclude array<int>).
    Returns (user_idx, item_idx, rank, score).
    """
    return _top_k(user_factors, user_factors.sparkSession.sparkContext.broadcast(item_factors), k)


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
