"""The clean_events job: what it writes to the lake, reruns that leave it identical or as it was,
and the input it refuses (the rules themselves: tests/test_cleaning.py)."""

import gzip
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from pyspark.sql import functions as F

from recsys import lake
from recsys.cleaning import InputError, ReconciliationError, reconciliation_problems
from recsys.jobs import clean_events, eda_summaries
from recsys.params import Settings
from recsys.raw_format import RAW_HEADER
from recsys.reports import CleaningReport
from recsys.staged_outputs import StagedOutputs
from tests.helpers import cleaning_report, lake_files, write_raw
from tests.test_cleaning import BAD, DAY, GOOD, NOT_UTF8, messy_day


def test_job_writes_partitions_and_a_rerun_is_identical(spark, tmp_path):
    messy_day(tmp_path / "raw")
    # The next day, in two files, one of them gzip: its run must not touch the first day's.
    write_raw(tmp_path / "raw", "2019-10-02", [GOOD[0].replace("10-01", "10-02")], name="a.csv")
    more = write_raw(tmp_path / "raw", "2019-10-02", [GOOD[5].replace("10-01", "10-02")], name="b.csv")
    more.with_suffix(".csv.gz").write_bytes(gzip.compress(more.read_bytes()))
    more.unlink()
    root = str(tmp_path / "lake")
    params = Settings(raw_root=str(tmp_path / "raw"), lake_root=root, max_quarantine_share=1.0).to_json()
    argv = ["--run-date", "2019-10-01", "--params", params]
    clean_events.main(argv)
    first = sorted(lake.read_events(spark, root).collect())
    report = lake.read_report(spark, lake.cleaning_report(root, date(2019, 10, 1)), CleaningReport)
    clean_events.main(argv)
    assert sorted(lake.read_events(spark, root).collect()) == first
    assert lake.read_report(spark, lake.cleaning_report(root, date(2019, 10, 1)), CleaningReport) == report
    dates = sorted({(str(r.ingest_date), str(r.event_date)) for r in first})
    assert dates == [("2019-10-01", "2019-09-30"), ("2019-10-01", "2019-10-01")]
    quarantine = spark.read.parquet(lake.quarantine(root, date(2019, 10, 1)))
    assert quarantine.count() == len(BAD) + 2
    kept = quarantine.where("reject_reason = 'bad_encoding'").select(F.col("raw_line").cast("binary")).first()[0]
    assert bytes(kept) == NOT_UTF8  # the lake keeps the bytes as they came

    clean_events.main([*argv[:1], "2019-10-02", *argv[2:]])
    clean_events.main([*argv[:1], "2019-10-02", *argv[2:]])
    everything = lake.read_events(spark, root)
    assert sorted(everything.where("ingest_date = '2019-10-01'").collect()) == first
    second = everything.where("ingest_date = '2019-10-02'")
    assert sorted((r.user_id, str(r.event_date)) for r in second.collect()) == [
        (5001, "2019-10-02"), (5002, "2019-10-02")]
    report2 = lake.read_report(spark, lake.cleaning_report(root, date(2019, 10, 2)), CleaningReport)
    assert report2.files == len(report2.source_files) == 2 and report2.rows_read == 2


def test_job_fails_on_too_much_bad_data_missing_input_and_wrong_header(spark, tmp_path):
    messy_day(tmp_path / "raw")
    base = ["--params", Settings(raw_root=str(tmp_path / "raw"), lake_root=str(tmp_path / "lake")).to_json()]
    with pytest.raises(InputError, match=r"30 of 42 rows \(71.4%\) were quarantined.*bad_price=4.*events.csv: 30"):
        clean_events.main(["--run-date", "2019-10-01", *base])
    with pytest.raises(InputError, match="2019-10-02: no raw input"):
        clean_events.main(["--run-date", "2019-10-02", *base])
    write_raw(tmp_path / "raw", "2019-10-03", GOOD[:1], header=RAW_HEADER.replace("price", "cost"))
    with pytest.raises(InputError, match=r"2019-10-03/events.csv: no header line"):
        clean_events.main(["--run-date", "2019-10-03", *base])


def test_a_day_without_events_needs_the_exporters_marker_and_never_replaces_a_day_with_events(spark, tmp_path):
    raw, root = tmp_path / "raw", str(tmp_path / "lake")
    base = ["--params", Settings(raw_root=str(raw), lake_root=root).to_json()]
    empty = write_raw(raw, "2019-10-02", [])  # the header alone
    with pytest.raises(InputError, match=r"2019-10-02: the input holds no data rows and the day is not marked "
                                         r"complete \(_SUCCESS\)"):
        clean_events.main(["--run-date", "2019-10-02", *base])
    assert not (tmp_path / "lake").exists()  # refused before anything was written

    (empty.parent / "_SUCCESS").touch()
    clean_events.main(["--run-date", "2019-10-02", *base])
    report = lake.read_report(spark, lake.cleaning_report(root, date(2019, 10, 2)), CleaningReport)
    assert (report.rows_read, report.rows_clean, report.rows_quarantined, report.files) == (0, 0, 0, 1)
    eda_summaries.main(["--run-date", "2019-10-02", *base])
    summaries = {table: spark.read.options(header=True, sep="\t").csv(lake.eda(root, table, date(2019, 10, 2)))
                 for table in ("daily_kpis", "hourly_activity", "brand_daily", "category_daily", "top_customers")}
    kpis = summaries.pop("daily_kpis").collect()
    assert len(kpis) == 1 and kpis[0]["events"] == kpis[0]["purchases"] == kpis[0]["active_users"] == "0"
    assert Decimal(kpis[0]["revenue"]) == 0
    hours = summaries.pop("hourly_activity").collect()
    assert len(hours) == 24 and {(h["views"], h["purchases"]) for h in hours} == {("0", "0")}
    assert {table: df.count() for table, df in summaries.items()} == {
        "brand_daily": 0, "category_daily": 0, "top_customers": 0}

    # A day that had events is never replaced by an empty input, marker or not.
    write_raw(raw, "2019-10-01", GOOD)
    clean_events.main(["--run-date", "2019-10-01", *base])
    before = sorted(lake.read_events(spark, root).collect())
    report = lake.read_report(spark, lake.cleaning_report(root, DAY), CleaningReport)
    write_raw(raw, "2019-10-01", [])
    (raw / "2019-10-01" / "_SUCCESS").touch()
    with pytest.raises(InputError, match=r"refusing to replace the 10 clean events cleaned before"):
        clean_events.main(["--run-date", "2019-10-01", *base])
    assert sorted(lake.read_events(spark, root).collect()) == before
    assert lake.read_report(spark, lake.cleaning_report(root, DAY), CleaningReport) == report


