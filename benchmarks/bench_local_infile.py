"""Benchmark: LOAD DATA LOCAL with the load-folder handler (recsys_pipeline.local_infile) against
the client library's own, interleaved, on the same file.

    python -m benchmarks.bench_local_infile [--rows 2000000] [--repeats 4]

Writes one tab-separated file of recommendation-shaped rows, then loads it into a temporary table
``--repeats`` times each way, alternating which goes first. Prints every time, the means and
their ratio. Uses the pipeline's MySQL connection (AIRFLOW_CONN_RECSYS_MYSQL).
"""

import argparse
import os
import sys
import tempfile
import time

from airflow.providers.mysql.hooks.mysql import MySqlHook

from recsys_pipeline import local_infile
from recsys_pipeline.mysql import mysql_hook


def load_once(hook, folder: str, path: str, restricted: bool) -> float:
    conn = hook.get_conn() if restricted else MySqlHook.get_conn(hook)  # the provider's: no handler
    try:
        cur = conn.cursor()
        cur.execute("CREATE TEMPORARY TABLE recs (user_id BIGINT, rec_rank INT, product_id BIGINT, "
                    "score DOUBLE, source VARCHAR(8))")
        if restricted:
            local_infile.load_folder(conn, folder)
        started = time.perf_counter()
        cur.execute(f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE recs")
        return time.perf_counter() - started
    finally:
        conn.close()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args(argv)
    hook = mysql_hook(loads_files=True)
    with tempfile.TemporaryDirectory(prefix="recsys-infile-") as folder:
        path = os.path.join(folder, "part-00000.csv")
        with open(path, "w") as out:
            out.writelines(f"{i}\t{i % 10 + 1}\t{i * 7}\t0.{i % 997}\tals\n" for i in range(args.rows))
        print(f"{args.rows:,} rows, {os.path.getsize(path) / 1e6:.1f} MB, {args.repeats} loads each way")
        times = {True: [], False: []}
        for repeat in range(args.repeats):
            for restricted in (True, False) if repeat % 2 else (False, True):
                times[restricted].append(load_once(hook, folder, path, restricted))
    for restricted, label in ((True, "load-folder handler"), (False, "library's own")):
        series = times[restricted]
        print(f"{label:>20}: {' '.join(f'{t:.2f}' for t in series)} s, mean {sum(series) / len(series):.2f} s")
    print(f"ratio (handler / library's own): {sum(times[True]) / sum(times[False]):.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
