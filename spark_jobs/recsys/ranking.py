"""Top-K lists and how good they are: popularity lists and ranking metrics at K.

A recommendation list is a DataFrame (user_id, product_id, rank) with rank 1..K; relevant
items are a DataFrame (user_id, product_id). Metrics are averaged over the users that have at
least one relevant item; a user without a list scores zero.
"""

import math

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from recsys.exact import exact_avg, exact_sum


def popular_products(matrix: DataFrame) -> DataFrame:
    """Products ranked by recent (decayed) purchases, then carts, then views."""
    return matrix.groupBy("product_id").agg(
        exact_sum("purchases_decayed").alias("purchases"),
        exact_sum("carts_decayed").alias("carts"),
        exact_sum("views_decayed").alias("views"),
    ).select(
        "product_id",
        F.row_number()
        .over(Window.orderBy(F.desc("purchases"), F.desc("carts"), F.desc("views"), "product_id"))
        .alias("popularity_rank"),
    )


# The default lists' category_id for the best sellers of every category (ids start at 1).
EVERY_CATEGORY = 0


def best_sellers(matrix: DataFrame, product_category: DataFrame, k: int) -> DataFrame:
    """The default lists, for visitors and products the model has not seen: the ``k`` most popular
    products of the matrix overall (``category_id`` 0, source ``best_sellers``) and within each
    category of ``product_category`` (product_id, category_id; source ``category_best_sellers``),
    as (category_id, product_id, rank, score, source), ranked as ``popular_products`` ranks them,
    the score 1 / rank."""
    popular = popular_products(matrix)
    overall = popular.where(F.col("popularity_rank") <= k).select(
        F.lit(EVERY_CATEGORY).cast("bigint").alias("category_id"), "product_id",
        F.col("popularity_rank").alias("rank"), F.lit("best_sellers").alias("source"))
    in_category = popular.join(product_category, "product_id").withColumn(
        "rank", F.row_number().over(Window.partitionBy("category_id").orderBy("popularity_rank"))
    ).where(F.col("rank") <= k).select("category_id", "product_id", "rank",
                                       F.lit("category_best_sellers").alias("source"))
    return overall.unionByName(in_category).withColumn("score", 1.0 / F.col("rank"))


def candidate_ranks(users: DataFrame, k: int, exclude: DataFrame | None) -> DataFrame:
    """(user_id, candidate_rank) for ranks 1 .. k + the number of products excluded for that
    user: how far down a ranking each user's list may have to look to keep k items. The work
    per user grows with their own exclusions only, never with the longest list of anyone's."""
    wanted = users.select("user_id").distinct()
    excluded = F.lit(0)
    if exclude is not None:
        counts = exclude.groupBy("user_id").agg(F.count(F.lit(1)).alias("_excluded"))
        wanted, excluded = wanted.join(counts, "user_id", "left"), F.coalesce(F.col("_excluded"), F.lit(0))
    return wanted.select("user_id", F.explode(F.sequence(F.lit(1), F.lit(k) + excluded)).alias("candidate_rank"))


def recommend_popular(users: DataFrame, popular: DataFrame, k: int, exclude: DataFrame | None) -> DataFrame:
    """The k most popular products for each user, skipping that user's excluded products
    (every user gets k items whenever the catalogue allows)."""
    candidates = candidate_ranks(users, k, exclude).join(
        popular, F.col("candidate_rank") == F.col("popularity_rank")).select("user_id", "product_id", "popularity_rank")
    if exclude is not None:
        candidates = candidates.join(exclude, ["user_id", "product_id"], "left_anti")
    ranked = candidates.withColumn(
        "rank", F.row_number().over(Window.partitionBy("user_id").orderBy("popularity_rank"))
    ).where(F.col("rank") <= k)
    # A score that orders like the popularity rank, so both list kinds share one schema.
    return ranked.select(
        "user_id", "product_id", "rank", (1.0 / F.col("popularity_rank")).alias("score")
    )


