"""Benchmark: the daily run at store scale, on this machine, in one report.

    make bench SCALE=small|1m|10m|rees46        (python -m benchmarks.bench_daily --scale small)

Generates a store at the scale (once; reused), cleans every day before the measured ones but the
last into a lake (once, in one Spark session; reused), runs the DAG for that last day (once,
unmeasured, scoring one tuning trial: a daily run follows one, whose published model its tuning
starts from), then runs the
DAG's daily run for each measured date (the last; at ``rees46``, a normal day and then the sale
day with three times its events) through Airflow
(``dag.test``, the DAG's default Params) into the test database, sampling memory every half
second. Then, in the same run, the peers: the whole day's model work by DuckDB, implicit and
LOAD DATA (``pipeline_peer``), the last day's cleaning in DuckDB with the same rules,
ALS training and top-K with `implicit` on the run's own matrix and parameters, and the run's
recommendations loaded with ``MySqlHook.insert_rows``. Writes ``.local/bench/<scale>/report.json``
and ``report.md``:

    {"scale", "machine", "runs": [{"day", "kind", "stages": [{"task", "seconds", "rows_in", "rows_out",
     "peak_rss_mb", "peak_machine_mb"}], "sizes": {...}}], "peers": [{"name", "ours_s", "peer_s", "ratio"}]}

The peers work on the last measured day.

``peak_rss_mb`` is the largest resident memory (proportional set size, shared pages counted once)
of this process and its children (the Spark driver of a Spark task; the worker itself for the
others) while the task ran; ``peak_machine_mb`` the
machine's used memory (total less available) then. A ratio is ours over the peer: below 1 is faster.
"""

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from benchmarks import daily_peers
from benchmarks.daily_report import markdown, write
from benchmarks.measure import MemorySampler, machine, timed

START = date(2019, 10, 1)


@dataclass(frozen=True)
class Scale:
    events: int
    days: int
    users: int
    products: int
    shape: str = "demo"  # recsys_tools.generated_store.SHAPES
    sale_days: int = 0  # the last days, with 3 times a day's events; measured after a normal day



SCALES = {
    "small": Scale(events=200_000, days=10, users=5_000, products=2_000),
    "1m": Scale(events=1_000_000, days=30, users=50_000, products=10_000),
    "10m": Scale(events=10_000_000, days=30, users=500_000, products=100_000),
    # The REES46 export of October 2019: 42 million events, 3 million users, 167,000 products.
    # 4 million users in the store: some never come in a month (3.3 million gave 2.7 million who did).
    "rees46": Scale(events=42_000_000, days=31, users=4_000_000, products=167_000, shape="rees46", sale_days=1),
}


def measured_days(scale: Scale) -> list[date]:
    """The last day, or a normal day and then the sale days."""
    return [START + timedelta(days=i) for i in range(scale.days)][-(1 + scale.sale_days):]


def prepare(workdir: Path, scale: Scale) -> tuple[Path, Path, list[date], float]:
    """The raw files (generated once) and a lake with every day before the measured ones but the
    last cleaned (once, in a process of its own, so that its Spark driver is gone before the daily
    runs are measured) and that last day run through the DAG (once)."""
    from recsys_tools.generate_events import generate
    from recsys_tools.run_dag import load_dag

    raw, lake_root = workdir / "raw", workdir / "lake"
    measured = measured_days(scale)
    dates = [START + timedelta(days=i) for i in range((measured[0] - START).days)]
    if not (raw / "_GENERATED").exists():
        generate(raw, START, scale.days, users=scale.users, products=scale.products, events=scale.events, seed=12,
                 shape=scale.shape, sale_days=scale.sale_days)
        (raw / "_GENERATED").touch()
    history_s = 0.0
    if not (lake_root / "_HISTORY_CLEANED").exists():
        _, history_s = timed(lambda: subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_daily", "--clean-history", str(raw), str(lake_root),
             *(d.isoformat() for d in dates[:-1])], check=True, cwd=Path(__file__).resolve().parents[1]))
        (lake_root / "_HISTORY_CLEANED").touch()
    if not (lake_root / "_PREVIOUS_DAY_RUN").exists():
        print(f"the day before, {dates[-1]}, through Airflow (unmeasured) ...", flush=True)
        # A store's first run: the whole grid searched, to the end (about 20 minutes at rees46), so
        # that the measured days are the typical ones, which keep its parameters (retune_days).
        run = load_dag().test(run_conf={"run_date": dates[-1].isoformat(), "raw_root": str(raw),
                                        "lake_root": str(lake_root), "input_wait_minutes": 1.0})
        if str(run.state) != "success":
            raise SystemExit(f"the run for {dates[-1]} failed")
        (lake_root / "_PREVIOUS_DAY_RUN").touch()
    return raw, lake_root, measured, history_s


