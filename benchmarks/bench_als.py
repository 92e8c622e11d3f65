"""Benchmark: Spark ALS and our top-K against the `implicit` library, on the same matrix.

    python -m benchmarks.bench_als [--users 50000 --products 10000 --events 3000000 --days 30]

Generated events (known tastes) are cleaned by the pipeline's own cleaning, all days but the
last become the interaction matrix (the pipeline's scoring, thresholds and id maps), and the last
day's carts and purchases are what a good list should contain. On that one matrix, in one run:

- Spark ALS in the configurations worth knowing (Spark's defaults, then tuned block counts and
  solver), and `implicit`'s CPU ALS, with the same rank, iterations, regParam and alpha; seconds
  and the time ratio against `implicit`;
- top-10 for every user: Spark's `recommendForAllUsers`, our block-wise top-K, and `implicit`'s
  `recommend` for all users; seconds and the ratio of ours against `implicit`'s;
- NDCG@10 (and the other metrics) of each model's lists on the last day, through the pipeline's
  own ranking code, beside the global popularity baseline.

Spark's confidence is 1 + alpha * score and its regularisation is scaled by each user's and
item's count of ratings; `implicit` uses alpha * score and a plain regularisation. The same
numbers therefore do not give the same objective, which is why NDCG is printed for both.
"""

import argparse
import os
import sys
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

# One BLAS thread per Spark task: Spark already runs one task per core (Spark's tuning guide).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from benchmarks.measure import timed  # noqa: E402
from recsys import als  # noqa: E402
from recsys.als_spark import canonical_order, top_k  # noqa: E402
from recsys.cleaning import clean_raw_lines  # noqa: E402
from recsys.collect import factor_matrix  # noqa: E402
from recsys.interactions import interaction_matrix, newest_event_time, training_subset  # noqa: E402
from recsys.params import AlsParams, Settings  # noqa: E402
from recsys.parsing import read_raw_lines  # noqa: E402
from recsys.ranking import popular_products, ranking_metrics, recommend_popular  # noqa: E402
from recsys.session import get_spark  # noqa: E402
from recsys_pipeline.config import LOCAL_DIR  # noqa: E402
from recsys_tools.generate_events import generate  # noqa: E402

START = date(2019, 10, 1)
K = 10


def split_matrix(spark, raw: Path, days: int):
    """The pipeline's interaction matrix of all days but the last, and the last day's relevant items."""
    files = sorted(str(p) for p in raw.glob("*/events.csv"))
    events = clean_raw_lines(read_raw_lines(spark, files), START).clean
    last = START + timedelta(days=days - 1)
    train_events = events.where(F.col("event_date") < F.lit(last))
    matrix = interaction_matrix(train_events, Settings(), newest_event_time(train_events)).cache()
    relevant = (events.where((F.col("event_date") == F.lit(last)) & F.col("event_type").isin("cart", "purchase"))
                .select("user_id", "product_id").distinct()
                .join(matrix.select("user_id").distinct(), "user_id").cache())
    train = training_subset(matrix, 2, 2)
    users = als.dense_index(train, "user_id", "user_idx").cache()
    items = als.dense_index(train, "product_id", "item_idx").cache()
    ratings = train.join(users, "user_id").join(items, "product_id").select("user_idx", "item_idx", "score")
    ratings = canonical_order(ratings).cache()
    return matrix, relevant, users, items, ratings


def factor_lists(spark, user_factors: np.ndarray, item_factors: np.ndarray, users, items, wanted, exclude):
    """Top-K lists of ``wanted`` users from any model's factors, by the pipeline's own top-K."""
    wanted_idx = wanted.join(users, "user_id").select("user_id", "user_idx").toPandas()
    excluded = (exclude.join(users, "user_id").join(items, "product_id")
                .groupBy("user_idx").agg(F.collect_list("item_idx").alias("exclude")).toPandas())
    frame = wanted_idx.merge(excluded, on="user_idx", how="left")
    frame["features"] = [user_factors[i].astype(np.float32).tolist() for i in frame["user_idx"]]
    frame["exclude"] = [list(map(int, e)) if isinstance(e, list | np.ndarray) else [] for e in frame["exclude"]]
    df = spark.createDataFrame(frame[["user_idx", "features", "exclude"]],
                               "user_idx int, features array<float>, exclude array<int>")
    return top_k(df, item_factors.astype(np.float32), K).join(users, "user_idx").join(items, "item_idx") \
        .select("user_id", "product_id", "rank", "score")


