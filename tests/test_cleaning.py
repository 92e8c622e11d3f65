"""Cleaning on a hand-written messy day whose right answer is known line by line."""

import gzip
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from itertools import zip_longest

from pyspark.sql import functions as F

from recsys.cleaning import (
    clean_raw_lines,
    deterministic_session_id,
    enrich,
    mark_duplicates_and_carts,
    reconciliation_problems,
    with_sessions,
)
from recsys.parsing import parse_lines, read_raw_lines
from recsys.raw_format import BYTE_ORDER_MARK, RAW_HEADER
from recsys.schema import CLEAN_EVENTS
from tests.helpers import write_raw

DAY = date(2019, 10, 1)

S1 = "aaaaaaaa-0000-4000-8000-000000000001"
S2 = "bbbbbbbb-0000-4000-8000-000000000002"
CAT = "2053013555631882655"
GOOD = [
    f"2019-10-01 10:00:00 UTC,view,1001,{CAT},electronics.audio.headphone,sony,99.90,5001,{S1}",
    f"2019-10-01 10:01:00 UTC,cart,1001,{CAT},electronics.audio.headphone,sony,99.90,5001,{S1}",
    f"2019-10-01 10:02:00 UTC,cart,1001,{CAT},electronics.audio.headphone,sony,99.90,5001,{S1}",
    f"2019-10-01 10:05:00 UTC,purchase,1001,{CAT},electronics.audio.headphone,sony,99.90,5001,{S1}",
    f"2019-10-01 10:00:00 UTC,view,1001,{CAT},electronics.audio.headphone,sony,99.90,5001,{S1}",
    f"2019-10-01 11:00:00 UTC,view,1002,{CAT},,,10.00,5002,{S2}",
    f"2019-10-01 12:00:00 UTC,view,1003,{CAT},electronics.smartphone,apple,700.00,5003,",
    f"2019-10-01 12:30:00 UTC, VIEW ,1003,{CAT},electronics.smartphone,apple,700.00,5002,{S2}",
    f"2019-10-01 12:31:00 UTC,remove_from_cart,1003,{CAT},electronics.smartphone,apple,700.00,5002,{S2}",
    f"2019-09-30 23:59:59 UTC,view,1002,{CAT},,,10.00,5002,{S2}",
    # Quoted as a CSV writer would (a comma and a doubled quote inside): unquoted, and counted.
    f'2019-10-01 13:00:00 UTC,view,1004,{CAT},electronics.tablet,"apple, ""inc""",300.00,5004,{S2}',
    f"2019-10-01 13:05:00 UTC,view,1005,{CAT},electronics.tablet,{'b' * 191},0.5,5004,{S2}",  # as long as MySQL holds
]
BAD = {
    "2019-10-01 10:00:00 UTC,view,1001": "wrong_field_count",
    f"2019-10-01 10:00:00 UTC,view,1001,{CAT},a.b,x,1.00,5001,{S1},extra": "wrong_field_count",
    f"2019-13-01 10:00:00 UTC,view,1001,{CAT},a.b,x,1.00,5001,{S1}": "bad_event_time",
    f"2019-10-01 10:00:00,view,1001,{CAT},a.b,x,1.00,5001,{S1}": "bad_event_time",
    f"2019-10-01 10:00:00 UTC,click,1001,{CAT},a.b,x,1.00,5001,{S1}": "unknown_event_type",
    f"2019-10-01 10:00:00 UTC,view,,{CAT},a.b,x,1.00,5001,{S1}": "missing_product_id",
    f"2019-10-01 10:00:00 UTC,view,abc,{CAT},a.b,x,1.00,5001,{S1}": "bad_product_id",
    f"2019-10-01 10:00:00 UTC,view,1001,x,a.b,x,1.00,5001,{S1}": "bad_category_id",
    f"2019-10-01 10:00:00 UTC,view,1001,,a.b,x,1.00,5001,{S1}": "missing_category_id",
    f"2019-10-01 10:00:00 UTC,view,0,{CAT},a.b,x,1.00,5001,{S1}": "bad_product_id",
    f"2019-10-01 10:00:00 UTC,view,1001,{CAT},a.b,x,,5001,{S1}": "missing_price",
    f"2019-10-01 10:00:00 UTC,view,1001,{CAT},a.b,x,ten,5001,{S1}": "bad_price",
    f"2019-10-01 10:00:00 UTC,view,1001,{CAT},a.b,x,-1.00,5001,{S1}": "negative_price",
    f"2019-10-01 10:00:00 UTC,view,1001,{CAT},a.b,x,1000000.00,5001,{S1}": "absurd_price",
    f"2019-10-01 10:00:00 UTC,view,1001,{CAT},a.b,x,1.00,,{S1}": "missing_user_id",
    f"2019-10-01 10:00:00 UTC,view,1001,{CAT},a.b,x,1.00,12a,{S1}": "bad_user_id",
    "": "blank_line",
    f'2019-10-01 10:00:00 UTC,view,1001,{CAT},a.b,"x,1.00,5001,{S1}': "bad_quoting",  # never closed
    f'2019-10-01 10:00:00 UTC,view,1001,{CAT},a.b,x"y,1.00,5001,{S1}': "bad_quoting",  # a quote in a bare field
    f"2019-10-01 10:00:00 UTC,view,1001,{CAT},a.b,{'b' * 192},1.00,5001,{S1}": "brand_too_long",
    f"2019-10-01 10:00:00 UTC,view,1001,{CAT},a.{'c' * 190},x,1.00,5001,{S1}": "category_code_too_long",
    f"2019-10-01 10:00:00 UTC,view,1001,{CAT},a.{'c' * 65},x,1.00,5001,{S1}": "category_code_too_long",  # a level
    # Number forms the export never writes: quarantined, not read as 1000, 12, 7, -0.00 or 1.01.
    f"2019-10-01 10:00:00 UTC,view,1001,{CAT},a.b,x,1e3,5001,{S1}": "bad_price",
    f"2019-10-01 10:00:00 UTC,view,+12,{CAT},a.b,x,1.00,5001,{S1}": "bad_product_id",
    f"2019-10-01 10:00:00 UTC,view,1001,007,a.b,x,1.00,5001,{S1}": "bad_category_id",
    f"2019-10-01 10:00:00 UTC,view,1001,{CAT},a.b,x,-0.004,5001,{S1}": "bad_price",
    f"2019-10-01 10:00:00 UTC,view,1001,{CAT},a.b,x,1.005,5001,{S1}": "bad_price",
    f"2019-10-01 10:00:00 UTC,view,1001,{CAT},a.b,x,1.00,12345678901234567890,{S1}": "bad_user_id",  # 20 digits
}
# Latin-1, not UTF-8: quarantined as bad_encoding with its bytes as they were.
NOT_UTF8 = f"2019-10-01 10:00:00 UTC,view,1001,{CAT},a.b,caf".encode() + b"\xe9" + f",1.00,5001,{S1}".encode()
TRUNCATED = "2019-10-01 12:00:00 UTC,view,10"


