"""Reports to MySQL rows: every column of the report's table is a field of the report, under its
own name, and a rerun of the date replaces its rows whole (real MySQL-compatible server)."""

import json
from datetime import date

from recsys.params import Settings
from recsys_pipeline.bulk_load import replace_date_rows
from recsys_pipeline.migrations import apply_migrations
from recsys_pipeline.report_rows import data_quality_rows, model_run_rows
from tests.helpers import cleaning_report, evaluated_run

D1 = date(2019, 10, 1)


def columns(hook, table) -> set[str]:
    return {r[0] for r in hook.get_records(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = %s",
        parameters=(table,))}


def load(hook, tables: dict, date_column: str) -> None:
    for table, rows in tables.items():
        replace_date_rows(hook, table, date_column, D1, rows)


def test_report_fields_are_their_tables_columns(mysql_hook):
    apply_migrations(mysql_hook)
    run, cleaning = evaluated_run(Settings()), cleaning_report()
    assert set(run.row()) | {"loaded_at"} == columns(mysql_hook, run.TABLE)
    assert set(cleaning.row()) | {"loaded_at"} == columns(mysql_hook, cleaning.TABLE)


def test_a_model_run_lands_as_written_and_a_rerun_replaces_it(mysql_hook):
    apply_migrations(mysql_hook)
    run = evaluated_run(Settings())
    for _ in range(2):
        load(mysql_hook, model_run_rows(run), "run_date")
    row = mysql_hook.get_first(
        "SELECT COUNT(*), MAX(als_ndcg_at_k), MAX(popularity_ndcg_at_k), MAX(eval_users), MAX(als_alpha), "
        "MAX(tuning_trials), MAX(tuning_seconds), MAX(quality_margin), MAX(interaction_pairs), "
        "MAX(category_popularity_ndcg_at_k), MAX(params_json), MAX(evaluation_json) FROM model_runs")
    assert tuple(row[:10]) == (1, 0.2, 0.1, 4, 10.0, 2, 7.5, 0.1, 30, None)
    assert json.loads(row[10]) == {**Settings().as_params(), "run_date": "2019-10-01"}
    assert [t["alpha"] for t in json.loads(row[11])["tuning"]] == [1.0, 10.0, 1.0]


def test_data_quality_rows_land_and_a_rerun_replaces_the_breakdown_whole(mysql_hook):
    apply_migrations(mysql_hook)
    load(mysql_hook, data_quality_rows(cleaning_report()), "ingest_date")
    files, reasons = mysql_hook.get_first("SELECT files, quarantine_reasons_json FROM data_quality_daily")
    assert files == 2 and json.loads(reasons) == {"bad_price": 2}
    assert mysql_hook.get_records("SELECT reason, rows_quarantined FROM data_quality_reasons") == (("bad_price", 2),)
    rerun = cleaning_report(quarantine_reasons_json={"bad_user_id": 1, "blank_line": 1})
    load(mysql_hook, data_quality_rows(rerun), "ingest_date")
    assert mysql_hook.get_records("SELECT reason, rows_quarantined FROM data_quality_reasons ORDER BY 1") == (
        ("bad_user_id", 1), ("blank_line", 1))
    assert mysql_hook.get_records("SELECT column_name, empty_values FROM data_quality_missing_values") == (
        ("brand", 3),)
