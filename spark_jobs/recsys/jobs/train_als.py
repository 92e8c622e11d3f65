"""Spark job: tune ALS by NDCG@K on a time split, judge it against popularity, and unless the
quality gate withholds it refit on the whole window and write everyone's top-K.

Reads the run date's interaction matrix (the window's and the training days') and the window's
clean events; writes the model and its id maps to ``<lake_root>/models/run_date=<d>/``, the
recommendations, similar products and default lists (best sellers overall and per category) as
load files to ``<lake_root>/{recommendations,similar_products,default_lists}/run_date=<d>/`` and the run report
(``recsys.reports.ModelRunReport``) to ``<lake_root>/model_runs/run_date=<d>/``. A run withheld by
the gate writes only the last, with ``status = 'withheld'`` and the reason, and takes out the model
and lists an earlier run of the date left; the publish task then withdraws the date's lists from
MySQL too (``publish.withdraw``). A run that could not be judged writes its lists with
``status = 'unjudged'``; the publish task makes them current only when no lists exist yet.
"""

import json
import sys
import time
from dataclasses import replace
from datetime import date

from recsys import als, lake
from recsys.interactions import split_date, training_days, window_events, window_gaps, window_part
from recsys.jobs import job_arguments, side_by_side
from recsys.params import AlsParams, Settings
from recsys.recommender import evaluate, refit, write_default_lists
from recsys.reports import model_run_report
from recsys.session import get_spark
from recsys.staged_outputs import StagedOutputs, finish_interrupted_swaps
from recsys.tuning import KEPT, PUBLISHED, WITHHELD, InUse, quality_gate, search_space


def main(argv: list[str]) -> None:
    job = job_arguments(__doc__.splitlines()[0], argv)
    settings, run_date = job.settings, job.run_date
    spark = get_spark(f"train_als {run_date}")
    finish_interrupted_swaps(spark, settings.lake_root)
    started = time.monotonic()
    stored = spark.read.parquet(lake.interactions(settings.lake_root, run_date))
    # Not cached: the driver's heap is left to the lists handed to Spark (the rees46 window's cache
    # filled half a 2g heap, then the refit's lists ran it out of memory); each use reads the files.
    matrix = window_part(stored)
    pairs, users, products = als.matrix_sizes(matrix)
    # One engine for the tuning and the refit, chosen on the window's matrix (the largest fitted).
    engine, why = als.choose_engine(settings.als_engine, pairs, users, products, max(settings.als_ranks),
                                    settings.top_k, spark.conf.get("spark.driver.memory", "1g"))
    settings = replace(settings, als_engine=engine)
    print(f"ALS engine: {engine} ({why}; {pairs:,} pairs, {users:,} users, {products:,} products)", flush=True)

    evaluation = {"status": "skipped: eval_days is 0"}
    if settings.eval_days > 0:
        in_use = last_published(spark, settings, run_date)
        candidates, search, kept = search_space(settings, in_use, run_date)
        print(f"tuning: {search}", flush=True)
        events = window_events(spark, settings.lake_root, run_date, settings.window_days)
        train = training_days(stored, split_date(run_date, settings.eval_days),
                              lake.interactions(settings.lake_root, run_date))
        evaluation = {**evaluate(events, train, run_date, settings, candidates, kept), "search": search}
        if "tuning" in evaluation:
            evaluation["searched_on"] = searched_on(evaluation["tuning"], run_date, in_use if kept else None)
    evaluation["engine_choice"] = f"{engine}: {why}"
    gaps = window_gaps(spark, settings, run_date)
    if gaps:
        evaluation["window_gaps"] = [d.isoformat() for d in gaps]
    print(f"evaluation: {evaluation}")
    status, verdict = quality_gate(evaluation, settings.quality_margin)
    chosen = AlsParams(**evaluation["chosen"]) if "chosen" in evaluation else settings.als_params()

    sizes = {
        "users": users,
        "products": products,
        "interaction_pairs": pairs,
        "als_users": 0, "als_products": 0, "recommendation_rows": 0, "recommendation_rows_by_source": {},
        "similar_rows": 0,
    }
    with StagedOutputs(spark, settings.lake_root, "train_als", run_date) as outputs:
        if status != WITHHELD:  # an unjudged run's lists are written: the publish task decides on them
            sizes.update(refit_and_write(settings, run_date, chosen, matrix, outputs))
        else:
            # A rerun withheld must not leave the date's earlier lists behind as if they were its own.
            for earlier in (lake.model_dir, lake.recommendations, lake.similar_products, lake.default_lists):
                outputs.remove(earlier(settings.lake_root, run_date))
            # Loud on purpose: the run succeeds, but its lists must not replace the published ones.
            banner = "=" * 80
            print(f"{banner}\nQUALITY GATE: recommendations for {run_date} are NOT published.\n"
                  f"{verdict}\n{banner}", file=sys.stderr)
        report = model_run_report(run_date, settings, evaluation, status, verdict, sizes,
                                  seconds=round(time.monotonic() - started, 1))
        lake.write_report(spark, outputs.path(lake.model_run(settings.lake_root, run_date)), report)
        outputs.commit()
    print(f"model run: {report}")


