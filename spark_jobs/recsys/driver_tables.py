"""Arrow tables of what the implicit engine works out on the driver, and the same as DataFrames.

The driver's lists, factors and id maps are written to the lake from these tables
(``lake.write_load_table``, ``lake.write_parquet_table``); a DataFrame of one is made only when
something asks for it (``to_spark``), since handing millions of rows to Spark costs minutes.
"""

from functools import reduce

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark import StorageLevel
from pyspark.sql import DataFrame

from recsys.topk import ranks_in_rows

# Rows handed to Spark at a time. Spark keeps a DataFrame made from a local Arrow table in the
# driver JVM's heap for as long as the DataFrame lives: the rees46 window's 30 million list rows
# filled a 2g driver (OutOfMemoryError). Each part is written to Spark's block store on disk and
# its lineage cut (a local checkpoint) before the next is handed over.
ROWS_PER_PART = 2_000_000


def to_spark(spark, table: pa.Table, schema: str) -> DataFrame:
    """``table`` as a DataFrame that holds none of it in the driver's heap."""
    parts = [spark.createDataFrame(table.slice(start, ROWS_PER_PART), schema)
             .localCheckpoint(eager=True, storageLevel=StorageLevel.DISK_ONLY)
             for start in range(0, max(table.num_rows, 1), ROWS_PER_PART)]
    return reduce(DataFrame.union, parts)


def id_map_table(ids: np.ndarray, id_col: str, index_col: str) -> pa.Table:
    """(id, index) rows of sorted ``ids``, numbered from 0: an ``als.dense_index``."""
    return pa.table({id_col: pa.array(ids.astype(np.int64)),
                     index_col: pa.array(np.arange(len(ids), dtype=np.int32))})


def id_map_schema(id_col: str, index_col: str) -> str:
    return f"{id_col} long, {index_col} int"


def factor_table(factors: np.ndarray) -> pa.Table:
    """(id int, features array<float>) rows of a factor matrix, as MLlib's models hold them."""
    factors = np.ascontiguousarray(factors, dtype=np.float32)
    n, rank = factors.shape
    features = pa.ListArray.from_arrays(pa.array(np.arange(0, n * rank + 1, rank, dtype=np.int32)),
                                        pa.array(factors.reshape(-1)))
    return pa.table({"id": pa.array(np.arange(n, dtype=np.int32)), "features": features})


FACTOR_SCHEMA = "id int, features array<float>"


def ranked_table(ids: np.ndarray, rows: np.ndarray, other_ids: np.ndarray, cols: np.ndarray,
                 values: np.ndarray, names: tuple[str, str, str, str]) -> pa.Table:
    """(id, rank, other id, score) rows of a driver top-K."""
    return pa.table({names[0]: pa.array(ids[rows].astype(np.int64)),
                     names[1]: pa.array(ranks_in_rows(rows, len(ids)).astype(np.int32)),
                     names[2]: pa.array(other_ids[cols].astype(np.int64)),
                     names[3]: pa.array(values.astype(np.float64))})


def ranked_frame(spark, table: pa.Table) -> DataFrame:
    """A ``ranked_table`` as a DataFrame, in as many partitions as Spark has cores."""
    names = table.column_names
    frame = to_spark(spark, table, f"{names[0]} long, {names[1]} int, {names[2]} long, {names[3]} double")
    # Spark cuts a large Arrow table into a partition per 10,000 rows: as many load files.
    return frame.coalesce(spark.sparkContext.defaultParallelism)


def list_table(user_ids: np.ndarray, ranks: np.ndarray, product_ids: np.ndarray, scores: np.ndarray,
               source: str) -> pa.Table:
    """(user_id, rank, product_id, score, source) rows of lists made on the driver."""
    return pa.table({"user_id": pa.array(user_ids.astype(np.int64)), "rank": pa.array(ranks.astype(np.int32)),
                     "product_id": pa.array(product_ids.astype(np.int64)),
                     "score": pa.array(scores.astype(np.float64)),
                     "source": pa.array(np.full(len(user_ids), source, dtype=object), pa.string())})


LIST_SCHEMA = "user_id long, rank int, product_id long, score double, source string"


def with_run_date(table: pa.Table, run_date) -> pa.Table:
    """``table`` with a first column ``run_date``, the same date on every row."""
    dates = pa.array([run_date], pa.date32()).take(pa.array(np.zeros(table.num_rows, np.int32)))
    return pa.table({"run_date": dates, **{name: table[name] for name in table.column_names}})


def compact_list_table(lists: pa.Table, run_date) -> pa.Table:
    """``recommender.compact_lists`` of a ``list_table``: (run_date, user_id, product_ids, scores,
    source), a row per user, the list's product ids and scores (float32) as JSON arrays in rank order."""
    ordered = lists.sort_by([("user_id", "ascending"), ("rank", "ascending")])
    users = ordered["user_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]]) if len(users) else np.empty(0, np.int64)
    offsets = pa.array(np.r_[starts, len(users)].astype(np.int64))
    text = pa.large_string()

    def json_array(values: pa.ChunkedArray) -> pa.Array:  # pyarrow's numbers as text read back exactly
        entries = pa.LargeListArray.from_arrays(offsets, pc.cast(values, text).combine_chunks())
        joined = pc.binary_join(entries, pa.scalar(",", text))
        return pc.binary_join_element_wise(pa.scalar("[", text), joined, pa.scalar("]", text), pa.scalar("", text))

    table = pa.table({"user_id": pa.array(users[starts]), "product_ids": json_array(ordered["product_id"]),
                      "scores": json_array(pc.cast(ordered["score"], pa.float32())),  # as compact_lists
                      "source": ordered["source"].take(pa.array(starts))})
    return with_run_date(table, run_date)
