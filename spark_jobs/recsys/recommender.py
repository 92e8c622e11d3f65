"""From an interaction matrix to everyone's top-K, and how well that does on a later period.

Users and products with too little history are kept out of ALS training and get the
popularity fallback, marked ``source = 'popular'``; ALS lists are ``source = 'als'``.
"""

from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from recsys import als, lake
from recsys.interactions import split_date, training_subset
from recsys.jobs import side_by_side
from recsys.params import AlsParams, Settings
from recsys.ranking import (
    best_sellers,
    popular_products,
    ranking_metrics,
    recommend_category_popular,
    recommend_popular,
)
from recsys.tuning import passes, tune


@dataclass
class Fitted:
    model: als.AlsModel
    users: DataFrame  # (user_id, user_idx)
    items: DataFrame  # (product_id, item_idx)
    recommendations: DataFrame  # (user_id, product_id, rank, score, source)
    cached: tuple[DataFrame, ...] = ()  # what the fit cached, for ``release``

    def release(self) -> None:
        """Drop the fit's caches (a tuning trial's would otherwise fill the driver trial by trial)."""
        for frame in self.cached:
            frame.unpersist()

    def write_lists(self, path: str, run_date: date) -> dict[str, int]:
        """Write everyone's lists as the run date's load files at ``path`` (``compact_lists``); the
        entries by source."""
        recs = self.recommendations.cache()
        lake.write_load_files(compact_lists(recs, run_date), path)
        by_source = {r.source: r["count"] for r in recs.groupBy("source").count().collect()}
        recs.unpersist()
        return by_source

    def write_model(self, path: str) -> tuple[int, int]:
        """Save the model and its id maps under ``path``: (users, products) in the model."""
        self.model.save(f"{path}/als")
        self.users.write.parquet(f"{path}/user_index")
        self.items.write.parquet(f"{path}/item_index")
        return self.users.count(), self.items.count()

    def write_similar(self, path: str, run_date: date, k: int) -> int:
        """Write every product's ``k`` most similar as the run date's load files at ``path``; the rows."""
        rows = self.model.similar_products(self.items, k).select(F.lit(run_date).alias("run_date"), "*").cache()
        lake.write_load_files(rows, path)
        count = rows.count()
        rows.unpersist()
        return count


def compact_lists(recs: DataFrame, run_date: date, key: str = "user_id") -> DataFrame:
    """(run_date, key, product_ids, scores, source): a row per ``key`` (user, or the default
    lists' category) of ``recs``, the list's product ids and scores as JSON arrays in rank order,
    as MySQL's current lists hold them. The scores are written as the float32 numbers ALS computes
    (a double's 17 digits were half the load files' bytes)."""
    entries = F.array_sort(F.collect_list(F.struct("rank", "product_id", "score")))  # by rank
    return (recs.groupBy(key).agg(entries.alias("entries"), F.min("source").alias("source"))
            .select(F.lit(run_date).alias("run_date"), key, F.to_json("entries.product_id").alias("product_ids"),
                    F.to_json(F.col("entries.score").cast("array<float>")).alias("scores"), "source"))


def write_default_lists(matrix: DataFrame, events: DataFrame, path: str, run_date: date, k: int) -> int:
    """Write the window's best sellers, overall and per category (``ranking.best_sellers``; a
    product's category is the one its latest event names), as the run date's load files at
    ``path``; the lists written."""
    product_category = events.groupBy("product_id").agg(F.max_by("category_id", "event_time").alias("category_id"))
    lists = compact_lists(best_sellers(matrix, product_category, k), run_date, key="category_id").cache()
    lake.write_load_files(lists, path)
    count = lists.count()
    lists.unpersist()
    return count


def excluded_pairs(matrix: DataFrame, settings: Settings) -> DataFrame | None:
    """The (user_id, product_id) pairs no list may hold: what each user bought, when
    ``exclude_purchased``; None otherwise."""
    if not settings.exclude_purchased:
        return None
    return matrix.where(F.col("purchases") > 0).select("user_id", "product_id")


def popularity_lists(matrix: DataFrame, users: DataFrame, settings: Settings) -> DataFrame:
    """The top-K of the matrix's most popular products for each of ``users``, without what each
    bought when ``exclude_purchased``: the fallback of users ALS does not serve, and a baseline."""
    return recommend_popular(users, popular_products(matrix), settings.top_k, excluded_pairs(matrix, settings))


def fit_and_recommend(matrix: DataFrame, settings: Settings, als_params: AlsParams,
                      for_users: DataFrame | None = None) -> Fitted:
    """Fit ALS with ``als_params`` on the eligible part of ``matrix``; top-K for every user of
    ``for_users`` (default: every user of the matrix), ALS where possible, popularity otherwise."""
    train = training_subset(matrix, settings.min_user_products, settings.min_product_users).cache()
    users = als.dense_index(train, "user_id", "user_idx").cache()
    items = als.dense_index(train, "product_id", "item_idx").cache()
    indexed = train.join(users, "user_id").join(items, "product_id").select(
        "user_idx", "item_idx", "score"
    )
    model = als.fit(indexed, als_params, settings.als_engine, settings.top_k)
    exclude = excluded_pairs(matrix, settings)
    wanted = (for_users if for_users is not None else matrix).select("user_id").distinct()
    personal_users = users.join(wanted, "user_id")
    personal = model.recommend(personal_users, items, settings.top_k, exclude)
    fallback = popularity_lists(matrix, wanted.join(users, "user_id", "left_anti"), settings)
    recommendations = personal.withColumn("source", F.lit("als")).unionByName(
        fallback.withColumn("source", F.lit("popular"))
    )
    return Fitted(model, users, items, recommendations, (train, users, items))