# How far back the last published run is looked for (each look reads one small report).
LOOK_BACK_RUNS = 30


def last_published(spark, settings: Settings, run_date: date) -> InUse | None:
    """The ALS parameters of the newest run before ``run_date`` whose lists were published by the
    same engine, and the date they were last searched on: where today's tuning starts (the same
    answer on a rerun or a backfill of the date, while the earlier dates' runs stand). Only the
    fields it needs are read, so reports of an older version still serve (one without
    ``searched_on`` searched on its own date); one that cannot be read is skipped, saying so."""
    earlier = [d for d in lake.model_run_dates(spark, settings.lake_root) if d < run_date][-LOOK_BACK_RUNS:]
    for day in reversed(earlier):
        try:
            text = lake.read_report_json(spark, lake.model_run(settings.lake_root, day))
            run = json.loads(text) if text else None
            if run is None or run["status"] != PUBLISHED:
                continue
            if run["params_json"]["als_engine"] != settings.als_engine:
                return None  # the other engine's regParam means another model: the whole grid
            params = replace(settings.als_params(), rank=run["als_rank"], reg_param=run["als_reg_param"],
                             alpha=run["als_alpha"])
            searched = run["evaluation_json"].get("searched_on", day.isoformat())
            return InUse(params, date.fromisoformat(searched) if searched else None)
        except Exception as exc:  # noqa: BLE001 (a bad old report must not stop today's run)
            print(f"tuning: the model run of {day} cannot be read, skipped: {exc}", flush=True)
    return None


def searched_on(trials: list[dict], run_date: date, kept: InUse | None) -> str | None:
    """The run date the chosen parameters were last searched on, as far as the day's ``trials``
    tell: today when every candidate was scored or kept out by the gate's pass, the kept
    parameters' date when they passed alone; none when the budget cut today's search short, so
    that tomorrow searches again rather than keep a half-explored choice for ``retune_days``."""
    statuses = {t["status"] for t in trials[1:]}
    if kept is not None and statuses == {KEPT}:
        return kept.searched_on.isoformat()
    return None if statuses - {"scored"} else run_date.isoformat()


def refit_and_write(settings: Settings, run_date: date, chosen: AlsParams, matrix,
                    outputs: StagedOutputs) -> dict:
    """Fit the chosen parameters on the whole window; save the model, its id maps, everyone's
    top-K and the similar products; return the counts for the run report."""
    started = time.monotonic()
    print(f"refit: ALS {chosen.as_dict()} on the window's matrix ...", flush=True)
    fitted = refit(matrix, settings, chosen)
    print(f"refit: fitted after {time.monotonic() - started:.1f} s; writing the model, everyone's "
          f"top-{settings.top_k} and the similar products ...", flush=True)
    model_dir = outputs.path(lake.model_dir(settings.lake_root, run_date))
    recs_dir = outputs.path(lake.recommendations(settings.lake_root, run_date))
    similar_dir = outputs.path(lake.similar_products(settings.lake_root, run_date))
    defaults_dir = outputs.path(lake.default_lists(settings.lake_root, run_date))

    def written(what: str, rows: int) -> int:
        print(f"refit: {rows:,} {what} written after {time.monotonic() - started:.1f} s", flush=True)
        return rows

    def model() -> tuple[int, int]:
        counts = fitted.write_model(model_dir)
        written(f"users' and {counts[1]:,} products' factors and id maps", counts[0])
        return counts

    def recommendations() -> dict:
        by_source = fitted.write_lists(recs_dir, run_date)
        written(f"recommendation rows {by_source}", sum(by_source.values()))
        return by_source

    def similar() -> int:
        return written("similar products", fitted.write_similar(similar_dir, run_date, settings.top_k))

    def defaults() -> int:
        events = window_events(matrix.sparkSession, settings.lake_root, run_date, settings.window_days)
        return written("default lists (best sellers)",
                       write_default_lists(matrix, events, defaults_dir, run_date, settings.top_k))

    # The writes are independent (each a few small Spark jobs, or files from the driver): side by side.
    (als_users, als_products), by_source, similar_rows, default_lists = side_by_side(
        model, recommendations, similar, defaults)
    return {
        "als_users": als_users,
        "als_products": als_products,
        "recommendation_rows": sum(by_source.values()),
        "recommendation_rows_by_source": by_source,
        "similar_rows": similar_rows,
        "default_lists": default_lists,
    }