def test_a_rerun_that_fails_or_is_killed_leaves_the_days_lake_as_it_was(spark, tmp_path, monkeypatch):
    raw, root = tmp_path / "raw", tmp_path / "lake"
    argv = ["--run-date", "2019-10-01",
            "--params", Settings(raw_root=str(raw), lake_root=str(root), max_quarantine_share=0.5).to_json()]
    write_raw(raw, "2019-10-01", [*GOOD, *list(BAD)[:2]])
    clean_events.main(argv)
    before = lake_files(root)
    assert any("quarantine" in name for name in before) and any("reports" in name for name in before)

    refused = {"no data rows": ([], RAW_HEADER), "were quarantined": ([*list(BAD) * 2, GOOD[0]], RAW_HEADER),
               "wrong header": (GOOD, RAW_HEADER.replace("price", "cost"))}
    for problem, (lines, header) in refused.items():
        write_raw(raw, "2019-10-01", lines, header=header)
        with pytest.raises(InputError, match=problem):
            clean_events.main(argv)
        assert lake_files(root) == before, problem

    write_raw(raw, "2019-10-01", GOOD[:3])  # good input, but the job is killed before its swap
    with monkeypatch.context() as killed:
        killed.setattr(StagedOutputs, "commit", lambda self: (_ for _ in ()).throw(KeyboardInterrupt()))
        with pytest.raises(KeyboardInterrupt):
            clean_events.main(argv)
    assert lake_files(root) == before
    clean_events.main(argv)  # the next attempt swaps in the new day whole
    assert lake.read_report(spark, lake.cleaning_report(str(root), DAY), CleaningReport).rows_read == 3
    assert not any((root / "_staging").rglob("*.parquet"))


def test_a_row_lost_between_reading_and_writing_fails_the_reconciliation_and_replaces_nothing(
        spark, tmp_path, monkeypatch):
    """The counts are measured at both ends (lines read, files written), so the equation can fail."""
    assert reconciliation_problems(cleaning_report()) == []
    assert reconciliation_problems(cleaning_report(rows_quarantined=3)) == [
        "rows read 10 != clean 6 + quarantined 3 + duplicates 1 + repeated carts 1 = 11",
        "quarantine reasons add up to 2, not 3"]
    raw, root = tmp_path / "raw", tmp_path / "lake"
    argv = ["--run-date", "2019-10-01", "--params", Settings(raw_root=str(raw), lake_root=str(root)).to_json()]
    write_raw(raw, "2019-10-01", GOOD)
    clean_events.main(argv)
    before = lake_files(root)
    cleaned = clean_events.clean_raw_lines

    def losing_a_row(*args, **kwargs):
        result = cleaned(*args, **kwargs)
        return replace(result, clean=result.clean.where("user_id != 5003"))

    monkeypatch.setattr(clean_events, "clean_raw_lines", losing_a_row)
    with pytest.raises(ReconciliationError, match=r"nothing was replaced: rows read 12 != clean 9 \+ quarantined 0 "
                                                  r"\+ duplicates 1 \+ repeated carts 1 = 11"):
        clean_events.main(argv)
    assert lake_files(root) == before


def test_the_job_cleans_exactly_the_files_the_input_check_accepted(spark, tmp_path):
    """A file that arrives after check_raw_input (a re-export in progress, say) is not read; one the
    check accepted that is gone since fails the job, naming it."""
    raw, root = tmp_path / "raw", tmp_path / "lake"
    base = ["--run-date", "2019-10-01", "--params", Settings(raw_root=str(raw), lake_root=str(root)).to_json()]
    accepted = write_raw(raw, "2019-10-01", GOOD[:3], name="events.csv")
    write_raw(raw, "2019-10-01", GOOD[3:5], name="late.csv")
    clean_events.main([*base, "--files", '["events.csv"]'])
    report = lake.read_report(spark, lake.cleaning_report(str(root), DAY), CleaningReport)
    assert report.rows_read == 3 and [f.rsplit("/", 1)[-1] for f in report.source_files] == ["events.csv"]
    accepted.unlink()
    with pytest.raises(InputError, match="events.csv accepted by check_raw_input but gone since"):
        clean_events.main([*base, "--files", '["events.csv"]'])
