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

from recsys.collect import factor_matrix
from recsys.params import AlsParams

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

    @abstractmethod
    def trials(self, spark_way: Trials) -> Trials:
        """How this engine's tuning scores its trials, given the way that fits and scores each one
        with Spark jobs (``recommender.SparkWayTrials``, which holds the evaluation's data)."""


def engine(name: str, non_zeros=None) -> AlsEngine:
    """The engine called ``name``; for ``auto``, ``resolve_engine`` on ``non_zeros()`` (counted
    only then)."""
    from recsys.als_implicit import ImplicitAls
    from recsys.als_spark import SparkAls

    if name not in ENGINES:
        name = resolve_engine(name, non_zeros())
    return ImplicitAls() if name == "implicit" else SparkAls()


def fit(indexed: DataFrame, params: AlsParams, engine_name: str = "spark") -> AlsModel:
    """Fit implicit ALS on (user_idx, item_idx, score) with the engine called ``engine_name``."""
    return engine(engine_name, indexed.count).fit(indexed, params)