def refit(matrix: DataFrame, settings: Settings, als_params: AlsParams) -> Fitted:
    """``fit_and_recommend`` for every user of ``matrix``, the way its engine does it best
    (``als.AlsEngine.refit``)."""
    engine = als.engine(settings.als_engine, matrix, als_params.rank, settings.top_k)
    return engine.refit(matrix, settings, als_params, lambda: fit_and_recommend(matrix, settings, als_params))


@dataclass
class SparkWayTrials:
    """The evaluation's data, and the way to score a trial with Spark jobs: ``fit_and_recommend``
    for the test users, then ``ranking_metrics`` (an engine may score its trials otherwise:
    ``als.AlsEngine.trials``)."""
    train: DataFrame  # the interaction matrix of the training days
    relevant: DataFrame  # (user_id, product_id): what each test user carted or bought in the test days
    test_users: DataFrame  # (user_id)
    baselines: dict[str, DataFrame]  # every test user's (user_id, product_id, rank) lists, by name
    excluded: DataFrame | None  # ``excluded_pairs`` of the training days
    settings: Settings
    catalogue: int  # products in the training days

    def score(self, params: AlsParams) -> dict:
        fitted = fit_and_recommend(self.train, self.settings, params, for_users=self.test_users)
        metrics = ranking_metrics(fitted.recommendations, self.relevant, self.settings.top_k, self.catalogue)
        fitted.release()
        return metrics

    def baseline_metrics(self) -> dict[str, dict]:
        return {name: ranking_metrics(lists, self.relevant, self.settings.top_k, self.catalogue)
                for name, lists in self.baselines.items()}


def evaluate(events: DataFrame, train: DataFrame, end: date, settings: Settings,
             candidates: list[AlsParams] | None = None, kept: bool = False) -> dict:
    """Train on the events before the last ``eval_days`` days up to ``end``, test on those days.

    ``train`` is the interaction matrix of the training days (``interactions.training_days``);
    ``events`` are the window's. Relevant items are the products a user carted or purchased in
    the test days; only users with history in the training part are scored. ALS parameters are
    tuned over the settings' grid by NDCG@K within the tuning budget. Returns the chosen
    parameters, every trial, metrics for the chosen ALS (with its fallback) and for two baselines,
    global popularity and popularity within the user's favourite category, or ``status`` saying
    why there was nothing to test. ``candidates`` (default: the whole grid) are the points tuned,
    in order; when ``kept``, the rest only if the first fails the quality gate.
    """
    split = split_date(end, settings.eval_days)
    train_events = events.where(F.col("event_date") < F.lit(split))
    test_events = events.where(F.col("event_date").between(F.lit(split), F.lit(end)))
    train = train.cache()
    if train.isEmpty():
        train.unpersist()
        return {"status": f"skipped: no training events before {split}", "split_date": split}
    relevant = (
        test_events.where(F.col("event_type").isin("cart", "purchase"))
        .select("user_id", "product_id").distinct()
        .join(train.select("user_id").distinct(), "user_id")
        .cache()
    )
    nothing_relevant, catalogue = side_by_side(relevant.isEmpty, train.select("product_id").distinct().count)
    if nothing_relevant:
        for frame in (train, relevant):  # the refit that follows needs the driver's heap
            frame.unpersist()
        return {"status": f"skipped: no carts or purchases from known users from {split}",
                "split_date": split}
    test_users = relevant.select("user_id").distinct().cache()
    product_category = train_events.groupBy("product_id").agg(
        F.max_by("category_code", "event_time").alias("category_code")
    )
    excluded = excluded_pairs(train, settings)
    popular = popular_products(train).cache()  # both baselines rank by it
    baselines = {
        "popularity": recommend_popular(test_users, popular, settings.top_k, excluded),
        "category_popularity": recommend_category_popular(test_users, train, product_category, popular,
                                                          settings.top_k, excluded),
    }
    spark_way = SparkWayTrials(train, relevant, test_users, baselines, excluded, settings, catalogue)
    candidates = candidates or settings.als_candidates()
    engine = als.engine(settings.als_engine, train, max(c.rank for c in candidates), settings.top_k)
    engine_trials = engine.trials(spark_way)
    scored = engine_trials.baseline_metrics()
    popularity = scored["popularity"]["ndcg"]
    chosen, als_metrics, trials = tune(
        candidates, engine_trials.score, settings.tuning_budget_seconds,
        enough=(lambda metrics: passes(metrics["ndcg"], popularity, settings.quality_margin)) if kept else None)
    del engine_trials  # the driver's copy of the evaluation's data, if any, is not needed any more
    train_pairs, test_user_count = side_by_side(train.count, test_users.count)
    evaluation = {
        "status": "evaluated",
        "split_date": split,
        "train_pairs": train_pairs,
        "test_users": test_user_count,
        "chosen": chosen.as_dict(),
        "tuning": trials,
        "als": als_metrics,
        **scored,
    }
    for frame in (train, relevant, test_users, popular):  # the refit that follows needs the memory
        frame.unpersist()
    return evaluation
