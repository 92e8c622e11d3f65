"""Put the previous generation of the current lists back (and keep the replaced one as previous).

    recsys-rollback-current [user_recommendations similar_products]

Uses the recsys_mysql connection. Running it twice swaps back again. A later published run
replaces the rolled-back lists as usual.
"""

import argparse
import sys

from recsys_pipeline.mysql import mysql_hook
from recsys_pipeline.publish import CURRENT_COLUMNS, rollback_current


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tables", nargs="*", choices=sorted(CURRENT_COLUMNS), default=sorted(CURRENT_COLUMNS))
    args = parser.parse_args(argv)
    hook = mysql_hook()
    for table in args.tables:
        now_current, now_previous = rollback_current(hook, table)
        print(f"{table}_current is now the run of {now_current}; {table}_previous holds {now_previous}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
