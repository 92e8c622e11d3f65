"""Implicit-feedback ALS: the engine interface, and what both engines share.

Two engines fit the same model (confidence 1 + alpha x score, preference 1 for every pair seen):
Spark MLlib's ALS on the executors (``recsys.als_spark``), or the ``implicit`` library on the
driver (``recsys.als_implicit``), which trains several times faster (no per-iteration jobs and
shuffles) while the matrix fits the driver's memory. They differ in regularisation: MLlib scales
regParam by each user's and item's number of ratings, implicit does not, so the same regParam is
a different model; the tuning and the quality gate judge each by NDCG@K all the same.

An engine fits an ``AlsModel``, which gives everyone's top-K, each product's most similar products
and saves itself; it also says how the tuning scores a trial (``AlsEngine.trials``). Spark's ALS
wants 32-bit integer ids, the store's ids are 64-bit: ``dense_index`` maps them to dense indices
(kept with the model) and back.
"""

from abc import ABC, abstractmethod
from typing import Protocol

import numpy as np
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from recsys import driver_memory
from recsys.collect import factor_matrix
from recsys.params import AlsParams

ENGINES = ("spark", "implicit")


def choose_engine(wanted: str, pairs: int, users: int, products: int, rank: int, top_k: int,
                  driver_heap: str, machine: int | None = None) -> tuple[str, str]:
    """The engine that fits, and why: ``wanted`` unless it is ``auto``, which picks implicit while
    what it needs on the driver (``driver_memory.driver_engine_need``) is within what a driver
    whose JVM has ``driver_heap`` may give it on a machine of ``machine`` bytes (default: this
    one's, ``driver_memory.machine_memory``); Spark's ALS, which spreads the work, above."""
    if wanted in ENGINES:
        return wanted, f"Param als_engine {wanted}"
    need = driver_memory.driver_engine_need(pairs, users, products, rank, top_k)
    budget = driver_memory.driver_budget(machine or driver_memory.machine_memory(),
                                         driver_memory.memory_bytes(driver_heap))
    return ("implicit" if need <= budget else "spark"), f"auto: {driver_memory.describe(need, budget)}"


def matrix_sizes(matrix: DataFrame, user_col: str = "user_id", item_col: str = "product_id") -> tuple[int, int, int]:
    """(pairs, distinct users, distinct products) of an interaction matrix, in one Spark job."""
    row = matrix.agg(F.count(F.lit(1)), F.countDistinct(user_col), F.countDistinct(item_col)).first()
    return row[0], row[1], row[2]


def dense_index(ids: DataFrame, id_col: str, index_col: str) -> DataFrame:
    """Distinct ids numbered 0..n-1 in id order, so the same ids always get the same index."""
    return ids.select(id_col).distinct().select(
        id_col, (F.row_number().over(Window.orderBy(id_col)) - 1).cast("int").alias(index_col)
    )


class AlsModel(ABC):
    """A fitted model: its rank and factors as MLlib lays them out, (id int, features
    array<float>) with id the dense index."""

    def __init__(self, rank: int, user_factors: DataFrame, item_factors: DataFrame):
        self.rank, self.user_factors, self.item_factors = rank, user_factors, item_factors

    def item_matrix(self) -> np.ndarray:
        """Item factors as an array whose row i is item_idx i."""
        return factor_matrix(self.item_factors, self.rank)

    @abstractmethod
    def recommend(self, users: DataFrame, items: DataFrame, k: int, exclude: DataFrame | None) -> DataFrame:
        """Top-k (user_id, product_id, rank, score) for ``users``, in store ids, by dot product.

        ``users``/``items`` are the index maps (user_id, user_idx) and (product_id, item_idx);
        ``exclude`` holds (user_id, product_id) pairs that must not be recommended (already
        purchased, say)."""

    @abstractmethod
    def similar_products(self, items: DataFrame, k: int) -> DataFrame:
        """For each product, the k products whose item factors are closest by cosine similarity
        (the original notebook's substitute and supplementary products), never itself:
        (product_id, similar_rank, similar_product_id, similarity)."""

    @abstractmethod
    def save(self, path: str) -> None:
        """The model under ``path``, its factors in MLlib's userFactors/itemFactors layout."""


class Trials(Protocol):
    """How the tuning scores a point of the grid on the evaluation's data (``recommender.evaluate``)."""

    def score(self, params: AlsParams) -> dict:
        """``ranking.ranking_metrics`` of the test users' lists from a model fitted with ``params``."""

    def baseline_metrics(self) -> dict[str, dict]:
        """The same metrics of each baseline's lists, by name."""


class AlsEngine(ABC):

    @abstractmethod
    def fit(self, indexed: DataFrame, params: AlsParams) -> AlsModel:
        """Implicit ALS on (user_idx, item_idx, score)."""

    def refit(self, matrix: DataFrame, settings, params: AlsParams, spark_way):
        """Everyone's top-K from a fit on the whole ``matrix`` (a ``recommender.Fitted``), as
        ``spark_way()`` makes it (``recommender.fit_and_recommend``), which an engine may do otherwise."""
        return spark_way()

    @abstractmethod
    def trials(self, spark_way: Trials) -> Trials:
        """How this engine's tuning scores its trials, given the way that fits and scores each one
        with Spark jobs (``recommender.SparkWayTrials``, which holds the evaluation's data)."""


def engine(name: str, matrix: DataFrame, rank: int, top_k: int, user_col: str = "user_id",
           item_col: str = "product_id") -> AlsEngine:
    """The engine called ``name``; for ``auto``, ``choose_engine`` on ``matrix``'s sizes (counted
    only then; train_als chooses once on the window, the largest matrix it fits)."""
    from recsys.als_implicit import ImplicitAls
    from recsys.als_spark import SparkAls

    if name not in ENGINES:
        heap = matrix.sparkSession.conf.get("spark.driver.memory", "1g")
        name, _ = choose_engine(name, *matrix_sizes(matrix, user_col, item_col), rank, top_k, heap)
    return ImplicitAls() if name == "implicit" else SparkAls()


def fit(indexed: DataFrame, params: AlsParams, engine_name: str = "spark", top_k: int = 10) -> AlsModel:
    """Fit implicit ALS on (user_idx, item_idx, score) with the engine called ``engine_name``
    (``auto``: chosen for lists of ``top_k``)."""
    return engine(engine_name, indexed, params.rank, top_k, "user_idx", "item_idx").fit(indexed, params)
