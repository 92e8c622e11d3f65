"""Put the previous generation of the current lists back (the replaced one kept as previous).

    recsys-rollback-current [--max-age-days N]

Uses the recsys_mysql connection. Recommendations, similar products and default lists go back
together, in one swap under the lock publishing takes. Refused, changing nothing, when there is no previous
generation or it is more than N days (default: the Param max_list_age_days) older than the
current lists. Running it twice swaps back again; a later published run replaces the
rolled-back lists as usual.
"""

import argparse
import sys

from recsys.params import Settings
from recsys_pipeline.mysql import mysql_hook
from recsys_pipeline.publish import PUBLISHED, rollback_current


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-age-days", type=int, default=Settings().max_list_age_days,
                        help="refuse previous lists more days older than the current ones (default %(default)s)")
    args = parser.parse_args(argv)
    dates = rollback_current(mysql_hook(), args.max_age_days)
    print(f"{', '.join(f'{t}_current' for t in PUBLISHED)}: now the run of {dates['current']}; "
          f"the previous tables hold {dates['previous']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
