"""Bounded growth: five dates with a retention of two leave exactly the expected dates in the lake
and MySQL; the served lists' dates and the clean events stay; a rerun inside the window removes
nothing."""

import os
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from recsys import lake
from recsys_pipeline import retention
from recsys_pipeline.bulk_load import replace_date_rows
from recsys_pipeline.migrations import apply_migrations
from recsys_pipeline.publish import publish_current
from recsys_pipeline.results import EDA_TABLES
from recsys_pipeline.retention import apply_retention
from recsys_pipeline.spark import build_package_zip
from tests.helpers import stage_rows
from tests.test_publish import defaults, recs, similar

DAYS = [date(2019, 10, 1) + timedelta(days=i) for i in range(5)]


def derived_paths(root: str, day: date) -> list[str]:
    """Every per-date output a run derives, as the jobs name them."""
    return [lake.interactions(root, day), lake.model_dir(root, day), lake.recommendations(root, day),
            lake.similar_products(root, day), lake.default_lists(root, day), lake.model_run(root, day),
            lake.summaries_report(root, day),
            str(Path(lake.html_report(root, day)).parent), *(lake.eda(root, t, day) for t in EDA_TABLES)]


def cleaned_paths(root: str, day: date) -> list[str]:
    return [lake.events_ingest(root, day), lake.quarantine(root, day), lake.cleaning_report(root, day)]


def dates_left(root: str, paths) -> dict[date, int]:
    return {day: sum(Path(p).is_dir() for p in paths(root, day)) for day in DAYS}


def db_dates(hook, table: str, column: str = "run_date") -> list[date]:
    return [r[0] for r in hook.get_records(f"SELECT DISTINCT {column} FROM {table} ORDER BY 1")]


@pytest.fixture
def five_dates(tmp_path, mysql_hook):
    """Five dates of outputs; the lists of the first two were published (2 current, 1 previous),
    as when the quality gate withheld the later ones."""
    root = str(tmp_path / "lake")
    for day in DAYS:
        for path in derived_paths(root, day) + cleaned_paths(root, day):
            Path(path).mkdir(parents=True)
            (Path(path) / "part-00000").write_text("x")
    apply_migrations(mysql_hook)
    for day in DAYS:
        stage_rows(mysql_hook, "user_recommendations", day, recs(day, 2, 0))
        stage_rows(mysql_hook, "similar_products", day, similar(day, 3))
        stage_rows(mysql_hook, "default_lists", day, defaults(day))
        replace_date_rows(mysql_hook, "data_quality_reasons", "ingest_date", day,
                          [{"ingest_date": day, "reason": "bad_price", "rows_quarantined": 1}])
        if day in DAYS[:2]:
            publish_current(mysql_hook, day)
    return {"lake_root": root, "raw_root": str(tmp_path / "raw"), "window_days": 3, "eval_days": 1}


def test_five_dates_with_retention_two_leave_exactly_the_expected_dates(five_dates, mysql_hook, monkeypatch,
                                                                         tmp_path):
    root, d1, d2, d3, d4, d5 = five_dates["lake_root"], *DAYS
    staging = Path(root) / "_staging"
    for job, extra in (("train_als", None), ("clean_events", ".lock"), ("eda_summaries", "/COMMIT")):
        (staging / job / f"run_date={d1}").mkdir(parents=True)
        if extra:
            Path(f"{staging / job / f'run_date={d1}'}{extra}").write_text("{}")
    monkeypatch.setattr(retention, "BUILD_DIR", tmp_path / "build")
    (tmp_path / "build").mkdir()
    archives = {name: tmp_path / "build" / name for name in ("recsys-0ld.zip", "recsys-new.zip",
                                                             build_package_zip().name)}
    for name, path in archives.items():
        path.write_text("zip")
        if name != "recsys-new.zip":
            os.utime(path, (time.time() - 3 * 86400,) * 2)
    monkeypatch.setenv("RECSYS_RETENTION_DAYS", "2")
    monkeypatch.setenv("RECSYS_SUMMARY_RETENTION_DAYS", "4")
    before = {table: mysql_hook.get_records(f"SELECT * FROM {table} ORDER BY 1, 2")
              for table in ("user_recommendations_current", "user_recommendations_previous")}

    removed = apply_retention(d5.isoformat(), five_dates)
    # Derived: the last two dates, and those of the lists served now (current d2, previous d1).
    full = len(derived_paths(root, d1))
    assert dates_left(root, derived_paths) == {d1: full, d2: full, d3: 0, d4: full, d5: full}
    assert db_dates(mysql_hook, "user_recommendation_history") == db_dates(mysql_hook, "similar_products") == \
        db_dates(mysql_hook, "default_list_history") == [d1, d2, d4, d5]
    assert {table: mysql_hook.get_records(f"SELECT * FROM {table} ORDER BY 1, 2") for table in before} == before
    # Clean events: kept for good; summaries: their own four days.
    assert set(dates_left(root, cleaned_paths).values()) == {3}
    assert db_dates(mysql_hook, "data_quality_reasons", "ingest_date") == [d2, d3, d4, d5]
    # Staging: only what no attempt holds and no swap needs; build archives: old ones, never the current.
    assert sorted(p.name for p in staging.glob("*/run_date=*") if p.is_dir()) == ["run_date=2019-10-01"] * 2
    assert sorted(p.name for p in (tmp_path / "build").iterdir()) == sorted([build_package_zip().name,
                                                                            "recsys-new.zip"])
    assert removed["RECSYS_RETENTION_DAYS"] == {
        "kept_from": d4.isoformat(), "lake_folders": full + 1, "build_archives": 1,
        "mysql_rows": {"user_recommendation_history": 2, "similar_products": 3, "default_list_history": 2}}
    assert removed["RECSYS_SUMMARY_RETENTION_DAYS"]["mysql_rows"]["data_quality_reasons"] == 1

    # A rerun of a date inside the window removes nothing.
    again = apply_retention(d4.isoformat(), five_dates)
    assert [again[s]["lake_folders"] for s in again] == [0, 0]
    assert dates_left(root, derived_paths)[d5] == full and db_dates(mysql_hook, "user_recommendation_history")[-1] == d5