def clean_history(raw: str, lake_root: str, dates: list[str]) -> None:
    """Every date's cleaning by the job's own main(), in one Spark session (no JVM start per date)."""
    from recsys.params import Settings
    from recsys.session import get_spark

    get_spark("bench history", "local[*]", {"spark.driver.memory": "8g", "spark.ui.enabled": "false"})
    from recsys.jobs import clean_events

    settings = Settings(raw_root=raw, lake_root=lake_root)
    for day in dates:
        _, seconds = timed(lambda d=day: clean_events.main(["--run-date", d, "--params", settings.to_json()]))
        print(f"history: cleaned {day} in {seconds:.1f} s", flush=True)


def daily_run(raw: Path, lake_root: Path, day: date, params: dict | None = None) -> tuple[list[dict], float]:
    """The DAG's run for ``day`` through Airflow (default Params, but ``params``); each task's
    seconds, rows and peak memory."""
    from recsys_pipeline.mysql import mysql_hook
    from recsys_tools.run_dag import load_dag

    sampler = MemorySampler()
    sampler.start()
    run, seconds = timed(lambda: load_dag().test(run_conf={
        "run_date": day.isoformat(), "raw_root": str(raw), "lake_root": str(lake_root), "input_wait_minutes": 1.0,
        **(params or {})}))
    sampler.stop()
    if str(run.state) != "success":
        failed = [ti.task_id for ti in run.get_task_instances() if str(ti.state) not in ("success", "skipped")]
        raise SystemExit(f"the daily run for {day} failed: {failed}")
    recorded = {r[0]: r[1:] for r in mysql_hook().get_records(
        "SELECT task_id, state, task_seconds, rows_in, rows_out FROM pipeline_run_tasks WHERE run_date = %s",
        parameters=(day,))}
    stages = []
    for ti in sorted(run.get_task_instances(), key=lambda t: (t.start_date or datetime.max.replace(tzinfo=UTC))):
        if str(ti.state) != "success" or ti.task_id in [s["task"] for s in stages]:
            continue
        state, task_s, rows_in, rows_out = recorded.get(ti.task_id, (None, None, None, None))
        peak_rss, peak_machine = sampler.peak(ti.start_date, ti.end_date)
        task_s = task_s if task_s is not None else (ti.end_date - ti.start_date).total_seconds()
        stages.append({"task": ti.task_id, "seconds": round(task_s, 1), "rows_in": rows_in, "rows_out": rows_out,
                       "rows_per_s": round((rows_in or rows_out or 0) / task_s) if task_s else None,
                       "peak_rss_mb": peak_rss, "peak_machine_mb": peak_machine})
    overall = sampler.peak(sampler.samples[0][0], sampler.samples[-1][0]) if sampler.samples else (None, None)
    stages.append({"task": "whole run", "seconds": round(seconds, 1), "rows_in": None, "rows_out": None,
                   "rows_per_s": None, "peak_rss_mb": overall[0], "peak_machine_mb": overall[1]})
    return stages, seconds


def sizes_of(lake_root: Path, day: date) -> dict:
    from recsys import lake
    from recsys.params import Settings
    from recsys.reports import ModelRunReport
    from recsys_pipeline.bulk_load import read_lake_report

    run = read_lake_report(lake.model_run(str(lake_root), day), ModelRunReport)
    window = {lake.window_start(day, run.window_days) + timedelta(days=i) for i in range(run.window_days)}
    clean = 0
    for report in (lake_root / "reports" / "cleaning").glob("ingest_date=*/part-*"):
        by_date = json.loads(report.read_text())["clean_rows_by_event_date"]
        clean += sum(n for d, n in by_date.items() if date.fromisoformat(d) in window)
    return {"events_in_window": clean, "users": run.users, "products": run.products,
            "non_zeros": run.interaction_pairs, "als_users": run.als_users,
            "recommendations_written": run.recommendation_rows, "similar_products_written": run.similar_rows,
            "tuning_trials": run.tuning_trials, "tuning_seconds": run.tuning_seconds,
            "tuning_search": run.evaluation_json.get("search"),
            "trials_scored": [{k: t[k] for k in ("rank", "reg_param", "alpha")}
                              for t in run.evaluation_json.get("tuning", []) if t["status"] == "scored"],
            "als": {"rank": run.als_rank, "reg_param": run.als_reg_param, "alpha": run.als_alpha,
                    "max_iter": run.als_max_iter},
            "als_engine": run.params_json["als_engine"],
            "status": run.status, "als_ndcg_at_k": run.als_ndcg_at_k,
            "popularity_ndcg_at_k": run.popularity_ndcg_at_k,
            "category_popularity_ndcg_at_k": run.category_popularity_ndcg_at_k,
            "default_params": Settings().als_params().as_dict()}