def messy_day(root, newline="\n"):
    """The good and bad lines interleaved, then a line that is not UTF-8, ending in a truncated
    line with no newline."""
    lines = [x for pair in zip_longest(GOOD, BAD) for x in pair if x is not None]
    path = write_raw(root, "2019-10-01", lines, newline=newline)
    with open(path, "ab") as f:
        f.write(NOT_UTF8 + newline.encode() + TRUNCATED.encode())
    return path


def run_clean(spark, path):
    return clean_raw_lines(read_raw_lines(spark, [str(path)]), DAY)


def test_clean_rows_are_exactly_the_expected_ones(spark, tmp_path):
    result = run_clean(spark, messy_day(tmp_path))
    assert [(f.name, f.dataType) for f in result.clean.schema] == [(f.name, f.dataType) for f in CLEAN_EVENTS]
    rows = sorted(
        (r.event_time, r.event_type, r.user_id, r.product_id, r.category_code, r.category,
         r.sub_category, r.product_type, r.brand, r.category_code_missing, r.brand_missing,
         r.price, r.user_session_generated, r.event_date)
        for r in result.clean.collect()
    )
    hp = ("electronics.audio.headphone", "electronics", "audio", "headphone", "sony", False, False)
    phone = ("electronics.smartphone", "electronics", "smartphone", "smartphone", "apple", False, False)
    unknown = ("unknown", "unknown", "unknown", "unknown", "unknown", True, True)
    tablet = ("electronics.tablet", "electronics", "tablet", "tablet")
    d1, d0 = date(2019, 10, 1), date(2019, 9, 30)
    assert rows == [
        (datetime(2019, 9, 30, 23, 59, 59), "view", 5002, 1002, *unknown, Decimal("10.00"), False, d0),
        (datetime(2019, 10, 1, 10, 0), "view", 5001, 1001, *hp, Decimal("99.90"), False, d1),
        (datetime(2019, 10, 1, 10, 1), "cart", 5001, 1001, *hp, Decimal("99.90"), False, d1),
        (datetime(2019, 10, 1, 10, 5), "purchase", 5001, 1001, *hp, Decimal("99.90"), False, d1),
        (datetime(2019, 10, 1, 11, 0), "view", 5002, 1002, *unknown, Decimal("10.00"), False, d1),
        (datetime(2019, 10, 1, 12, 0), "view", 5003, 1003, *phone, Decimal("700.00"), True, d1),
        (datetime(2019, 10, 1, 12, 30), "view", 5002, 1003, *phone, Decimal("700.00"), False, d1),
        (datetime(2019, 10, 1, 12, 31), "remove_from_cart", 5002, 1003, *phone, Decimal("700.00"),
         False, d1),
        (datetime(2019, 10, 1, 13, 0), "view", 5004, 1004, *tablet, 'apple, "inc"', False, False,
         Decimal("300.00"), False, d1),
        (datetime(2019, 10, 1, 13, 5), "view", 5004, 1005, *tablet, "b" * 191, False, False,
         Decimal("0.50"), False, d1),
    ]


