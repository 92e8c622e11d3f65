"""Spark job: clean one day's raw export files into the events data lake.

Reads every ``*.csv`` and ``*.csv.gz`` file under ``<raw>/<run date>/``, writes clean events to
``<lake>/events/ingest_date=<run date>/event_date=.../`` (replacing that ingest date only), bad
rows to ``<lake>/quarantine/ingest_date=<run date>/`` with their reasons, and the reconciliation
report to ``<lake>/reports/cleaning/ingest_date=<run date>/``.
"""

import sys

from recsys import lake
from recsys.cleaning import (
    InputError,
    check_quarantine_share,
    clean_events,
    read_raw_lines,
)
from recsys.jobs import base_parser, glob_files
from recsys.session import get_spark


def main(argv: list[str]) -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--raw", required=True, help="root of the raw export files")
    parser.add_argument("--max-quarantine-share", type=float, default=0.05)
    args = parser.parse_args(argv)
    spark = get_spark(f"clean_events {args.run_date}")

    where = f"{args.raw}/{args.run_date.isoformat()}"
    files = [f for f in glob_files(spark, f"{where}/*") if f.endswith((".csv", ".csv.gz"))]
    if not files:
        raise InputError(f"{where}: no raw input (*.csv or *.csv.gz) for {args.run_date}")
    result = clean_events(read_raw_lines(spark, files))
    result.clean.write.mode("overwrite").partitionBy("event_date").parquet(
        lake.events_ingest(args.lake, args.run_date)
    )
    result.quarantine.write.mode("overwrite").parquet(lake.quarantine(args.lake, args.run_date))
    report = {"ingest_date": args.run_date.isoformat(), "files": files, **result.report}
    lake.write_json(spark, lake.cleaning_report(args.lake, args.run_date), report)
    print(f"cleaning report: {report}")
    check_quarantine_share(report, args.max_quarantine_share, where)


if __name__ == "__main__":
    main(sys.argv[1:])
