"""The implicit engine: the ``implicit`` library's ALS on the Spark driver, and top-K there too.

The ratings are collected once as int/int/float Arrow columns; the fitted factors stay on the
driver, where top-K for every user and the similar products are scored in numpy
(``recsys.topk``): the same lists as Spark's way, without a Spark job per block (3.6 million rows
at 100,000 products took Spark 90 s). Its tuning trials run on the driver as well
(``recsys.driver_trials``).
"""

import os
import time
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from threadpoolctl import threadpool_limits

from recsys import lake
from recsys.als import AlsEngine, AlsModel, Trials
from recsys.collect import arrow_columns, arrow_columns_of, index_map
from recsys.driver_tables import (
    FACTOR_SCHEMA,
    LIST_SCHEMA,
    compact_list_table,
    factor_table,
    id_map_schema,
    id_map_table,
    list_table,
    ranked_frame,
    ranked_table,
    to_spark,
    with_run_date,
)
from recsys.interactions import in_training_subset
from recsys.params import AlsParams
from recsys.recommender import Fitted
from recsys.topk import popular_rows, ranks_in_rows, rows_of, top_k_for, unit_rows


class ImplicitAls(AlsEngine):
    def fit(self, indexed: DataFrame, params: AlsParams) -> "DriverAlsModel":
        """``implicit_factors`` of the ratings, collected to the driver as int/int/float Arrow columns."""
        table = (indexed.select(F.col("user_idx").cast("int"), F.col("item_idx").cast("int"),
                                F.col("score").cast("float")).toArrow())
        columns = [table.column(name).to_numpy() for name in ("user_idx", "item_idx", "score")]
        del table
        user_factors, item_factors = implicit_factors(*columns, params)
        return DriverAlsModel(indexed.sparkSession, params.rank, user_factors, item_factors)

    def refit(self, matrix: DataFrame, settings, params: AlsParams, spark_way):
        """Everyone's lists from a fit on the whole ``matrix``, as ``spark_way`` makes them, with
        the training subset, the id maps, each user's purchases and the popularity fallback
        worked out on the driver from the matrix collected once (Spark's joins, ranking windows
        and collect of the joined ratings took some two minutes of the rees46 refit, and once
        the 2g driver's whole heap). The lists stay there, an Arrow table (``DriverFitted``)."""
        from recsys.ranking import popular_products

        clock = [time.monotonic()]

        def lap() -> float:
            clock.append(time.monotonic())
            return clock[-1] - clock[-2]

        spark = matrix.sparkSession
        bought = (F.col("purchases") > 0) if settings.exclude_purchased else F.lit(False)
        (users, items, scores, purchased), (popular, popularity_rank) = arrow_columns_of(
            (matrix.select("user_id", "product_id", F.col("score").cast("float"), bought.alias("bought")),
             ("user_id", "product_id", "score", "bought")),
            (popular_products(matrix), ("product_id", "popularity_rank")))
        kept = in_training_subset(users, items, settings.min_user_products, settings.min_product_users)
        # als.dense_index: ids numbered in id order.
        user_ids, item_ids = np.unique(users[kept]), np.unique(items[kept])
        user_idx = np.searchsorted(user_ids, users[kept]).astype(np.int32)
        item_idx = np.searchsorted(item_ids, items[kept]).astype(np.int32)
        collected = lap()
        user_factors, item_factors = implicit_factors(user_idx, item_idx, scores[kept], params)
        fitted = lap()
        mine = purchased[kept]
        excluded = rows_of(user_idx[mine], item_idx[mine], len(user_ids))
        rows, cols, values = top_k_for(user_factors, item_factors, excluded, settings.top_k)
        personal = list_table(user_ids[rows], ranks_in_rows(rows, len(user_ids)), item_ids[cols], values, "als")
        ranked = lap()
        # The users ALS does not serve: recommender.popularity_lists, from the same ranking.
        popular = popular[np.argsort(popularity_rank)]
        unserved = np.setdiff1d(users, user_ids)
        theirs = purchased & np.isin(users, unserved)
        by_id = np.argsort(popular)
        rows, positions = popular_rows(len(unserved), np.searchsorted(unserved, users[theirs]),
                                       by_id[np.searchsorted(popular, items[theirs], sorter=by_id)],
                                       len(popular), settings.top_k)
        fallback = list_table(unserved[rows], ranks_in_rows(rows, len(unserved)), popular[positions],
                              1.0 / (positions + 1.0), "popular")
        print(f"refit on the driver: the matrix collected {collected:.1f} s, fit {fitted:.1f} s ({int(kept.sum()):,} "
              f"pairs), top-{settings.top_k} for {len(user_ids):,} users {ranked:.1f} s, popularity for "
              f"{len(unserved):,} {lap():.1f} s", flush=True)
        return DriverFitted(DriverAlsModel(spark, params.rank, user_factors, item_factors), user_ids, item_ids,
                            pa.concat_tables([personal, fallback]))

    def trials(self, spark_way: Trials) -> Trials:
        """Each trial a fit, a top-K for the test users and the metrics, on the driver, from the
        evaluation's data collected once."""
        from recsys.driver_trials import DriverTrials

        return DriverTrials.collect(spark_way)


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