def metrics_of(recs, relevant, matrix, exclude, catalogue):
    """Metrics of a model's lists, with the popularity fallback for users ALS does not know."""
    wanted = relevant.select("user_id").distinct()
    known = recs.select("user_id").distinct()
    fallback = recommend_popular(wanted.join(known, "user_id", "left_anti"), popular_products(matrix), K, exclude)
    return ranking_metrics(recs.unionByName(fallback), relevant, K, catalogue)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=3_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rank", type=int, default=15)
    parser.add_argument("--max-iter", type=int, default=10)
    parser.add_argument("--reg-param", type=float, default=0.005)
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--workdir", type=Path,
                        default=LOCAL_DIR / "bench")
    args = parser.parse_args(argv)
    cores = os.cpu_count() if args.master == "local[*]" else int(args.master[6:-1])

    raw = args.workdir / f"als-raw-{args.users}-{args.products}-{args.events}-{args.days}"
    if not raw.exists():
        generate(raw, START, args.days, users=args.users, products=args.products, events=args.events, seed=5)
    spark = get_spark("bench_als", args.master, {"spark.driver.memory": args.driver_memory,
                                                  "spark.sql.shuffle.partitions": str(4 * cores)})
    spark.sparkContext.setLogLevel("ERROR")
    blas = spark._jvm.dev.ludovic.netlib.blas.BLAS.getInstance().getClass().getSimpleName()
    lapack = spark._jvm.dev.ludovic.netlib.lapack.LAPACK.getInstance().getClass().getSimpleName()

    (matrix, relevant, users, items, ratings), prep_s = timed(lambda: split_matrix(spark, raw, args.days))
    local = ratings.toPandas()
    n_users, n_items, nnz = int(local.user_idx.max()) + 1, int(local.item_idx.max()) + 1, len(local)
    catalogue = matrix.select("product_id").distinct().count()
    exclude = matrix.where("purchases > 0").select("user_id", "product_id").cache()
    wanted = relevant.select("user_id").distinct().cache()
    print(f"ALS benchmark on {args.master} ({cores} cores), JVM BLAS {blas}, LAPACK {lapack}, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    print(f"matrix: {n_users:,} users x {n_items:,} products, {nnz:,} non-zeros "
          f"(from {args.events:,} events over {args.days - 1} days; prepared in {prep_s:.1f} s); "
          f"test day: {wanted.count():,} users with {relevant.count():,} carted/purchased items")
    print(f"rank {args.rank}, iterations {args.max_iter}, regParam {args.reg_param}, alpha {args.alpha}")

    import implicit
    from implicit.als import AlternatingLeastSquares
    from scipy.sparse import csr_matrix
    from threadpoolctl import threadpool_limits

    user_items = csr_matrix((local.score.to_numpy(np.float32), (local.user_idx, local.item_idx)),
                            shape=(n_users, n_items))
    model = AlternatingLeastSquares(factors=args.rank, regularization=args.reg_param, alpha=args.alpha,
                                    iterations=args.max_iter, random_state=42, num_threads=cores)
    with threadpool_limits(1, "blas"):  # implicit's own advice: its threads, one BLAS thread each
        _, implicit_fit_s = timed(lambda: model.fit(user_items, show_progress=False))
        _, implicit_topk_s = timed(lambda: model.recommend(
            np.arange(n_users), user_items, N=K, filter_already_liked_items=False))

    base = AlsParams(rank=args.rank, reg_param=args.reg_param, alpha=args.alpha, max_iter=args.max_iter, blocks=2)
    configs = [
        ("Spark's 10 blocks, NNLS (the original notebook)", replace(base, blocks=10, nonnegative=True)),
        ("2 blocks, NNLS", replace(base, nonnegative=True)),
        ("2 blocks, Cholesky (the pipeline's)", base),
    ]
    print(f"\n{'training':<48} {'seconds':>8} {'x implicit':>10} {'NDCG@10':>8} {'prec@10':>8} "
          f"{'recall@10':>9} {'MAP@10':>7} {'hit':>6} {'cover':>6}")

    def row(name, seconds, m):
        ratio = f"{seconds / implicit_fit_s:.2f}" if seconds else ""
        print(f"{name:<48} {seconds:>8.1f} {ratio:>10} {m['ndcg']:>8.4f} {m['precision']:>8.4f} "
              f"{m['recall']:>9.4f} {m['map']:>7.4f} {m['hit_rate']:>6.3f} {m['coverage']:>6.3f}")

    spark_models = {}
    for name, params in configs:
        fitted, seconds = timed(lambda p=params: als.fit(ratings, p))
        spark_models[name] = fitted
        user_matrix = factor_matrix(fitted.user_factors, fitted.rank)
        recs = factor_lists(spark, user_matrix, fitted.item_matrix(), users, items, wanted, exclude)
        row(f"Spark ALS: {name}", seconds, metrics_of(recs, relevant, matrix, exclude, catalogue))
    implicit_recs = factor_lists(spark, model.user_factors, model.item_factors, users, items, wanted, exclude)
    row(f"implicit {implicit.__version__} ALS (CPU, {cores} threads)", implicit_fit_s,
        metrics_of(implicit_recs, relevant, matrix, exclude, catalogue))
    popular = recommend_popular(wanted, popular_products(matrix), K, exclude)
    row("global popularity (baseline)", 0.0, ranking_metrics(popular, relevant, K, catalogue))

    chosen = spark_models[configs[-1][0]]
    factors = chosen.user_factors.select(F.col("id").alias("user_idx"), "features",
                                        F.lit(None).cast("array<int>").alias("exclude"))
    item_matrix = chosen.item_matrix()
    _, ours_s = timed(lambda: top_k(factors, item_matrix, K).write.format("noop").mode("overwrite").save())
    _, spark_all_s = timed(lambda: chosen.mllib.recommendForAllUsers(K).write.format("noop").mode("overwrite").save())
    print(f"\ntop-{K} for all {n_users:,} users over {n_items:,} products")
    print(f"{'Spark recommendForAllUsers':<38} {spark_all_s:>8.1f} s  {spark_all_s / implicit_topk_s:>6.2f}x implicit")
    print(f"{'ours: block-wise top-K (mapInPandas)':<38} {ours_s:>8.1f} s  {ours_s / implicit_topk_s:>6.2f}x implicit")
    print(f"{'implicit recommend (all users)':<38} {implicit_topk_s:>8.1f} s")
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
