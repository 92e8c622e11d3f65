"""Parsing the raw export's lines: each field by the export's rules, one reason for a line that
breaks one (the first), and one pass of statistics over every line (the header check, the
quarantine counts, the missing values, what cleaning changed). The rules themselves:
``recsys.raw_format``; the rest of cleaning: ``recsys.cleaning``."""

from datetime import date
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from recsys.raw_format import (
    EVENT_TYPES,
    ID_PATTERN,
    MAX_CATEGORY_LEVEL_CHARS,
    MAX_CHARS,
    MAX_PRICE,
    PRICE_PATTERN,
    RAW_COLUMNS,
    RAW_HEADER,
    RAW_TIME_FORMAT,
)
from recsys.schema import PRICE_TYPE


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
CONTROL_CHARACTER = "[\\x00-\\x1f\\x7f]"  # C0 and DEL (a line's CR and LF are not in it)


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
        # A tab, a vertical tab, a NUL...: Spark, MySQL and Tableau would each treat it their own way.
        F.when(F.col("raw_line").rlike(CONTROL_CHARACTER), F.lit("control_character")),
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


def line_counts(stats: list[dict]) -> dict:
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