def recommend_category_popular(users: DataFrame, matrix: DataFrame, product_category: DataFrame,
                               popular: DataFrame, k: int, exclude: DataFrame | None) -> DataFrame:
    """Baseline: the most popular products of each user's favourite category (the category
    of the products they scored highest in total), topped up from global popularity.

    ``product_category`` is (product_id, category_code); ``popular`` is ``popular_products(matrix)``.
    """
    # Only the listed users' favourites: the evaluation's 123,140 test users' pairs of the rees46
    # training days' 22 million (all of them took 86 s, most of the evaluation's Spark time).
    scored = matrix.join(users, "user_id", "left_semi").join(product_category, "product_id")
    favourite = scored.groupBy("user_id", "category_code").agg(exact_sum("score").alias("affinity")).withColumn(
        "_n", F.row_number().over(Window.partitionBy("user_id").orderBy(F.desc("affinity"), "category_code"))
    ).where("_n = 1").select("user_id", "category_code")
    in_category = popular.join(product_category, "product_id").withColumn(
        "category_rank",
        F.row_number().over(Window.partitionBy("category_code").orderBy("popularity_rank")),
    )
    ranks = candidate_ranks(users, k, exclude)
    from_category = ranks.join(favourite, "user_id").join(
        in_category, ["category_code"]).where(F.col("category_rank") == F.col("candidate_rank")).select(
        "user_id", "product_id", F.col("category_rank").cast("double").alias("order"))
    # Users whose category is short of k products, or who have none, get global best sellers.
    from_global = ranks.join(popular, F.col("candidate_rank") == F.col("popularity_rank")).select(
        "user_id", "product_id", (F.col("popularity_rank") + 1e9).alias("order")
    )
    candidates = from_category.unionByName(from_global).groupBy("user_id", "product_id").agg(
        F.min("order").alias("order")
    )
    if exclude is not None:
        candidates = candidates.join(exclude, ["user_id", "product_id"], "left_anti")
    ranked = candidates.withColumn(
        "rank", F.row_number().over(Window.partitionBy("user_id").orderBy("order", "product_id"))
    ).where(F.col("rank") <= k)
    return ranked.select("user_id", "product_id", "rank", (1.0 / F.col("rank")).alias("score"))


def ranking_metrics(recs: DataFrame, relevant: DataFrame, k: int, catalogue_size: int) -> dict:
    """precision, recall, ndcg, map and hit_rate at k, plus catalogue coverage and user count."""
    relevant = relevant.select("user_id", "product_id").distinct()
    recs = recs.where(F.col("rank") <= k).select("user_id", "product_id", "rank")
    n_relevant = relevant.groupBy("user_id").agg(F.count(F.lit(1)).alias("n_rel"))
    hits = recs.join(relevant, ["user_id", "product_id"]).withColumn(
        "hits_so_far",
        F.count(F.lit(1)).over(
            Window.partitionBy("user_id").orderBy("rank").rowsBetween(Window.unboundedPreceding, 0)
        ),
    )
    per_user_hits = hits.groupBy("user_id").agg(
        F.count(F.lit(1)).alias("hits"),
        exact_sum(1.0 / F.log2(F.col("rank") + 1.0)).alias("dcg"),
        exact_sum(F.col("hits_so_far") / F.col("rank")).alias("precision_sum"),
    )
    ideal = F.array(*[F.lit(1.0 / math.log2(i + 2)) for i in range(k)])
    idcg = F.aggregate(
        F.slice(ideal, 1, F.least(F.col("n_rel"), F.lit(k)).cast("int")), F.lit(0.0), lambda a, x: a + x
    )
    per_user = n_relevant.join(per_user_hits, "user_id", "left").fillna(0).select(
        (F.col("hits") / k).alias("precision"),
        (F.col("hits") / F.col("n_rel")).alias("recall"),
        (F.col("dcg") / idcg).alias("ndcg"),
        (F.col("precision_sum") / F.least(F.col("n_rel"), F.lit(k))).alias("ap"),
        (F.col("hits") > 0).cast("double").alias("hit"),
    )
    row = per_user.agg(
        F.count(F.lit(1)).alias("users"),
        exact_avg("precision").alias("precision"),
        exact_avg("recall").alias("recall"),
        exact_avg("ndcg").alias("ndcg"),
        exact_avg("ap").alias("map"),
        exact_avg("hit").alias("hit_rate"),
    ).first()
    recommended = recs.select("product_id").distinct().count()
    return {
        "users": int(row["users"]),
        "precision": float(row["precision"] or 0.0),
        "recall": float(row["recall"] or 0.0),
        "ndcg": float(row["ndcg"] or 0.0),
        "map": float(row["map"] or 0.0),
        "hit_rate": float(row["hit_rate"] or 0.0),
        "coverage": recommended / catalogue_size if catalogue_size else 0.0,
    }
