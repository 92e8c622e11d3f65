"""Spark job: the user x product interaction matrix over the window ending at the run date.

Writes ``<lake>/interactions/run_date=<run date>/`` (Parquet).
"""

import sys

from recsys import lake
from recsys.interactions import interaction_matrix, newest_event_time, window_events
from recsys.jobs import base_parser
from recsys.params import add_score_options, score_params
from recsys.session import get_spark


def main(argv: list[str]) -> None:
    parser = base_parser(__doc__.splitlines()[0])
    add_score_options(parser)
    args = parser.parse_args(argv)
    spark = get_spark(f"build_interactions {args.run_date}")
    events = window_events(lake.read_events(spark, args.lake), args.run_date, args.window_days)
    events = events.cache()
    reference = newest_event_time(events)
    if reference is None:
        raise ValueError(
            f"{lake.events(args.lake)}: no clean events in the {args.window_days} days to {args.run_date}"
        )
    matrix = interaction_matrix(events, score_params(args), reference)
    matrix.write.mode("overwrite").parquet(lake.interactions(args.lake, args.run_date))
    print(f"interaction matrix for {args.run_date}: reference time {reference}")


if __name__ == "__main__":
    main(sys.argv[1:])
