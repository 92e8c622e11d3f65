"""Benchmark: the cleaning job on 1 and 10 million generated events, against DuckDB.

    python -m benchmarks.bench_cleaning [--sizes 1000000 10000000] [--spark-master local[2]]

For each size, one day's raw file is generated (once, then reused) with 0.1 % junk lines
appended, then cleaned by the real job through spark-submit (JVM start included), and by the
same parse, rules, statistics and read-back counts in DuckDB (benchmarks/clean_duckdb.sql), on
the same cores. Prints rows read, clean and quarantined by both, seconds, events per second, and
the Spark/DuckDB ratio.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from recsys.params import Settings
from recsys_pipeline.config import LOCAL_DIR, SPARK_JOBS_DIR
from recsys_pipeline.spark import build_package_zip
from recsys_tools.generate_events import generate

DAY = date(2019, 10, 1)
JUNK = [
    "2019-10-01 10:00:00 UTC,view,1",  # wrong field count
    "2019-10-01 25:00:00 UTC,view,1001,2053013555631882655,,,1.00,5001,x",  # bad time
    "2019-10-01 10:00:00 UTC,click,1001,2053013555631882655,,,1.00,5001,x",  # unknown type
    "2019-10-01 10:00:00 UTC,view,1001,2053013555631882655,,,-5.00,5001,x",  # negative price
]


def raw_day(workdir: Path, events: int) -> Path:
    root = workdir / f"raw-{events}"
    path = root / DAY.isoformat() / "events.csv"
    if not path.exists():
        generate(root, DAY, 1, users=max(1000, events // 30), products=max(500, events // 200),
                 events=events, seed=1)
        lines = path.read_text().count("\n") - 1
        with open(path, "a") as f:
            for i in range(lines // 1000):
                f.write(JUNK[i % len(JUNK)] + "\n")
    return root


def run_spark(raw: Path, lake: Path, master: str, driver_memory: str) -> tuple[float, dict]:
    shutil.rmtree(lake, ignore_errors=True)
    cmd = [
        "spark-submit", "--master", master, "--driver-memory", driver_memory,
        "--conf", "spark.log.level=WARN", "--conf", "spark.ui.showConsoleProgress=false",
        "--py-files", str(build_package_zip()), str(SPARK_JOBS_DIR / "clean_events.py"),
        "--run-date", DAY.isoformat(),
        "--params", Settings(raw_root=str(raw), lake_root=str(lake), max_quarantine_share=1.0).to_json(),
    ]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - started
    report_dir = lake / "reports" / "cleaning" / f"ingest_date={DAY.isoformat()}"
    report = json.loads(next(report_dir.glob("part-*")).read_text())
    return seconds, report


def run_duckdb(raw: Path, out: Path, threads: int, day: date = DAY) -> tuple[float, dict]:
    import duckdb

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    fill = {"{raw}": str(raw / day.isoformat() / "*.csv"), "{out}": str(out), "{day}": day.isoformat(),
            "{window_days}": str(Settings().event_time_window_days)}
    script = Path(__file__).with_name("clean_duckdb.sql").read_text()
    for key, value in fill.items():
        script = script.replace(key, value)
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute("SET enable_progress_bar = false")
    started = time.perf_counter()
    con.execute(script)
    seconds = time.perf_counter() - started
    headerless = con.execute("SELECT source_file FROM line_statistics GROUP BY ALL "
                             "HAVING count_if(reject_reason = 'header') = 0").fetchall()
    if headerless:
        raise SystemExit(f"DuckDB peer: no header line in {headerless}")
    counts = con.execute(
        "SELECT (SELECT sum(rows) FROM line_statistics WHERE reject_reason IS DISTINCT FROM 'header'), "
        "(SELECT sum(rows) FROM written_by_date), (SELECT rows FROM written_quarantine)").fetchone()
    reasons = con.execute("SELECT reject_reason, sum(rows) FROM line_statistics WHERE reject_reason <> 'header' "
                          "GROUP BY ALL ORDER BY ALL").fetchall()
    return seconds, {"rows_read": counts[0], "rows_clean": counts[1], "rows_quarantined": counts[2],
                     "quarantine_reasons": dict(reasons)}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--workdir", type=Path,
                        default=LOCAL_DIR / "bench")
    args = parser.parse_args(argv)
    threads = os.cpu_count() if args.spark_master == "local[*]" else int(args.spark_master[6:-1])
    print(f"cleaning benchmark: Spark {args.spark_master} vs DuckDB {threads} threads")
    print(f"{'events':>11} {'engine':>7} {'read':>11} {'clean':>11} {'quarantined':>11} "
          f"{'seconds':>8} {'events/s':>10}")
    for size in args.sizes:
        raw = raw_day(args.workdir, size)
        spark_s, spark = run_spark(raw, args.workdir / f"lake-{size}", args.spark_master, args.driver_memory)
        duck_s, duck = run_duckdb(raw, args.workdir / f"duckdb-{size}", threads)
        for engine, secs, r in (("spark", spark_s, spark), ("duckdb", duck_s, duck)):
            print(f"{size:>11,} {engine:>7} {r['rows_read']:>11,} {r['rows_clean']:>11,} "
                  f"{r['rows_quarantined']:>11,} {secs:>8.1f} {r['rows_read'] / secs:>10,.0f}")
        same = all(spark[k] == duck[k] for k in ("rows_read", "rows_clean", "rows_quarantined"))
        print(f"{size:>11,}   ratio Spark/DuckDB time {spark_s / duck_s:.2f}x; "
              f"same counts: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main(sys.argv[1:])
