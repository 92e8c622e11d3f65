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
from recsys.raw_format import (
    COMPLETE_MARKER,
    EVENT_TYPES,
    ID_PATTERN,
    MAX_CATEGORY_LEVEL_CHARS,
    MAX_CHARS,
    MAX_PRICE,
    PRICE_PATTERN,
    RAW_COLUMNS,
    RAW_HEADER,
    RAW_TIME_FORMAT,
    UNKNOWN,
)
from recsys.reports import CleaningReport
from recsys.schema import CLEAN_EVENTS, PRICE_TYPE


class InputError(ValueError):
    """The day's input cannot be cleaned at all (missing, wrong header, too much bad data)."""


class ReconciliationError(RuntimeError):
    """The counts of what was read and what was written do not add up: rows were lost or made up."""


def read_raw_lines(spark, paths: list[str]) -> DataFrame:
    """Raw lines with the file each came from; CRLF endings lose their CR, .gz is decompressed.

    A line that is not UTF-8 is kept byte for byte (Spark holds a line's bytes as read; any
    string function would replace the bad bytes), for the quarantine to show exactly."""
    value = F.col("value")
    without_cr = F.when(value.endswith("\r"), value.substr(F.lit(1), F.length(value) - 1)).otherwise(value)
    return spark.read.text(paths).select(
        F.when(F.is_valid_utf8(value), without_cr).otherwise(value).alias("raw_line"),
        F.col("_metadata.file_path").alias("source_file"),
    )


def _reason_for_id(raw: Column, parsed: Column, name: str) -> Column:
    return (
        F.when(raw == "", F.lit(f"missing_{name}"))
        .when(~raw.rlike(ID_PATTERN) | parsed.isNull(), F.lit(f"bad_{name}"))
    )


# A comma outside double quotes, and a field quoted as CSV writers quote ("" for a quote inside).
_COMMA_OUTSIDE_QUOTES = r',(?=(?:[^"]*"[^"]*")*[^"]*$)'
_QUOTED_FIELD = r'^"((?:[^"]|"")*)"$'


def _inner(text: Column) -> Column:
    return F.regexp_replace(F.regexp_extract(text, _QUOTED_FIELD, 1), '""', '"')


def _unquoted(text: Column) -> Column:
    return F.when(text.rlike(_QUOTED_FIELD), F.trim(_inner(text))).otherwise(text)


def _split_fields(lines: DataFrame) -> DataFrame:
    """Each field of the nine, trimmed and unquoted, as ``_raw_<name>``; ``_n_fields``; and flags
    for the rules and the counted normalisations.

    Only a line holding a quote takes the slow, quote-aware split and the unquoting. The
    unquoting is written once, over the fields as an array: nine copies of it made the generated
    code of the parse too large for the JVM to compile (over 8,000 bytes of bytecode a method, it
    interprets them), and its higher-order functions also keep the projection before it and the
    one after it in generated code of their own size."""
    has_quote = F.col("raw_line").contains('"')
    split = lines.select(
        "raw_line", "source_file", has_quote.alias("_has_quote"),
        F.when(has_quote, F.split("raw_line", _COMMA_OUTSIDE_QUOTES, -1))
        .otherwise(F.split("raw_line", ",", -1)).alias("_fields"),
    )
    trimmed = split.select(
        "raw_line", "source_file", "_has_quote", F.size("_fields").alias("_n_fields"),
        *[F.trim(F.get(F.col("_fields"), i)).alias(f"_trimmed_{n}") for i, n in enumerate(RAW_COLUMNS)],
    )
    text = [F.col(f"_trimmed_{n}") for n in RAW_COLUMNS]
    fields = F.array(*text)
    quoted = lambda t: t.rlike(_QUOTED_FIELD)  # noqa: E731
    only_quoted = lambda flag: F.coalesce(F.col("_has_quote") & flag, F.lit(False))  # noqa: E731
    unquoted = trimmed.select(
        "raw_line", "source_file", "_n_fields", "_has_quote", *text,
        F.when(F.col("_has_quote"), F.transform(fields, _unquoted)).alias("_unquoted"),
        only_quoted(F.exists(fields, quoted)).alias("_quoted"),
        only_quoted(F.exists(fields, lambda t: t.contains('"') & ~quoted(t))).alias("_misquoted"),
        # A line's nine fields joined again after trimming differ from it when one was padded
        # (a quote-aware split removes the separating commas only); then padding inside quotes.
        ((F.concat_ws(",", *text) != F.col("raw_line"))
         | only_quoted(F.exists(fields, lambda t: quoted(t) & (_inner(t) != F.trim(_inner(t))))))
        .alias("_padded"),
    )
    return unquoted.select(
        "raw_line", "source_file", "_n_fields", "_quoted", "_misquoted", "_padded",
        *[F.when(F.col("_has_quote"), F.get(F.col("_unquoted"), i)).otherwise(text[i]).alias(f"_raw_{n}")
          for i, n in enumerate(RAW_COLUMNS)],
    )


