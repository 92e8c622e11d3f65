"""Cleaning of the raw export: parse exactly, quarantine what breaks a rule, account for every row.

The raw files are read as text lines, not with the CSV reader, so that a bad row keeps its raw
bytes for the quarantine and every rule is ours: UTF-8, field count, timestamp with its ' UTC'
suffix, ids and prices in the export's own number forms, known event types, text that fits its
MySQL column. One row gets one reason: the first rule it breaks. What is changed on a good row
(padding trimmed, CSV quotes removed, an event type lower-cased) is counted in the report.
"""

from dataclasses import dataclass, replace
from datetime import date
from functools import reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from recsys.jobs import side_by_side
from recsys.parsing import HEADER, header_problems, line_counts, line_statistics, parse_lines
from recsys.raw_format import COMPLETE_MARKER, UNKNOWN
from recsys.reports import CleaningReport
from recsys.schema import CLEAN_EVENTS


class InputError(ValueError):
    """The day's input cannot be cleaned at all (missing, wrong header, too much bad data)."""


class ReconciliationError(RuntimeError):
    """The counts of what was read and what was written do not add up: rows were lost or made up."""


def deterministic_session_id(user_id: Column, event_date: Column) -> Column:
    """A UUID-shaped id from (user, date): the same input always yields the same session."""
    digest = F.sha2(F.concat_ws("|", F.lit("recsys-session"), user_id, event_date), 256)
    parts = [F.substring(digest, start, length) for start, length in
             ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))]
    return F.concat_ws("-", *parts)


def _split_code(code: Column, level: int) -> Column:
    part = F.get(F.split(code, r"\."), level)
    return F.when(part.isNull() | (part == ""), F.lit(UNKNOWN)).otherwise(part)


def with_sessions(valid: DataFrame) -> DataFrame:
    """The rows that passed the rules, each with a session: a missing one is made from the user and
    the date, and flagged."""
    missing = F.col("user_session") == ""
    return valid.select(
        "event_time", "event_type", "product_id", "category_id", "category_code", "brand", "price", "user_id",
        F.when(missing, deterministic_session_id(F.col("user_id"), F.to_date("event_time")))
        .otherwise(F.col("user_session")).alias("user_session"),
        missing.alias("user_session_generated"),
    )


def enrich(events: DataFrame) -> DataFrame:
    """Fill and flag missing category codes and brands, split the category code, date the events:
    the clean events' columns."""
    code_missing = F.col("category_code") == ""
    brand_missing = F.col("brand") == ""
    code = F.when(code_missing, F.lit(UNKNOWN)).otherwise(F.col("category_code"))
    return events.select(
        "event_time",
        "event_type",
        "product_id",
        "category_id",
        code.alias("category_code"),
        code_missing.alias("category_code_missing"),
        _split_code(code, 0).alias("category"),
        _split_code(code, 1).alias("sub_category"),
        # The product type is the last level ('electronics.smartphone' has no third level).
        F.when(F.size(F.split(code, r"\.")) >= 3, _split_code(code, 2))
        .otherwise(_split_code(code, 1))
        .alias("product_type"),
        F.when(brand_missing, F.lit(UNKNOWN)).otherwise(F.col("brand")).alias("brand"),
        brand_missing.alias("brand_missing"),
        "price",
        "user_id",
        "user_session",
        "user_session_generated",
        F.to_date("event_time").alias("event_date"),
    )


CART_KEY = ["user_id", "product_id", "user_session"]
# The columns besides the cart key that an exact duplicate repeats (the clean events' others derive
# from these), in the order that puts a key's carts together, first by time. Code and brand as
# given: an empty one differs from one given as 'unknown'.
_REST = ["event_type", "event_time", "category_id", "price", "category_code", "brand", "user_session_generated"]


def mark_duplicates_and_carts(events: DataFrame) -> DataFrame:
    """``_duplicate`` marks each exact copy of a row before it; ``_repeated_cart`` each cart event
    of a (user, product, session) after its first, by time.

    One sort serves both: within a cart key, rows ordered by all their other columns have their
    copies next to them and the key's carts together. (A hash aggregate over whole rows, then a
    window, took twice as long.)"""
    by_key = Window.partitionBy(*CART_KEY).orderBy(*_REST)
    previous = {name: F.lag(name).over(by_key) for name in _REST}
    same = [previous[name] == F.col(name) for name in _REST]
    duplicate = F.coalesce(reduce(lambda a, b: a & b, same), F.lit(False))
    is_cart = F.col("event_type") == "cart"
    after_a_cart = F.coalesce(previous["event_type"] == "cart", F.lit(False))
    return events.select("*", duplicate.alias("_duplicate")).withColumn(
        "_repeated_cart", is_cart & ~F.col("_duplicate") & after_a_cart)


@dataclass
class CleaningResult:
    clean: DataFrame
    quarantine: DataFrame
    report: CleaningReport