def test_every_bad_line_is_quarantined_with_its_reason_and_counts_reconcile(spark, tmp_path):
    path = messy_day(tmp_path)
    result = run_clean(spark, path)
    quarantined = sorted((r.raw_line, r.reject_reason) for r in result.quarantine.collect()
                         if r.reject_reason != "bad_encoding")
    assert quarantined == sorted([*BAD.items(), (TRUNCATED, "wrong_field_count")])
    assert all(r.source_file.endswith(str(path)) for r in result.quarantine.collect())
    not_utf8 = result.quarantine.where("reject_reason = 'bad_encoding'").select(F.col("raw_line").cast("binary"))
    assert [bytes(r[0]) for r in not_utf8.collect()] == [NOT_UTF8]

    report = result.report
    assert report.ingest_date == DAY and report.files == 1
    assert report.rows_read == len(GOOD) + len(BAD) + 2
    assert report.rows_clean == 10
    assert report.rows_quarantined == len(BAD) + 2
    assert report.duplicates_removed == 1
    assert report.carts_collapsed == 1
    assert report.rows_read == (report.rows_clean + report.rows_quarantined
                                + report.duplicates_removed + report.carts_collapsed)
    assert report.quarantine_reasons_json["wrong_field_count"] == 3
    assert reconciliation_problems(report) == []
    assert report.quarantine_reasons_json == {
        "bad_category_id": 2, "bad_encoding": 1, "bad_event_time": 2, "bad_price": 4, "bad_product_id": 3,
        "bad_quoting": 2, "bad_user_id": 2, "blank_line": 1, "brand_too_long": 1, "category_code_too_long": 2,
        "missing_category_id": 1, "missing_price": 1, "missing_product_id": 1, "missing_user_id": 1,
        "negative_price": 1, "absurd_price": 1, "unknown_event_type": 1, "wrong_field_count": 3}
    assert report.clean_rows_by_event_date == {"2019-09-30": 1, "2019-10-01": 9}
    # ' VIEW ' is padded and upper-case; the apple line is quoted.
    assert report.normalisations_json == {"event_type_case": 1, "padded_fields": 1, "quoted_fields": 1}
    # Empty fields among the rows with nine fields: codes and brands of lines 6 and 10, one
    # session, and the empty values of the bad rows.
    assert report.missing_values_json["category_code"] == 2
    assert report.missing_values_json["brand"] == 2
    assert report.missing_values_json["user_session"] == 1
    assert report.missing_values_json["price"] == 1
    assert report.missing_values_json["category_id"] == 1