def _too_long(value: Column, name: str) -> Column:
    return F.when(F.length(value) > MAX_CHARS[name], F.lit(f"{name}_too_long"))


HEADER = "header"  # the reject_reason of a header line, which is not data


def parse_lines(lines: DataFrame, ingest_date: date, window_days: int) -> DataFrame:
    """Parse lines into typed columns plus ``reject_reason``.

    ``reject_reason`` is null for a good row and ``header`` for a header line. Raw text and
    source file are kept on every row. A row dated more than ``window_days`` from its file's
    ``ingest_date`` is out of range: kept, it would open a lake partition per stray date.
    """
    # Split, trim, cast and judge in separate projections, so that each field is computed
    # once and reused rather than re-derived inside every rule.
    raw = {name: F.col(f"_raw_{name}") for name in RAW_COLUMNS}
    typed = _split_fields(lines).select(
        "*",
        F.try_to_timestamp(raw["event_time"], F.lit(RAW_TIME_FORMAT)).alias("event_time"),
        F.lower(raw["event_type"]).alias("event_type"),
        raw["product_id"].try_cast("bigint").alias("product_id"),
        raw["category_id"].try_cast("bigint").alias("category_id"),
        raw["price"].try_cast(PRICE_TYPE).alias("price"),
        raw["user_id"].try_cast("bigint").alias("user_id"),
    )
    reason = F.coalesce(
        F.when(F.col("raw_line") == RAW_HEADER, F.lit(HEADER)),
        F.when(F.col("raw_line") == "", F.lit("blank_line")),
        F.when(~F.is_valid_utf8("raw_line"), F.lit("bad_encoding")),
        F.when(F.col("_misquoted"), F.lit("bad_quoting")),
        F.when(F.col("_n_fields") != len(RAW_COLUMNS), F.lit("wrong_field_count")),
        F.when(F.col("event_time").isNull(), F.lit("bad_event_time")),
        F.when(F.abs(F.datediff(F.to_date("event_time"), F.lit(ingest_date))) > window_days,
               F.lit("event_time_out_of_range")),
        F.when(~F.col("event_type").isin(*EVENT_TYPES), F.lit("unknown_event_type")),
        _reason_for_id(raw["product_id"], F.col("product_id"), "product_id"),
        _reason_for_id(raw["category_id"], F.col("category_id"), "category_id"),
        _too_long(raw["category_code"], "category_code"),
        # A level longer than the limit is a run of that many characters without a dot. (A
        # higher-order function over the split levels would take the whole projection out of
        # generated code: it made the parse four times slower.)
        F.when(raw["category_code"].rlike(f"[^.]{{{MAX_CATEGORY_LEVEL_CHARS + 1},}}"),
               F.lit("category_code_too_long")),
        _too_long(raw["brand"], "brand"),
        F.when(raw["price"] == "", F.lit("missing_price"))
        .when(~raw["price"].rlike(PRICE_PATTERN) | F.col("price").isNull(), F.lit("bad_price"))
        .when(F.col("price") < 0, F.lit("negative_price"))
        .when(F.col("price") > MAX_PRICE, F.lit("absurd_price")),
        _reason_for_id(raw["user_id"], F.col("user_id"), "user_id"),
    )
    return typed.select(
        "raw_line",
        "source_file",
        "event_time", "event_type", "product_id", "category_id", "price", "user_id",
        raw["category_code"].alias("category_code"),
        raw["brand"].alias("brand"),
        raw["user_session"].alias("user_session"),
        reason.alias("reject_reason"),
        _counted(raw).alias("_counted"),
    )


