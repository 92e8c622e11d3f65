"""Benchmark: MySQL's size after 30 daily runs, from one real day's rows.

    python -m benchmarks.bench_growth [--days 30] [--day 2019-10-30]

Run after ``make bench SCALE=rees46``, which leaves the normal day's rows in the test database.
Every base table of that database is made again, empty, in a database of its own
(``<test database>_growth``) and gets the day's rows; each table with a run date (or an ingest
date) then gets them again for each of the next ``--days`` - 1 dates, as 30 daily runs of the
same size would leave them; the current lists and their previous generation hold one day's lists
each (the previous generation a copy of the current one), as after any run that publishes. Every
date is kept: the default retention is 90 days. Then ``ANALYZE TABLE`` and the sizes InnoDB
reports (data + indexes, in pages), per table and in all. The database goes at the end. Real
runs' lists differ from day to day; their size does not.
"""

import argparse
import os
import sys
from datetime import date

from benchmarks.measure import timed

DATE_COLUMNS = ("run_date", "ingest_date")
# A generation of the published lists: one day's rows whatever the number of runs.
GENERATIONS = ("_current", "_previous")


def tables_of(hook, schema: str) -> dict[str, list[tuple[str, str, str]]]:
    """Base tables -> their (column, extra, key) in order."""
    columns: dict[str, list[tuple[str, str, str]]] = {}
    for table, column, extra, key in hook.get_records(
            "SELECT c.table_name, c.column_name, c.extra, c.column_key FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_schema, table_name) "
            "WHERE c.table_schema = %s AND t.table_type = 'BASE TABLE' ORDER BY c.table_name, c.ordinal_position",
            parameters=(schema,)):
        columns.setdefault(table, []).append((column, extra, key))
    return columns


def grow(hook, source: str, target: str, day: date, days: int) -> dict[str, int]:
    """``target`` made like ``source`` with ``day``'s rows for ``days`` dates; rows per table."""
    hook.run(f"DROP DATABASE IF EXISTS `{target}`")
    hook.run(f"CREATE DATABASE `{target}`")
    for table, columns in tables_of(hook, source).items():
        hook.run(f"CREATE TABLE `{target}`.`{table}` LIKE `{source}`.`{table}`")
        names = [c for c, extra, _ in columns if "auto_increment" not in extra]
        # A date in the key: a row a date (a date outside it, as the run lock's, is one row in all).
        dated = next((c for c in DATE_COLUMNS if (c, "PRI") in {(n, k) for n, _, k in columns}), None)
        listed = ", ".join(f"`{c}`" for c in names)
        if dated is None or table.endswith(GENERATIONS):
            generation = table.removesuffix("_previous") + "_current" if table.endswith("_previous") else table
            hook.run(f"INSERT INTO `{target}`.`{table}` ({listed}) SELECT {listed} FROM `{source}`.`{generation}`")
            continue
        print(f"{table}: {day}'s rows for {days} dates", flush=True)
        for shift in range(days):
            moved = ", ".join(f"`{c}` + INTERVAL {shift} DAY" if c == dated else f"`{c}`" for c in names)
            hook.run(f"INSERT INTO `{target}`.`{table}` ({listed}) SELECT {moved} FROM `{source}`.`{table}` "
                     f"WHERE `{dated}` = %s", parameters=(day,))
    return {t: hook.get_first(f"SELECT COUNT(*) FROM `{target}`.`{t}`")[0] for t in tables_of(hook, target)}


def sizes(hook, schema: str) -> dict[str, tuple[int, int]]:
    """Table -> (data bytes, index bytes) as InnoDB reports them after ANALYZE TABLE."""
    for table in tables_of(hook, schema):
        hook.run(f"ANALYZE TABLE `{schema}`.`{table}`")
    return {t: (int(d), int(i)) for t, d, i in hook.get_records(
        "SELECT table_name, data_length, index_length FROM information_schema.tables "
        "WHERE table_schema = %s AND table_type = 'BASE TABLE'", parameters=(schema,))}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--day", type=date.fromisoformat, default=date(2019, 10, 30))
    args = parser.parse_args(argv)
    if not os.environ.get("RECSYS_TEST_MYSQL_CONN"):
        sys.exit("RECSYS_TEST_MYSQL_CONN is not set: run `make bench` (or source scripts/env.sh)")
    os.environ["AIRFLOW_CONN_RECSYS_MYSQL"] = os.environ["RECSYS_TEST_MYSQL_CONN"]
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    from recsys_pipeline.mysql import mysql_hook

    hook = mysql_hook()
    source = hook.get_first("SELECT DATABASE()")[0]
    if not hook.get_first("SELECT COUNT(*) FROM user_recommendation_history WHERE run_date = %s",
                          parameters=(args.day,))[0]:
        sys.exit(f"{source} holds no lists of {args.day}: run `make bench SCALE=rees46` first")
    target = f"{source}_growth"
    rows, seconds = timed(lambda: grow(hook, source, target, args.day, args.days))
    measured = sizes(hook, target)
    hook.run(f"DROP DATABASE `{target}`")
    print(f"MySQL after {args.days} daily runs of {args.day}'s rows ({seconds:.0f} s to make them)")
    print("| table | rows | data MB | index MB | MB |\n|---|---:|---:|---:|---:|")
    mb = 2**20
    for table, (data, index) in sorted(measured.items(), key=lambda kv: -sum(kv[1])):
        print(f"| {table} | {rows[table]:,} | {data / mb:,.0f} | {index / mb:,.0f} | {(data + index) / mb:,.0f} |")
    data, index = (sum(v[i] for v in measured.values()) for i in (0, 1))
    print(f"| all | {sum(rows.values()):,} | {data / mb:,.0f} | {index / mb:,.0f} | {(data + index) / mb:,.0f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
