"""DataFrames collected to the driver as numpy arrays, through Arrow: the driver holds about the
arrays' own size, not a Python object per value."""

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from recsys.jobs import side_by_side


def arrow_columns(df: DataFrame, *names: str) -> list[np.ndarray]:
    """The columns of a DataFrame collected to the driver as numpy arrays."""
    table = df.select(*names).toArrow()
    return [table.column(name).to_numpy() for name in names]


def arrow_columns_of(*wanted: tuple[DataFrame, tuple[str, ...]]) -> list[list[np.ndarray]]:
    """``arrow_columns`` of several DataFrames, collected side by side (``jobs.side_by_side``)."""
    return side_by_side(*[lambda frame=frame, names=names: arrow_columns(frame, *names) for frame, names in wanted])


def index_map(df: DataFrame, id_col: str, index_col: str, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An id map collected: (ids, indices) in index order, and the array whose entry i is index i's id."""
    ids, indices = arrow_columns(df, id_col, index_col)
    order = np.argsort(indices, kind="stable")
    ids, indices = ids[order], indices[order]
    id_of = np.zeros(size, dtype=np.int64)
    id_of[indices] = ids
    return ids, indices, id_of


def factor_matrix(factors: DataFrame, rank: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    """A model's (id, features) factors with ``start <= id < stop`` as a dense array whose row i
    is id ``start + i`` (zeros if unseen); all of them without ``stop``."""
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