class DriverFitted(Fitted):
    """A refit on the driver: its lists an Arrow table, its id maps arrays, all written to the lake
    from there (handing rees46's 30 million list rows to Spark to write took most of three
    minutes); ``recommendations``, ``users`` and ``items`` make them DataFrames only when asked."""

    def __init__(self, model: "DriverAlsModel", user_ids: np.ndarray, item_ids: np.ndarray, lists: pa.Table):
        self.model, self.user_ids, self.item_ids, self.lists, self.cached = model, user_ids, item_ids, lists, ()

    @cached_property
    def recommendations(self) -> DataFrame:
        return to_spark(self.model.spark, self.lists, LIST_SCHEMA).select(
            "user_id", "product_id", "rank", "score", "source")

    @cached_property
    def users(self) -> DataFrame:
        return to_spark(self.model.spark, id_map_table(self.user_ids, "user_id", "user_idx"),
                        id_map_schema("user_id", "user_idx"))

    @cached_property
    def items(self) -> DataFrame:
        return to_spark(self.model.spark, id_map_table(self.item_ids, "product_id", "item_idx"),
                        id_map_schema("product_id", "item_idx"))

    def write_lists(self, path: str, run_date) -> dict[str, int]:
        lake.write_load_table(self.model.spark, compact_list_table(self.lists, run_date), path)
        return {v["values"].as_py(): v["counts"].as_py() for v in pc.value_counts(self.lists["source"])}

    def write_model(self, path: str) -> tuple[int, int]:
        self.model.save(f"{path}/als")
        spark = self.model.spark
        lake.write_parquet_table(spark, id_map_table(self.user_ids, "user_id", "user_idx"), f"{path}/user_index")
        lake.write_parquet_table(spark, id_map_table(self.item_ids, "product_id", "item_idx"), f"{path}/item_index")
        return len(self.user_ids), len(self.item_ids)

    def write_similar(self, path: str, run_date, k: int) -> int:
        table = self.model.similar_table(self.item_ids, np.arange(len(self.item_ids)), self.item_ids, k)
        lake.write_load_table(self.model.spark, with_run_date(table, run_date), path)
        return table.num_rows


class DriverAlsModel(AlsModel):
    """Factors fitted on the driver, the fit's own arrays (row i is index i); as DataFrames in
    MLlib's layout only when asked."""

    def __init__(self, spark, rank: int, user_array: np.ndarray, item_array: np.ndarray):
        self.spark, self.rank, self.user_array, self.item_array = spark, rank, user_array, item_array

    @cached_property
    def user_factors(self) -> DataFrame:
        return to_spark(self.spark, factor_table(self.user_array), FACTOR_SCHEMA)

    @cached_property
    def item_factors(self) -> DataFrame:
        return to_spark(self.spark, factor_table(self.item_array), FACTOR_SCHEMA)

    def save(self, path: str) -> None:
        lake.write_parquet_table(self.spark, factor_table(self.user_array), f"{path}/userFactors")
        lake.write_parquet_table(self.spark, factor_table(self.item_array), f"{path}/itemFactors")

    def recommend(self, users: DataFrame, items: DataFrame, k: int, exclude: DataFrame | None) -> DataFrame:
        user_ids, user_idx, _ = index_map(users, "user_id", "user_idx", self.user_array.shape[0])
        _, _, product_of = index_map(items, "product_id", "item_idx", self.item_array.shape[0])
        excluded = [np.empty(0, np.int64)] * len(user_idx)
        if exclude is not None:
            pairs = exclude.join(users, "user_id").join(items, "product_id")
            pair_users, pair_items = arrow_columns(pairs, "user_idx", "item_idx")
            excluded = rows_of(np.searchsorted(user_idx, pair_users), pair_items, len(user_idx))
        rows, cols, values = top_k_for(self.user_array[user_idx], self.item_array, excluded, k)
        ranked = ranked_frame(self.spark, ranked_table(user_ids, rows, product_of, cols, values,
                                                       ("user_id", "rank", "product_id", "score")))
        return ranked.select("user_id", "product_id", "rank", "score")

    def similar_products(self, items: DataFrame, k: int) -> DataFrame:
        product_ids, item_idx, product_of = index_map(items, "product_id", "item_idx", self.item_array.shape[0])
        return ranked_frame(self.spark, self.similar_table(product_ids, item_idx, product_of, k))

    def similar_table(self, product_ids: np.ndarray, item_idx: np.ndarray, product_of: np.ndarray,
                      k: int) -> pa.Table:
        """``similar_products`` of the items ``item_idx`` (ids ``product_ids``; ``product_of[i]``
        is index i's id), as an Arrow table."""
        unit = unit_rows(self.item_array.astype(np.float32, copy=True))
        rows, cols, values = top_k_for(unit[item_idx], unit, [np.array([i]) for i in item_idx], k)
        return ranked_table(product_ids, rows, product_of, cols, values,
                            ("product_id", "similar_rank", "similar_product_id", "similarity"))
