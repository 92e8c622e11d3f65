"""The implicit engine: the ``implicit`` library's ALS on the Spark driver, and top-K there too.

The ratings are collected once as int/int/float Arrow columns; the fitted factors stay on the
driver, where top-K for every user and the similar products are scored in numpy
(``recsys.topk``): the same lists as Spark's way, without a Spark job per block (3.6 million rows
at 100,000 products took Spark 90 s). Its tuning trials run on the driver as well
(``recsys.driver_trials``).
"""

import os
from functools import cached_property, reduce

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from threadpoolctl import threadpool_limits

from recsys import lake
from recsys.als import AlsEngine, AlsModel, Trials
from recsys.collect import arrow_columns, arrow_columns_of, index_map
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
        spark = indexed.sparkSession
        return DriverAlsModel(params.rank, _factor_frame(spark, user_factors), _factor_frame(spark, item_factors),
                              user_factors, item_factors)

    def refit(self, matrix: DataFrame, settings, params: AlsParams, spark_way):
        """Everyone's lists from a fit on the whole ``matrix``, as ``spark_way`` makes them, with
        the training subset, the id maps, each user's purchases and the popularity fallback
        worked out on the driver from the matrix collected once (Spark's joins, ranking windows
        and collect of the joined ratings took some two minutes of the rees46 refit, and once
        the 2g driver's whole heap). The lists stay there, an Arrow table (``DriverFitted``)."""
        from recsys.ranking import popular_products

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
        user_factors, item_factors = implicit_factors(user_idx, item_idx, scores[kept], params)
        mine = purchased[kept]
        excluded = rows_of(user_idx[mine], item_idx[mine], len(user_ids))
        rows, cols, values = top_k_for(user_factors, item_factors, excluded, settings.top_k)
        personal = _list_table(user_ids[rows], ranks_in_rows(rows, len(user_ids)), item_ids[cols], values, "als")
        # The users ALS does not serve: recommender.popularity_lists, from the same ranking.
        popular = popular[np.argsort(popularity_rank)]
        unserved = np.setdiff1d(users, user_ids)
        theirs = purchased & np.isin(users, unserved)
        by_id = np.argsort(popular)
        rows, positions = popular_rows(len(unserved), np.searchsorted(unserved, users[theirs]),
                                       by_id[np.searchsorted(popular, items[theirs], sorter=by_id)],
                                       len(popular), settings.top_k)
        fallback = _list_table(unserved[rows], ranks_in_rows(rows, len(unserved)), popular[positions],
                               1.0 / (positions + 1.0), "popular")
        model = DriverAlsModel(params.rank, _factor_frame(spark, user_factors), _factor_frame(spark, item_factors),
                               user_factors, item_factors)
        return DriverFitted(model, _id_map(spark, user_ids, "user_id", "user_idx"),
                            _id_map(spark, item_ids, "product_id", "item_idx"), pa.concat_tables([personal, fallback]))

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
    """A refit on the driver, whose lists are an Arrow table there, written to the lake from it
    (handing rees46's 30 million rows to Spark to write took most of three minutes);
    ``recommendations`` makes them a DataFrame only when asked."""

    def __init__(self, model: "DriverAlsModel", users: DataFrame, items: DataFrame, lists: pa.Table):
        self.model, self.users, self.items, self.lists, self.cached = model, users, items, lists, ()

    @cached_property
    def recommendations(self) -> DataFrame:
        spark = self.users.sparkSession
        frame = _to_spark(spark, self.lists, "user_id long, rank int, product_id long, score double, source string")
        return frame.select("user_id", "product_id", "rank", "score", "source")

    def write_lists(self, path: str, run_date) -> dict[str, int]:
        dates = pa.array([run_date], pa.date32()).take(pa.array(np.zeros(self.lists.num_rows, np.int32)))
        lake.write_load_table(self.users.sparkSession, pa.table({
            "run_date": dates, "user_id": self.lists["user_id"], "rec_rank": self.lists["rank"],
            "product_id": self.lists["product_id"], "score": self.lists["score"], "source": self.lists["source"]}),
            path)
        counts = pc.value_counts(self.lists["source"])
        return {v["values"].as_py(): v["counts"].as_py() for v in counts}


def _list_table(user_ids: np.ndarray, ranks: np.ndarray, product_ids: np.ndarray, scores: np.ndarray,
                source: str) -> pa.Table:
    """(user_id, rank, product_id, score, source) rows of lists made on the driver."""
    return pa.table({"user_id": pa.array(user_ids.astype(np.int64)), "rank": pa.array(ranks.astype(np.int32)),
                     "product_id": pa.array(product_ids.astype(np.int64)),
                     "score": pa.array(scores.astype(np.float64)),
                     "source": pa.array(np.full(len(user_ids), source, dtype=object), pa.string())})