def whole_pipeline_peer(raw: Path, lake_root: Path, day: date, workdir: Path, report: dict) -> dict:
    """The day's model work by DuckDB, implicit and LOAD DATA (``pipeline_peer``) against our tasks
    that do it; its stages go into the report as ``pipeline_peer``."""
    from benchmarks import pipeline_peer
    from recsys_pipeline.mysql import mysql_hook

    run = report["runs"][-1]
    peer = pipeline_peer.run(raw, lake_root, day, workdir, run["sizes"]["trials_scored"], run["sizes"]["als"],
                             mysql_hook(loads_files=True))
    report["pipeline_peer"] = peer
    ours = sum(s["seconds"] for s in run["stages"] if s["task"] in pipeline_peer.COMPARED_TASKS)
    return {"name": f"the day's model work ({' + '.join(pipeline_peer.COMPARED_TASKS)}) vs DuckDB + implicit + "
                    f"LOAD DATA ({', '.join(f'{k} {v:.0f} s' for k, v in peer['stages'].items())})",
            "ours_s": round(ours, 1), "peer_s": peer["seconds"]}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--peer-load-rows", type=int, default=200_000,
                        help="rows insert_rows loads (its time is scaled to the run's rows)")
    parser.add_argument("--normal-day-only", action="store_true",
                        help="measure the normal day and its peers, not the sale days (an hour less at rees46)")
    parser.add_argument("--retune-beside", action="store_true",
                        help="then run the last day again searching its parameters (retune_days 1): "
                             "what keeping them costs in NDCG@K, and saves in time")
    parser.add_argument("--clean-history", nargs="+", metavar=("RAW LAKE", "DATE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.clean_history:
        return clean_history(args.clean_history[0], args.clean_history[1], args.clean_history[2:])
    if not os.environ.get("RECSYS_TEST_MYSQL_CONN"):
        sys.exit("RECSYS_TEST_MYSQL_CONN is not set: run `make bench` (or source scripts/env.sh)")
    # The test database: the benchmark never touches the demo's tables.
    os.environ["AIRFLOW_CONN_RECSYS_MYSQL"] = os.environ["RECSYS_TEST_MYSQL_CONN"]
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"  # task logs stay in Airflow's log folder
    from recsys.session import get_spark
    from recsys_pipeline.config import LOCAL_DIR

    scale, workdir = SCALES[args.scale], LOCAL_DIR / "bench" / args.scale
    workdir.mkdir(parents=True, exist_ok=True)
    raw, lake_root, measured, history_s = prepare(workdir, scale)
    measured = measured[:1] if args.normal_day_only else measured
    report = {"scale": args.scale, "machine": machine(), "store": scale.__dict__,
              "history_seconds": round(history_s, 1), "runs": [], "peers": []}
    for i, day in enumerate(measured):
        print(f"daily run for {day} through Airflow ...", flush=True)
        stages, _ = daily_run(raw, lake_root, day)
        report["runs"].append({"day": day.isoformat(), "kind": "sale" if i else "normal", "stages": stages,
                               "sizes": sizes_of(lake_root, day)})
        write(workdir, report)  # the runs' figures stand even if a later step fails
    print("peers ...", flush=True)
    spark = get_spark(f"bench {args.scale}", "local[*]", {"spark.driver.memory": "8g", "spark.ui.enabled": "false"})
    spark.sparkContext.setLogLevel("ERROR")
    day, stages, sizes = measured[-1], report["runs"][-1]["stages"], report["runs"][-1]["sizes"]
    cleaning_s = next(s["seconds"] for s in stages if s["task"] == "clean_events")
    # At rees46 the whole-pipeline peer times implicit; the ALS peer would take 15 minutes more there.
    als_peer = [] if args.scale == "rees46" else [lambda: daily_peers.peers_als(spark, lake_root, day, sizes)]
    peers = [lambda: [whole_pipeline_peer(raw, lake_root, day, workdir, report)],
             lambda: [daily_peers.peer_cleaning(raw, day, cleaning_s, workdir)],
             *als_peer,
             lambda: [daily_peers.peer_load(lake_root, day, args.peer_load_rows)]]
    for measure in peers:
        try:
            report["peers"] += measure()
        except Exception as exc:  # noqa: BLE001 (a peer that fails is reported, the rest still run)
            report["peers"].append({"name": f"peer failed: {exc}"[:300], "ours_s": None, "peer_s": None})
    for peer in report["peers"]:
        peer["ratio"] = round(peer["ours_s"] / peer["peer_s"], 2) if peer["peer_s"] else None
    write(workdir, report)
    if args.retune_beside:  # the same day, its parameters searched (about 4 fits) instead of kept;
        # after the peers, which compare with the day as it runs by default
        print(f"daily run for {measured[-1]} again, retuned ...", flush=True)
        stages, _ = daily_run(raw, lake_root, measured[-1], {"retune_days": 1})
        report["runs"].append({"day": measured[-1].isoformat(), "kind": "retuned (retune_days 1), same",
                               "stages": stages, "sizes": sizes_of(lake_root, measured[-1])})
        write(workdir, report)
    print(markdown(report))
    print(f"written: {workdir / 'report.json'}, {workdir / 'report.md'}")
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
