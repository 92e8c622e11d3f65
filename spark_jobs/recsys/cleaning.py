"""Cleaning of the raw export: parse exactly, quarantine what breaks a rule, account for every row.

The raw files are read as text lines, not with the CSV reader, so that a bad row keeps its raw
text for the quarantine and every rule is ours: field count, timestamp with its ' UTC' suffix,
64-bit ids, known event types, sane prices. One row gets one reason: the first rule it breaks.
"""

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from recsys.schema import (
    EVENT_TYPES,
    MAX_PRICE,
    PRICE_TYPE,
    RAW_COLUMNS,
    RAW_HEADER,
    RAW_TIME_FORMAT,
    UNKNOWN,
)


class InputError(ValueError):
    """The day's input cannot be cleaned at all (missing, wrong header, too much bad data)."""


def read_raw_lines(spark, paths: list[str]) -> DataFrame:
    """Raw lines with the file each came from; CRLF endings lose their CR, .gz is decompressed."""
    return spark.read.text(paths).select(
        F.regexp_replace("value", "\r$", "").alias("raw_line"),
        F.col("_metadata.file_path").alias("source_file"),
    )


def header_problems(lines: DataFrame) -> list[str]:
    """One message per file that lacks the export's header line."""
    per_file = lines.groupBy("source_file").agg(
        F.sum((F.col("raw_line") == RAW_HEADER).cast("int")).alias("headers")
    )
    return [
        f"{row.source_file}: no header line '{RAW_HEADER}'"
        for row in per_file.where("headers = 0").orderBy("source_file").collect()
    ]


def _field(i: int) -> Column:
    return F.trim(F.get(F.col("fields"), i))


def _reason_for_id(raw: Column, parsed: Column, name: str) -> Column:
    return (
        F.when(raw == "", F.lit(f"missing_{name}"))
        .when(parsed.isNull() | (parsed <= 0), F.lit(f"bad_{name}"))
    )


def parse_lines(lines: DataFrame) -> DataFrame:
    """Parse data lines (header lines removed) into typed columns plus ``reject_reason``.

    ``reject_reason`` is null for a good row. Raw text and source file are kept on every row.
    """
    data = lines.where(F.col("raw_line") != RAW_HEADER)
    fields = data.withColumn("fields", F.split("raw_line", ",", -1))
    raw = {name: _field(i) for i, name in enumerate(RAW_COLUMNS)}
    parsed = {
        "event_time": F.try_to_timestamp(raw["event_time"], F.lit(RAW_TIME_FORMAT)),
        "event_type": F.lower(raw["event_type"]),
        "product_id": raw["product_id"].try_cast("bigint"),
        "category_id": raw["category_id"].try_cast("bigint"),
        "price": raw["price"].try_cast(PRICE_TYPE),
        "user_id": raw["user_id"].try_cast("bigint"),
    }
    reason = F.coalesce(
        F.when(F.col("raw_line") == "", F.lit("blank_line")),
        F.when(F.size("fields") != len(RAW_COLUMNS), F.lit("wrong_field_count")),
        F.when(parsed["event_time"].isNull(), F.lit("bad_event_time")),
        F.when(~parsed["event_type"].isin(*EVENT_TYPES), F.lit("unknown_event_type")),
        _reason_for_id(raw["product_id"], parsed["product_id"], "product_id"),
        _reason_for_id(raw["category_id"], parsed["category_id"], "category_id"),
        F.when(raw["price"] == "", F.lit("missing_price"))
        .when(parsed["price"].isNull(), F.lit("bad_price"))
        .when(parsed["price"] < 0, F.lit("negative_price"))
        .when(parsed["price"] > MAX_PRICE, F.lit("absurd_price")),
        _reason_for_id(raw["user_id"], parsed["user_id"], "user_id"),
    )
    return fields.select(
        "raw_line",
        "source_file",
        *[expr.alias(name) for name, expr in parsed.items()],
        raw["category_code"].alias("category_code"),
        raw["brand"].alias("brand"),
        raw["user_session"].alias("user_session"),
        reason.alias("reject_reason"),
    )


