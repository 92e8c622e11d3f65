"""Spark job: tune ALS by NDCG@K on a time split, judge it against popularity, and when it
passes the quality gate refit on the whole window and write everyone's top-K.

Reads the run date's interaction matrix and the window's clean events; writes the model and its
id maps to ``<lake>/models/run_date=<d>/``, the recommendations (CSV) to
``<lake>/recommendations/run_date=<d>/`` and the run's parameters and metrics (JSON) to
``<lake>/model_runs/run_date=<d>/``. A run withheld by the gate writes only the last, with
``status = 'withheld'`` and the reason; the publish task then leaves MySQL's lists as they were.
"""

import sys
import time
from dataclasses import replace

from pyspark.sql import functions as F

from recsys import als, lake
from recsys.interactions import window_events
from recsys.jobs import base_parser
from recsys.params import add_recommender_options, add_score_options, recommender_params, score_params, tuning_grid
from recsys.recommender import evaluate, fit_and_recommend
from recsys.session import get_spark
from recsys.tuning import quality_gate


def main(argv: list[str]) -> None:
    parser = base_parser(__doc__.splitlines()[0])
    add_score_options(parser)
    add_recommender_options(parser)
    args = parser.parse_args(argv)
    spark = get_spark(f"train_als {args.run_date}")
    params = recommender_params(args)
    started = time.monotonic()

    evaluation = {"status": "skipped: eval_days is 0"}
    if args.eval_days > 0:
        events = window_events(lake.read_events(spark, args.lake), args.run_date, args.window_days)
        evaluation = evaluate(events, args.run_date, args.eval_days, score_params(args), params,
                              tuning_grid(args), args.tuning_budget_seconds)
    print(f"evaluation: {evaluation}")
    publish, verdict = quality_gate(evaluation, args.quality_margin)
    if "chosen" in evaluation:
        params = replace(params, als_params=als.AlsParams(**evaluation["chosen"]))

    matrix = spark.read.parquet(lake.interactions(args.lake, args.run_date)).cache()
    run = {
        "run_date": args.run_date,
        "status": "published" if publish else "withheld",
        "quality_gate": verdict,
        "params": {**vars(args), "run_date": args.run_date.isoformat(), **params.als_params.as_dict()},
        "evaluation": evaluation,
        "users": matrix.select("user_id").distinct().count(),
        "products": matrix.select("product_id").distinct().count(),
        "pairs": matrix.count(),
        "als_users": 0,
        "recommendation_rows": 0,
        "similar_rows": 0,
    }
    if publish:
        run.update(refit_and_write(args, params, matrix))
    else:
        # Loud on purpose: the run succeeds, but its lists must not replace the published ones.
        banner = "=" * 80
        print(f"{banner}\nQUALITY GATE: recommendations for {args.run_date} are NOT published.\n"
              f"{verdict}\n{banner}", file=sys.stderr)
    run["seconds"] = round(time.monotonic() - started, 1)
    lake.write_json(spark, lake.model_run(args.lake, args.run_date), run)
    print(f"model run: {run}")


def refit_and_write(args, params, matrix) -> dict:
    """Fit the chosen parameters on the whole window; save the model, its id maps, everyone's
    top-K and the similar products; return the counts for the run report."""
    fitted = fit_and_recommend(matrix, params)
    model_dir = lake.model_dir(args.lake, args.run_date)
    fitted.model.write().overwrite().save(f"{model_dir}/als")
    fitted.users.write.mode("overwrite").parquet(f"{model_dir}/user_index")
    fitted.items.write.mode("overwrite").parquet(f"{model_dir}/item_index")

    recs = fitted.recommendations.select(
        F.lit(args.run_date).alias("run_date"), "user_id", F.col("rank").alias("rec_rank"),
        "product_id", "score", "source",
    ).cache()
    lake.write_load_files(recs, lake.recommendations(args.lake, args.run_date))
    by_source = {r.source: r["count"] for r in recs.groupBy("source").count().collect()}
    similar = als.similar_products(fitted.model, fitted.items, params.top_k).select(
        F.lit(args.run_date).alias("run_date"), "*"
    ).cache()
    lake.write_load_files(similar, lake.similar_products(args.lake, args.run_date))
    return {
        "als_users": fitted.users.count(),
        "als_products": fitted.items.count(),
        "recommendation_rows": sum(by_source.values()),
        "recommendation_rows_by_source": by_source,
        "similar_rows": similar.count(),
    }


if __name__ == "__main__":
    main(sys.argv[1:])