class DriverAlsModel(AlsModel):
    """Factors fitted on the driver, with the fit's own arrays (row i is index i)."""

    def __init__(self, rank: int, user_factors: DataFrame, item_factors: DataFrame,
                 user_array: np.ndarray, item_array: np.ndarray):
        super().__init__(rank, user_factors, item_factors)
        self.user_array, self.item_array = user_array, item_array

    def save(self, path: str) -> None:
        self.user_factors.write.parquet(f"{path}/userFactors")
        self.item_factors.write.parquet(f"{path}/itemFactors")

    def recommend(self, users: DataFrame, items: DataFrame, k: int, exclude: DataFrame | None) -> DataFrame:
        user_ids, user_idx, _ = index_map(users, "user_id", "user_idx", self.user_array.shape[0])
        _, _, product_of = index_map(items, "product_id", "item_idx", self.item_array.shape[0])
        excluded = [np.empty(0, np.int64)] * len(user_idx)
        if exclude is not None:
            pairs = exclude.join(users, "user_id").join(items, "product_id")
            pair_users, pair_items = arrow_columns(pairs, "user_idx", "item_idx")
            excluded = rows_of(np.searchsorted(user_idx, pair_users), pair_items, len(user_idx))
        rows, cols, values = top_k_for(self.user_array[user_idx], self.item_array, excluded, k)
        ranked = _ranked_frame(users.sparkSession, user_ids, rows, product_of, cols, values,
                               ("user_id", "rank", "product_id", "score"))
        return ranked.select("user_id", "product_id", "rank", "score")

    def similar_products(self, items: DataFrame, k: int) -> DataFrame:
        product_ids, item_idx, product_of = index_map(items, "product_id", "item_idx", self.item_array.shape[0])
        unit = unit_rows(self.item_array.astype(np.float32, copy=True))
        rows, cols, values = top_k_for(unit[item_idx], unit, [np.array([i]) for i in item_idx], k)
        return _ranked_frame(items.sparkSession, product_ids, rows, product_of, cols, values,
                             ("product_id", "similar_rank", "similar_product_id", "similarity"))


# Rows handed to Spark at a time. Spark keeps a DataFrame made from a local Arrow table in the
# driver JVM's heap for as long as the DataFrame lives: the rees46 window's 30 million list rows
# filled a 2g driver (OutOfMemoryError). Each part is written to Spark's block store on disk and
# its lineage cut (a local checkpoint) before the next is handed over.
ROWS_PER_PART = 2_000_000


def _to_spark(spark, table: pa.Table, schema: str) -> DataFrame:
    """``table`` as a DataFrame that holds none of it in the driver's heap."""
    parts = [spark.createDataFrame(table.slice(start, ROWS_PER_PART), schema)
             .localCheckpoint(eager=True, storageLevel=StorageLevel.DISK_ONLY)
             for start in range(0, max(table.num_rows, 1), ROWS_PER_PART)]
    return reduce(DataFrame.union, parts)


def _id_map(spark, ids: np.ndarray, id_col: str, index_col: str) -> DataFrame:
    """(id, index) rows of sorted ``ids``, numbered from 0: an ``als.dense_index``."""
    return _to_spark(spark, pa.table({id_col: pa.array(ids.astype(np.int64)),
                                      index_col: pa.array(np.arange(len(ids), dtype=np.int32))}),
                     f"{id_col} long, {index_col} int")


def _factor_frame(spark, factors: np.ndarray) -> DataFrame:
    """(id int, features array<float>) rows of a factor matrix, as MLlib's models hold them."""
    factors = np.ascontiguousarray(factors, dtype=np.float32)
    n, rank = factors.shape
    features = pa.ListArray.from_arrays(pa.array(np.arange(0, n * rank + 1, rank, dtype=np.int32)),
                                        pa.array(factors.reshape(-1)))
    table = pa.table({"id": pa.array(np.arange(n, dtype=np.int32)), "features": features})
    return _to_spark(spark, table, "id int, features array<float>")


def _ranked_frame(spark, ids: np.ndarray, rows: np.ndarray, other_ids: np.ndarray, cols: np.ndarray,
                  values: np.ndarray, names: tuple[str, str, str, str]) -> DataFrame:
    """(id, rank, other id, score) rows of a driver top-K, as a DataFrame."""
    table = pa.table({names[0]: pa.array(ids[rows].astype(np.int64)),
                      names[1]: pa.array(ranks_in_rows(rows, len(ids)).astype(np.int32)),
                      names[2]: pa.array(other_ids[cols].astype(np.int64)),
                      names[3]: pa.array(values.astype(np.float64))})
    frame = _to_spark(spark, table, f"{names[0]} long, {names[1]} int, {names[2]} long, {names[3]} double")
    # Spark cuts a large Arrow table into a partition per 10,000 rows: as many load files.
    return frame.coalesce(spark.sparkContext.defaultParallelism)