def clean_raw_lines(lines: DataFrame, ingest_date: date, window_days: int = 1) -> CleaningResult:
    """Everything from one ingest date's raw lines to clean events, with the counts for the
    reconciliation (``reconciliation_problems``), each measured on its own: lines read and rows
    passing the rules from the line statistics, quarantined rows on the quarantine, duplicates and
    collapsed carts on the deduplicated events. Raises InputError when a file lacks the header.
    """
    rejected = F.col("reject_reason").isNotNull() & (F.col("reject_reason") != HEADER)
    # Parse once: every later step reads this cache. Only rejected rows keep their raw text,
    # which keeps the cache small.
    parsed = parse_lines(lines, ingest_date, window_days)
    parsed = parsed.withColumn("raw_line", F.when(rejected, F.col("raw_line"))).cache()
    stats = line_statistics(parsed)
    problems = header_problems(stats)
    if problems:
        parsed.unpersist()
        raise InputError("wrong header: " + "; ".join(problems))
    counts = line_counts(stats)
    rows_valid = sum(s["rows"] for s in stats if s["reject_reason"] is None)
    quarantine = parsed.where(rejected).select("raw_line", "source_file", "reject_reason").cache()
    # Copies are found before the events are enriched: the sort moves fewer columns.
    marked = mark_duplicates_and_carts(with_sessions(parsed.where(F.col("reject_reason").isNull()))).cache()
    by_date = marked.groupBy(F.to_date("event_time").alias("event_date")).agg(
        F.sum((~F.col("_duplicate")).cast("long")).alias("rows"),
        F.sum(F.col("_repeated_cart").cast("long")).alias("repeated"),
    )
    rows_quarantined, per_date = side_by_side(quarantine.count, by_date.collect)
    rows_deduplicated = sum(r["rows"] for r in per_date)
    carts_collapsed = sum(r["repeated"] for r in per_date)
    report = CleaningReport(
        ingest_date=ingest_date,
        **{**counts, "rows_quarantined": rows_quarantined},
        rows_clean=rows_deduplicated - carts_collapsed,
        duplicates_removed=rows_valid - rows_deduplicated,
        carts_collapsed=carts_collapsed,
        clean_rows_by_event_date={
            r["event_date"].isoformat(): r["rows"] - r["repeated"]
            for r in sorted(per_date, key=lambda r: r["event_date"])
        },
    )
    parsed.unpersist()  # the outputs now stand on their own caches
    clean = enrich(marked.where(~F.col("_duplicate") & ~F.col("_repeated_cart")))
    return CleaningResult(clean=clean, quarantine=quarantine, report=report)


QUARANTINE_SCHEMA = "raw_line string, source_file string, reject_reason string"


def count_written(spark, report: CleaningReport, events_path: str, quarantine_path: str) -> CleaningReport:
    """The report with its clean and quarantined counts taken from the files just written, so
    that the reconciliation compares the lines read with what actually landed."""
    per_date, quarantined = side_by_side(
        spark.read.schema(CLEAN_EVENTS).parquet(events_path).groupBy("event_date").count().collect,
        spark.read.schema(QUARANTINE_SCHEMA).parquet(quarantine_path).count)
    by_date = {r["event_date"].isoformat(): r["count"] for r in sorted(per_date, key=lambda r: r["event_date"])}
    return replace(report, rows_clean=sum(by_date.values()), clean_rows_by_event_date=by_date,
                   rows_quarantined=quarantined)


def reconciliation_problems(report: CleaningReport) -> list[str]:
    """What does not add up in a cleaning report: every line read is clean, quarantined, a
    duplicate or a repeated cart, and the breakdowns match their totals."""
    accounted = report.rows_clean + report.rows_quarantined + report.duplicates_removed + report.carts_collapsed
    checks = {
        f"rows read {report.rows_read} != clean {report.rows_clean} + quarantined {report.rows_quarantined} "
        f"+ duplicates {report.duplicates_removed} + repeated carts {report.carts_collapsed} = {accounted}":
            report.rows_read == accounted,
        f"quarantine reasons add up to {sum(report.quarantine_reasons_json.values())}, "
        f"not {report.rows_quarantined}": sum(report.quarantine_reasons_json.values()) == report.rows_quarantined,
        f"clean rows by event date add up to {sum(report.clean_rows_by_event_date.values())}, "
        f"not {report.rows_clean}": sum(report.clean_rows_by_event_date.values()) == report.rows_clean,
    }
    return [problem for problem, holds in checks.items() if not holds]


def check_cleaned_day(report: CleaningReport, max_share: float, where: str, marked_complete: bool,
                      earlier: CleaningReport | None) -> None:
    """Refuse a day's cleaning, before anything is written, when its input cannot be trusted: no
    data rows unless the exporter marked the day complete (a store can have a day without events;
    a truncated export looks the same), never an empty input in place of a day that had events,
    and no more than ``max_share`` of the rows read quarantined."""
    read = report.rows_read
    if read == 0:
        if not marked_complete:
            raise InputError(f"{where}: the input holds no data rows and the day is not marked complete "
                             f"({COMPLETE_MARKER}): an exporter marks a day that truly had no events")
        if earlier is not None and earlier.rows_clean > 0:
            raise InputError(f"{where}: the input holds no data rows; refusing to replace the "
                             f"{earlier.rows_clean} clean events cleaned before for that day with none")
        return
    share = report.rows_quarantined / read
    if share > max_share:
        reasons = ", ".join(f"{k}={v}" for k, v in report.quarantine_reasons_json.items())
        files = ", ".join(f"{k}: {v}" for k, v in report.quarantined_by_file.items())
        raise InputError(
            f"{where}: {report.rows_quarantined} of {read} rows ({share:.1%}) were quarantined, "
            f"above the limit of {max_share:.1%}; reasons: {reasons}; files: {files}"
        )