def missing_value_report(parsed: DataFrame) -> dict[str, int]:
    """Empty fields per raw column, counted over the rows that have the right field count."""
    counted = parsed.where(
        F.col("reject_reason").isNull()
        | ~F.col("reject_reason").isin("blank_line", "wrong_field_count")
    )
    fields = F.split("raw_line", ",", -1)
    row = counted.agg(
        *[
            F.sum((F.trim(F.get(fields, i)) == "").cast("int")).alias(name)
            for i, name in enumerate(RAW_COLUMNS)
        ]
    ).first()
    return {name: int(row[name] or 0) for name in RAW_COLUMNS}


def deterministic_session_id(user_id: Column, event_date: Column) -> Column:
    """A UUID-shaped id from (user, date): the same input always yields the same session."""
    digest = F.sha2(F.concat_ws("|", F.lit("recsys-session"), user_id, event_date), 256)
    parts = [F.substring(digest, start, length) for start, length in
             ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))]
    return F.concat_ws("-", *parts)


def _split_code(code: Column, level: int) -> Column:
    part = F.get(F.split(code, r"\."), level)
    return F.when(part.isNull() | (part == ""), F.lit(UNKNOWN)).otherwise(part)


def enrich(valid: DataFrame) -> DataFrame:
    """Fill and flag missing category codes, brands and sessions; split the category code."""
    code_missing = F.col("category_code") == ""
    brand_missing = F.col("brand") == ""
    session_missing = F.col("user_session") == ""
    event_date = F.to_date("event_time")
    code = F.when(code_missing, F.lit(UNKNOWN)).otherwise(F.col("category_code"))
    return valid.select(
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
        F.when(session_missing, deterministic_session_id(F.col("user_id"), event_date))
        .otherwise(F.col("user_session"))
        .alias("user_session"),
        session_missing.alias("user_session_generated"),
        event_date.alias("event_date"),
    )


def collapse_repeated_carts(events: DataFrame) -> DataFrame:
    """Keep only the first cart event of each (user, product, session); other types pass."""
    key = ["user_id", "product_id", "user_session"]
    first = Window.partitionBy(*key).orderBy("event_time", "category_id", "price")
    carts = (
        events.where(F.col("event_type") == "cart")
        .withColumn("_n", F.row_number().over(first))
        .where("_n = 1")
        .drop("_n")
    )
    return events.where(F.col("event_type") != "cart").unionByName(carts)


@dataclass
class CleaningResult:
    clean: DataFrame
    quarantine: DataFrame
    report: dict


def clean_events(lines: DataFrame) -> CleaningResult:
    """Everything from raw lines to clean events, with the reconciliation of the counts.

    rows_read = rows_clean + rows_quarantined + duplicates_removed + carts_collapsed
    """
    parsed = parse_lines(lines).cache()
    quarantine = parsed.where(F.col("reject_reason").isNotNull()).select(
        "raw_line", "source_file", "reject_reason"
    )
    valid = parsed.where(F.col("reject_reason").isNull()).drop("raw_line", "source_file")
    deduplicated = valid.drop("reject_reason").dropDuplicates()
    clean = collapse_repeated_carts(enrich(deduplicated)).cache()

    reasons = {r.reject_reason: r["count"] for r in quarantine.groupBy("reject_reason").count().collect()}
    rows_read = parsed.count()
    rows_valid = rows_read - sum(reasons.values())
    rows_deduplicated = deduplicated.count()
    rows_clean = clean.count()
    report = {
        "rows_read": rows_read,
        "rows_clean": rows_clean,
        "rows_quarantined": sum(reasons.values()),
        "quarantine_reasons": dict(sorted(reasons.items())),
        "duplicates_removed": rows_valid - rows_deduplicated,
        "carts_collapsed": rows_deduplicated - rows_clean,
        "missing_values": missing_value_report(parsed),
        "clean_rows_by_event_date": {
            r.event_date.isoformat(): r["count"]
            for r in clean.groupBy("event_date").count().orderBy("event_date").collect()
        },
    }
    return CleaningResult(clean=clean, quarantine=quarantine, report=report)


def check_quarantine_share(report: dict, max_share: float, where: str) -> None:
    """Fail when more than ``max_share`` of the rows read were quarantined."""
    read = report["rows_read"]
    if read == 0:
        raise InputError(f"{where}: the input holds no data rows")
    share = report["rows_quarantined"] / read
    if share > max_share:
        top = ", ".join(f"{k}={v}" for k, v in report["quarantine_reasons"].items())
        raise InputError(
            f"{where}: {report['rows_quarantined']} of {read} rows ({share:.1%}) were quarantined, "
            f"above the limit of {max_share:.1%} ({top})"
        )
