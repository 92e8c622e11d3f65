"""Benchmark: loading users' lists into the real MySQL server, against insert_rows.

    python -m benchmarks.bench_load [--sizes 1000000 10000000] [--peer-rows 1000000] [--lists FOLDER]

For each size (list entries, 10 per user), part files in the lake's load format (what train_als
writes: header, tab-separated, a row per user with the list and its scores as JSON arrays, 8 parts)
are written once, then loaded by the pipeline's own path: the staging (`LOAD DATA LOCAL INFILE`,
count-checked, then kept in the per-date history) and the publish to the current table (checks +
one `RENAME TABLE`). In the same run, the naive peer, `MySqlHook.insert_rows` with its defaults,
loads the lists of the first --peer-rows entries into a table of its own shaped like the current
one. Prints entries per second of each and the ratio. --lists publishes a lake's folder of list files
too (``lake/recommendations/run_date=...`` of ``make bench SCALE=rees46``: the seed's scale).
Uses the test database (RECSYS_TEST_MYSQL_CONN) and leaves its tables empty.
"""

import argparse
import os
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
from pyarrow import csv

from benchmarks.measure import timed
from recsys_pipeline.config import LOCAL_DIR

DAY = date(2019, 11, 30)
COLUMNS = ["run_date", "user_id", "product_ids", "scores", "source"]
PARTS = 8
PEER_TABLE = "peer_insert_rows"  # shaped like the current lists, dropped after
PER_USER = 10


def write_dataset(folder: Path, entries: int) -> Path:
    """Lists of ``entries`` entries (10 per user, 64-bit ids) as part files, written once."""
    from recsys.driver_tables import compact_list_table

    if (folder / "_SUCCESS").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    per_part = -(-entries // PARTS // PER_USER) * PER_USER
    for part in range(PARTS):
        index = np.arange(part * per_part, min(entries, (part + 1) * per_part))
        table = compact_list_table(pa.table({
            "user_id": 500_000_000 + index // PER_USER,
            "rank": index % PER_USER + 1,
            "product_id": rng.integers(1_000_000, 100_000_000, len(index)),
            "score": rng.random(len(index)),
            "source": pa.array(["als"] * len(index)),
        }), DAY)
        path = folder / f"part-{part:05d}.csv"
        path.write_text("\t".join(COLUMNS) + "\n")  # Arrow would quote the header
        with open(path, "ab") as f:
            csv.write_csv(table, f, csv.WriteOptions(delimiter="\t", quoting_style="none", include_header=False))
    (folder / "_SUCCESS").touch()
    return folder


def read_load_rows(folder: Path, limit: int | None = None) -> list[tuple]:
    """The users' lists of a folder of load files (whole parts, until ``limit`` users), as tuples
    in COLUMNS order, for the insert_rows peer."""
    rows = []
    for part in sorted(folder.glob("part-*.csv")):
        table = csv.read_csv(part, parse_options=csv.ParseOptions(delimiter="\t"),
                             convert_options=csv.ConvertOptions(column_types={"run_date": pa.string()}))
        rows.extend(zip(*(table.column(c).to_pylist() for c in COLUMNS), strict=True))
        if limit is not None and len(rows) >= limit:
            return rows[:limit]
    return rows


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--peer-rows", type=int, default=1_000_000)
    parser.add_argument("--lists", type=Path, nargs="*", default=[], help="folders of list files to publish too")
    parser.add_argument("--workdir", type=Path,
                        default=LOCAL_DIR / "bench")
    args = parser.parse_args(argv)
    if not os.environ.get("RECSYS_TEST_MYSQL_CONN"):
        sys.exit("RECSYS_TEST_MYSQL_CONN is not set: run `make bench` (or source scripts/env.sh)")
    os.environ["AIRFLOW_CONN_RECSYS_MYSQL"] = os.environ["RECSYS_TEST_MYSQL_CONN"]
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"  # the hook logs every statement

    from recsys_pipeline.migrations import apply_migrations
    from recsys_pipeline.mysql import mysql_hook
    from recsys_pipeline.publish import names, publish_current, stage

    hook = mysql_hook(loads_files=True)
    apply_migrations(hook)
    version = hook.get_first("SELECT VERSION()")[0]
    lists = names("user_recommendations")
    print(f"load benchmark into MySQL {version} (the staging table shaped like {lists['current']})")
    print(f"{'entries':>11} {'path':<44} {'seconds':>8} {'entries/s':>10}")

    hook.run(f"CREATE TABLE IF NOT EXISTS {PEER_TABLE} LIKE {lists['current']}")

    def clear():
        for table in ("user_recommendation_history", lists["current"], lists["previous"], PEER_TABLE):
            hook.run(f"TRUNCATE TABLE {table}")

    def publish(dataset: Path, day: date) -> tuple[int, float]:
        clear()
        loaded, load_s = timed(lambda: stage(hook, "user_recommendations", day, str(dataset)))
        published, publish_s = timed(lambda: publish_current(hook, day, tables=("user_recommendations",)))
        assert published["published"], published
        for name, seconds in (("stage (LOAD DATA LOCAL INFILE) + history", load_s),
                              ("publish current (checks + RENAME TABLE)", publish_s),
                              ("both: what publish_recommendations does", load_s + publish_s)):
            print(f"{loaded:>11,} {name:<44} {seconds:>8.1f} {loaded / seconds:>10,.0f}")
        clear()
        return loaded, load_s

    ours_per_s = {}
    for size in args.sizes:
        loaded, load_s = publish(write_dataset(args.workdir / f"lists-{size}", size), DAY)
        assert loaded == size, (loaded, size)
        ours_per_s[size] = size / load_s
    for folder in args.lists:  # run_date=YYYY-MM-DD
        print(f"{folder}:")
        publish(folder, date.fromisoformat(folder.name.split("=")[-1]))

    dataset = write_dataset(args.workdir / f"lists-{args.peer_rows}", args.peer_rows)
    rows = read_load_rows(dataset)
    _, peer_s = timed(lambda: hook.insert_rows(PEER_TABLE, rows, target_fields=COLUMNS))
    count = hook.get_first(f"SELECT SUM(JSON_LENGTH(product_ids)) FROM {PEER_TABLE}")[0]
    assert count == args.peer_rows, count
    print(f"{args.peer_rows:>11,} {'peer: MySqlHook.insert_rows (defaults)':<44} {peer_s:>8.1f} "
          f"{args.peer_rows / peer_s:>10,.0f}")
    if args.peer_rows in ours_per_s:
        ratio = ours_per_s[args.peer_rows] / (args.peer_rows / peer_s)
        print(f"ratio on {args.peer_rows:,} rows: LOAD DATA path {ratio:.1f}x "
              f"the rows/s of insert_rows")
    clear()
    hook.run(f"DROP TABLE {PEER_TABLE}")


if __name__ == "__main__":
    main(sys.argv[1:])