def test_quoted_padding_copies_that_differ_in_a_flag_and_carts_at_one_time(spark, tmp_path):
    """Padding inside quotes is trimmed and counted once per row; rows that differ only in
    whether a value was filled in are not copies; of two carts at the same second, the one first
    by its other columns is kept, on every run."""
    at = "2019-10-01 10:00:00 UTC"
    lines = [
        f'{at},view,1001,{CAT}, "a.b" ," sony ",1.00,5001,{S1}',  # padded outside and inside quotes
        f"{at},view,1002,{CAT},,x,1.00,5001,{S1}",
        f"{at},view,1002,{CAT},unknown,x,1.00,5001,{S1}",  # 'unknown' as given, not filled in
        f"{at},view,1002,{CAT},unknown,x,1.00,5001,{S1}",  # a copy of the line before
        f"{at},cart,1003,{CAT},a.b,zeta,1.00,5001,{S1}",
        f"{at},cart,1003,{CAT},a.b,alpha,1.00,5001,{S1}",
        f"2019-10-01 09:59:59 UTC,cart,1004,{CAT},a.b,zeta,1.00,5001,{S1}",  # an earlier cart wins
        f"{at},cart,1004,{CAT},a.b,alpha,1.00,5001,{S1}",
    ]
    result = run_clean(spark, write_raw(tmp_path, "2019-10-01", lines))
    rows = sorted((r.product_id, r.category_code, r.category_code_missing, r.brand) for r in result.clean.collect())
    assert rows == [(1001, "a.b", False, "sony"), (1002, "unknown", False, "x"), (1002, "unknown", True, "x"),
                    (1003, "a.b", False, "alpha"), (1004, "a.b", False, "zeta")]
    report = result.report
    assert (report.duplicates_removed, report.carts_collapsed, report.rows_clean) == (1, 2, 5)
    assert report.normalisations_json == {"event_type_case": 0, "padded_fields": 1, "quoted_fields": 1}


def test_the_benchmarks_duckdb_peer_applies_the_same_rules(spark, tmp_path):
    """The cleaning benchmark's ratio is against DuckDB doing the job's work: on the messy day
    (less the line that is not UTF-8, which DuckDB refuses to read) it reads, keeps and quarantines
    the same rows for the same reasons."""
    from benchmarks import bench_cleaning

    lines = [x for pair in zip_longest(GOOD, BAD) for x in pair if x is not None] + [TRUNCATED]
    lines.insert(3, f"2019-10-01 10:00:00 UTC,view,1001,{CAT},a.b,acme\x0b,1.00,5001,{S1}")
    path = write_raw(tmp_path / "raw", "2019-10-01", lines)
    report = run_clean(spark, path).report
    _, peer = bench_cleaning.run_duckdb(tmp_path / "raw", tmp_path / "duckdb", 1, DAY)
    assert peer == {"rows_read": report.rows_read, "rows_clean": report.rows_clean,
                    "rows_quarantined": report.rows_quarantined, "quarantine_reasons": report.quarantine_reasons_json}


def test_the_generated_code_stays_small_enough_for_the_jvm_to_compile(spark, tmp_path):
    """HotSpot interprets a method over 8,000 bytes of bytecode rather than compile it: the parse
    once had one of 10,810 and ran twice as slowly. Every stage of the cleaning, from the lines to
    the clean events (without the job's caches between them), stays below."""
    parsed = parse_lines(read_raw_lines(spark, [str(messy_day(tmp_path))]), DAY, 1)
    clean = enrich(mark_duplicates_and_carts(with_sessions(parsed.where("reject_reason IS NULL"))))
    debug = spark._jvm.org.apache.spark.sql.execution.debug.package
    spark.conf.set("spark.sql.adaptive.enabled", "false")  # the stages as planned, not wrapped
    try:
        stages = debug.codegenStringSeq(clean._jdf.queryExecution().executedPlan())
        sizes = [stages.apply(i)._3().maxMethodCodeSize() for i in range(stages.size())]
    finally:
        spark.conf.unset("spark.sql.adaptive.enabled")
    assert len(sizes) >= 2 and all(0 < size < 8000 for size in sizes), sizes