NORMALISATIONS = ("event_type_case", "padded_fields", "quoted_fields")
# What the line statistics count, one bit of ``_counted`` each: the raw fields left empty, and what
# cleaning changes on a row (counted over the rows that pass the rules). One integer rather than
# twelve flags: the parsed lines are cached, and twelve flag columns made caching 2 million lines
# 2.5 s slower.
COUNTED = (*RAW_COLUMNS, *NORMALISATIONS)


def _counted(raw: dict) -> Column:
    flags = {
        **{name: raw[name] == "" for name in RAW_COLUMNS},
        "padded_fields": F.col("_padded"),
        "quoted_fields": F.col("_quoted"),
        "event_type_case": raw["event_type"] != F.lower(raw["event_type"]),
    }
    bits = [F.when(flags[name], F.lit(1 << bit)).otherwise(F.lit(0)) for bit, name in enumerate(COUNTED)]
    return reduce(lambda a, b: a.bitwiseOR(b), bits)


def line_statistics(parsed: DataFrame) -> list[dict]:
    """One small aggregate per (file, reason) over all lines: the single pass that gives the
    header check, the quarantine counts and the missing-value report."""
    counts = [F.sum(F.shiftright("_counted", bit).bitwiseAND(1).cast("long")).alias(name)
              for bit, name in enumerate(COUNTED)]
    grouped = parsed.groupBy("source_file", "reject_reason").agg(F.count(F.lit(1)).alias("rows"), *counts)
    return [row.asDict() for row in grouped.collect()]


def header_problems(stats: list[dict]) -> list[str]:
    """One message per file that lacks the export's header line."""
    files = sorted({s["source_file"] for s in stats})
    with_header = {s["source_file"] for s in stats if s["reject_reason"] == HEADER}
    return [f"{f}: no header line '{RAW_HEADER}'" for f in files if f not in with_header]


def _line_counts(stats: list[dict]) -> dict:
    """The report's counts that the line statistics give (named as CleaningReport's fields)."""
    data = [s for s in stats if s["reject_reason"] != HEADER]
    reasons, by_file = {}, {}
    for s in data:
        if s["reject_reason"] is not None:
            reasons[s["reject_reason"]] = reasons.get(s["reject_reason"], 0) + s["rows"]
            by_file[s["source_file"]] = by_file.get(s["source_file"], 0) + s["rows"]
    # Empty fields are counted over the rows that have the export's nine fields.
    shaped = [s for s in data if s["reject_reason"] not in ("blank_line", "wrong_field_count")]
    files = sorted({s["source_file"] for s in stats})
    return {
        "files": len(files),
        "source_files": files,
        "rows_read": sum(s["rows"] for s in data),
        "rows_quarantined": sum(reasons.values()),
        "quarantine_reasons_json": dict(sorted(reasons.items())),
        "quarantined_by_file": dict(sorted(by_file.items())),
        "missing_values_json": {name: sum(s[name] or 0 for s in shaped) for name in RAW_COLUMNS},
        "normalisations_json": {kind: sum(s[kind] or 0 for s in data if s["reject_reason"] is None)
                                for kind in NORMALISATIONS},
    }


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
    counts = _line_counts(stats)
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
