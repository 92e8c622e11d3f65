"""Spark job: the EDA summaries of one date's clean events, one CSV dataset per MySQL table.

Writes ``<lake>/eda/<table>/run_date=<run date>/`` for daily_kpis, hourly_activity,
brand_daily, category_daily and top_customers.
"""

import sys

from pyspark.sql import functions as F

from recsys import lake
from recsys.eda import SUMMARIES
from recsys.jobs import base_parser
from recsys.session import get_spark


def main(argv: list[str]) -> None:
    args = base_parser(__doc__.splitlines()[0]).parse_args(argv)
    spark = get_spark(f"eda_summaries {args.run_date}")
    day = lake.read_events(spark, args.lake).where(F.col("event_date") == F.lit(args.run_date))
    day = day.cache()
    if day.isEmpty():
        raise ValueError(f"{lake.events(args.lake)}: no clean events dated {args.run_date}")
    for table, summarise in SUMMARIES.items():
        summary = summarise(day).select(F.lit(args.run_date).alias("run_date"), "*")
        lake.write_load_files(summary.coalesce(1), lake.eda(args.lake, table, args.run_date))


if __name__ == "__main__":
    main(sys.argv[1:])