def test_gzip_and_crlf_give_the_same_result(spark, tmp_path):
    plain = run_clean(spark, messy_day(tmp_path / "plain"))
    crlf = messy_day(tmp_path / "crlf", newline="\r\n")
    gz = crlf.with_name("events.csv.gz")
    gz.write_bytes(gzip.compress(crlf.read_bytes()))
    crlf.unlink()
    zipped = run_clean(spark, gz)
    assert sorted(zipped.clean.collect()) == sorted(plain.clean.collect())
    by_file = zipped.report.quarantined_by_file
    assert list(by_file.values()) == [len(BAD) + 2] and next(iter(by_file)).endswith("events.csv.gz")
    assert replace(zipped.report, quarantined_by_file={}, source_files=[]) == replace(
        plain.report, quarantined_by_file={}, source_files=[])


def test_generated_session_ids_are_deterministic(spark):
    df = spark.createDataFrame([(5003, date(2019, 10, 1)), (5003, date(2019, 10, 1)),
                                (5004, date(2019, 10, 1))], "user_id long, d date")
    ids = [r.s for r in df.select(deterministic_session_id(df.user_id, df.d).alias("s")).collect()]
    assert ids[0] == ids[1] != ids[2]
    assert [len(part) for part in ids[0].split("-")] == [8, 4, 4, 4, 12]


def test_rows_dated_far_from_their_file_are_quarantined_as_out_of_range(spark, tmp_path):
    far = [GOOD[0].replace("2019-10-01 10:00:00", "2019-08-01 10:00:00"),
           GOOD[5].replace("2019-10-01 11:00:00", "2019-10-04 11:00:00")]
    path = write_raw(tmp_path, "2019-10-01", [GOOD[5], GOOD[9], *far])  # 09-30 23:59:59 is within a day
    result = clean_raw_lines(read_raw_lines(spark, [str(path)]), DAY, window_days=1)
    assert result.report.quarantine_reasons_json == {"event_time_out_of_range": 2}
    assert sorted(str(r.event_date) for r in result.clean.collect()) == ["2019-09-30", "2019-10-01"]
    assert sorted(r.raw_line for r in result.quarantine.collect()) == sorted(far)
    wide = clean_raw_lines(read_raw_lines(spark, [str(path)]), DAY, window_days=90)
    assert wide.report.rows_quarantined == 0 and wide.report.rows_clean == 4


def test_a_file_starting_with_a_byte_order_mark_is_read_like_one_without(spark, tmp_path):
    """Hadoop's line reader drops a file's leading UTF-8 byte-order mark, so the header is
    recognised and every row parses (the input check accepts such a file too)."""
    plain = run_clean(spark, write_raw(tmp_path / "plain", "2019-10-01", GOOD))
    marked = run_clean(spark, write_raw(tmp_path / "bom", "2019-10-01", GOOD, header=BYTE_ORDER_MARK + RAW_HEADER))
    assert (tmp_path / "bom" / "2019-10-01" / "events.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert sorted(marked.clean.collect()) == sorted(plain.clean.collect())
    assert (marked.report.rows_read, marked.report.rows_quarantined) == (len(GOOD), 0)


def test_a_control_character_in_a_field_quarantines_its_row_and_never_alters_it(spark, tmp_path):
    """Spark and MySQL would each treat them their own way (the CSV writer trimmed up to 0x20):
    ``acme`` and ``acme\\x0b`` must not become one brand, nor ``solo\\x0b`` silently ``solo``."""
    line = f"2019-10-01 10:00:00 UTC,view,1001,{CAT},a.b,{{}},1.00,5001,{S1}"
    bad = {line.format("acme\x0b"): "control_character", line.format("solo\x0b"): "control_character",
           line.format("ac\tme"): "control_character", line.format("\x00"): "control_character",
           line.format('"ac'): "bad_quoting", f'me",1.00,5001,{S1}': "bad_quoting"}  # a newline in quotes
    result = run_clean(spark, write_raw(tmp_path, "2019-10-01", [line.format("acme"), *bad]))
    assert [r.brand for r in result.clean.collect()] == ["acme"]
    assert sorted((r.raw_line, r.reject_reason) for r in result.quarantine.collect()) == sorted(bad.items())
    assert result.report.quarantine_reasons_json == {"bad_quoting": 2, "control_character": 4}
