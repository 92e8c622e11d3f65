"""Land a monthly export (``2019-Oct.csv`` or ``.csv.gz``, several GB) in the daily raw layout.

    recsys-land-export 2019-Oct.csv.gz --raw-root "$RECSYS_RAW_ROOT"

Streams the export once, line by line (memory stays flat whatever its size), and writes each
event to ``<raw root>/<its date>/<export name>.csv`` under the export's header, ready for the DAG
(run, or backfill, the dates it reports). Lines are kept byte for byte (line endings become
``\\n``); the cleaning job judges them. A line whose first field is not a date cannot be placed:
it goes to ``<raw root>/_undated/<export name>.csv`` and is reported with its line number.

Idempotent: each day's file is written under a temporary name, renamed into place (a reader never
sees half a file) and marked complete with ``_SUCCESS``; landing the same export again leaves the
same files (a day that an earlier landing of this export wrote and this one does not is
removed). The report
(rows per day, undated lines) is printed and kept in ``<raw root>/_landing/<export name>.json``.
"""

import argparse
import gzip
import json
import os
import re
import sys
from datetime import date
from pathlib import Path

from recsys.raw_format import COMPLETE_MARKER, RAW_HEADER

DATED = re.compile(rb"^(\d{4}-\d{2}-\d{2}) ")
UNDATED = "_undated"
REPORTS = "_landing"
# At most this many days are open for writing at once (a month has 31; an export is unsorted).
MAX_OPEN_DAYS = 400


class LandingError(ValueError):
    """The export cannot be landed (not the store's format)."""


def export_name(path: Path) -> str:
    return path.name.removesuffix(".gz").removesuffix(".csv")


def _open_export(path: Path):
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


class _DayFiles:
    """One temporary output file per day, opened when its first line comes."""

    def __init__(self, raw_root: Path, name: str):
        self.raw_root, self.name, self.files, self.rows = raw_root, name, {}, {}

    def temporary(self, day: str) -> Path:
        return self.raw_root / day / f".{self.name}.csv.landing-{os.getpid()}"

    def write(self, day: str, line: bytes) -> None:
        out = self.files.get(day)
        if out is None:
            if len(self.files) >= MAX_OPEN_DAYS:
                raise LandingError(f"more than {MAX_OPEN_DAYS} distinct days in one export")
            self.temporary(day).parent.mkdir(parents=True, exist_ok=True)
            out = self.files[day] = open(self.temporary(day), "wb", buffering=1 << 20)
            out.write(RAW_HEADER.encode() + b"\n")
            self.rows[day] = 0
        out.write(line + b"\n")
        self.rows[day] += 1

    def commit(self) -> None:
        for day, out in self.files.items():
            out.close()
            os.replace(self.temporary(day), self.raw_root / day / f"{self.name}.csv")
            if day != UNDATED:
                (self.raw_root / day / COMPLETE_MARKER).touch()  # the day's input is whole

    def abandon(self) -> None:
        for day, out in self.files.items():
            out.close()
            self.temporary(day).unlink(missing_ok=True)


def _day_of(line: bytes, known: dict) -> str | None:
    """The line's event date (YYYY-MM-DD), or None when its first field does not start with one."""
    dated = DATED.match(line)
    if not dated:
        return None
    day = dated.group(1).decode()
    if day not in known:  # a new day: check it is a real date once
        try:
            date.fromisoformat(day)
        except ValueError:
            return None
    return day


def land(export: Path, raw_root: Path) -> dict:
    """Split ``export`` into daily files under ``raw_root``; returns the landing report."""
    name = export_name(export)
    days = _DayFiles(raw_root, name)
    undated, undated_rows, blank, line_number = [], 0, 0, 1
    try:
        with _open_export(export) as source:
            header = source.readline().rstrip(b"\r\n").removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace")
            if header != RAW_HEADER:
                raise LandingError(f"{export}: header is {header[:200]!r}, expected {RAW_HEADER!r}")
            for raw in source:
                line_number += 1
                line = raw.rstrip(b"\r\n")
                if not line:
                    blank += 1
                    continue
                day = _day_of(line, days.files)
                days.write(day or UNDATED, line)
                if day is None:
                    undated_rows += 1
                    if len(undated) < 100:  # the first ones, to look at; the count is complete
                        undated.append(line_number)
        days.commit()
    except BaseException:
        days.abandon()
        raise
    report = {
        "export": str(export),
        "rows_by_day": {d: n for d, n in sorted(days.rows.items()) if d != UNDATED},
        "undated_rows": undated_rows,
        "undated_line_numbers": undated,
        "blank_lines": blank,
    }
    _forget_days_no_longer_landed(raw_root, name, set(days.rows))
    reports = raw_root / REPORTS
    reports.mkdir(parents=True, exist_ok=True)
    (reports / f"{name}.json").write_text(json.dumps(report, indent=1, sort_keys=True))
    return report


def _forget_days_no_longer_landed(raw_root: Path, name: str, landed: set[str]) -> None:
    previous = raw_root / REPORTS / f"{name}.json"
    if not previous.exists():
        return
    before = json.loads(previous.read_text())
    for day in set(before["rows_by_day"]) | ({UNDATED} if before["undated_rows"] else set()):
        if day not in landed:
            (raw_root / day / f"{name}.csv").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path, help="the monthly export, .csv or .csv.gz")
    parser.add_argument("--raw-root", type=Path, default=Path(os.environ.get("RECSYS_RAW_ROOT", ".local/raw")),
                        help="the DAG's raw_root (default: $RECSYS_RAW_ROOT)")
    args = parser.parse_args(argv)
    report = land(args.export, args.raw_root)
    for day, rows in report["rows_by_day"].items():
        print(f"{day}  {rows:>12,} rows")
    total = sum(report["rows_by_day"].values())
    print(f"{len(report['rows_by_day'])} days, {total:,} rows landed under {args.raw_root}; "
          f"{report['blank_lines']} blank lines skipped")
    if report["undated_rows"]:
        print(f"{report['undated_rows']:,} lines could not be dated (first line numbers: "
              f"{report['undated_line_numbers'][:10]}); they are in {args.raw_root / UNDATED}", file=sys.stderr)
    if report["rows_by_day"]:
        first, last = min(report["rows_by_day"]), max(report["rows_by_day"])
        print(f"next: airflow backfill create --dag-id ecommerce_recommendations --from-date {first} --to-date {last}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
