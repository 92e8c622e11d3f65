"""Integration with the real MySQL-compatible server: schema, bulk loads, reruns, rights."""

import json
from datetime import date
from decimal import Decimal

import MySQLdb
import pytest

from recsys import lake
from recsys_pipeline.mysql_load import (
    LoadError,
    apply_migrations,
    data_quality_rows,
    model_run_row,
    replace_date_from_files,
    replace_date_rows,
)
from recsys_pipeline.sql_files import identifier

D1, D2 = date(2019, 10, 1), date(2019, 10, 2)


def test_migrations_apply_once_and_give_the_schema(mysql_hook):
    assert apply_migrations(mysql_hook) == [
        "V000__schema_migrations", "V001__initial_schema", "V002__data_quality_detail",
        "V003__similar_products", "V004__category_popularity_baseline", "V005__quality_gate",
        "V006__current_recommendations"]
    assert apply_migrations(mysql_hook) == []
    # Keys fit the reads: the current lists by user and by product, history by date then user/product.
    keys = {(r[0], r[1]): r[2] for r in mysql_hook.get_records(
        "SELECT table_name, index_name, GROUP_CONCAT(column_name ORDER BY seq_in_index) "
        "FROM information_schema.statistics WHERE table_schema = DATABASE() GROUP BY 1, 2")}
    assert keys[("user_recommendations_current", "PRIMARY")] == "user_id,rec_rank"
    assert keys[("similar_products_current", "PRIMARY")] == "product_id,similar_rank"
    assert keys[("user_recommendations", "user_recommendations_by_user")] == "user_id,run_date"
    assert keys[("similar_products", "similar_products_by_product")] == "product_id,run_date"
    assert keys[("user_recommendations_previous", "PRIMARY")] == "user_id,rec_rank"
    columns = mysql_hook.get_records(
        "SELECT column_name, column_type FROM information_schema.columns "
        "WHERE table_schema = DATABASE() AND table_name = 'user_recommendations' ORDER BY ordinal_position"
    )
    assert [tuple(c) for c in columns] == [
        ("run_date", "date"), ("user_id", "bigint(20)"), ("rec_rank", "smallint(5) unsigned"),
        ("product_id", "bigint(20)"), ("score", "double"), ("source", "varchar(16)"),
    ]
    charsets = mysql_hook.get_records(
        "SELECT DISTINCT CCSA.character_set_name FROM information_schema.tables T "
        "JOIN information_schema.collation_character_set_applicability CCSA "
        "ON CCSA.collation_name = T.table_collation WHERE T.table_schema = DATABASE()"
    )
    assert [c[0] for c in charsets] == ["utf8mb4"]


def brands(spark, run_date, rows):
    return spark.createDataFrame(
        [(run_date, b, v, 0, p, p, Decimal(r)) for b, v, p, r in rows],
        "run_date date, brand string, views long, carts long, purchases long, buyers long, "
        "revenue decimal(16,2)",
    )


def table_rows(hook, table, order="run_date, brand"):
    return [tuple(r) for r in hook.get_records(f"SELECT * FROM {table} ORDER BY {order}")]


def test_spark_csv_lands_exactly_and_a_rerun_replaces_only_its_date(spark, mysql_hook, tmp_path):
    apply_migrations(mysql_hook)
    tricky = [("sony", 5, 1, "10.50"), ('say "hi", inc', 2, 0, "0.00"), ("back\\slash", 1, 1, "1.00"),
              ("ünïcødé ☕", 3, 2, "99999999999999.99"), ("NULL", 1, 0, "0.00"), ("", 1, 0, "0.00"),
              ("\\N", 1, 0, "0.00"), ('a\\"b', 1, 0, "0.00"), ("tab\tand\nline\r", 1, 0, "0.00")]
    for run_date, path in ((D1, tmp_path / "d1"), (D2, tmp_path / "d2")):
        lake.write_load_files(brands(spark, run_date, tricky).repartition(3), str(path))
        assert replace_date_from_files(mysql_hook, "brand_daily", "run_date", run_date, str(path)) == len(tricky)
    expected = sorted((d, b, v, 0, p, p, Decimal(r)) for d in (D1, D2) for b, v, p, r in tricky)
    assert sorted(table_rows(mysql_hook, "brand_daily")) == expected

    # Rerun D2 with different content: D2 is replaced whole, D1 untouched.
    lake.write_load_files(brands(spark, D2, [("lg", 1, 1, "5.00")]), str(tmp_path / "d2b"))
    replace_date_from_files(mysql_hook, "brand_daily", "run_date", D2, str(tmp_path / "d2b"))
    rows = table_rows(mysql_hook, "brand_daily")
    assert [r for r in rows if r[0] == D2] == [(D2, "lg", 1, 0, 1, 1, Decimal("5.00"))]
    assert sorted(r for r in rows if r[0] == D1) == sorted(e for e in expected if e[0] == D1)


def test_nulls_survive_the_round_trip(spark, mysql_hook, tmp_path):
    apply_migrations(mysql_hook)
    df = spark.createDataFrame(
        [(D1, 0, 0, 0, 0, 0, 0, 0, 0, 0, Decimal("0.00"), None, None, None)],
        "run_date date, events long, views long, carts long, removals long, purchases long, "
        "active_users long, buyers long, sessions long, products_seen long, revenue decimal(16,2), "
        "view_to_cart_rate double, cart_to_purchase_rate double, buyer_conversion_rate double",
    )
    lake.write_load_files(df, str(tmp_path / "k"))
    replace_date_from_files(mysql_hook, "daily_kpis", "run_date", D1, str(tmp_path / "k"))
    assert mysql_hook.get_first("SELECT view_to_cart_rate IS NULL, revenue FROM daily_kpis") == (1, Decimal("0.00"))


def test_a_bad_file_fails_the_load_and_keeps_the_previous_rows(spark, mysql_hook, tmp_path):
    apply_migrations(mysql_hook)
    lake.write_load_files(brands(spark, D1, [("sony", 5, 1, "10.50")]), str(tmp_path / "good"))
    replace_date_from_files(mysql_hook, "brand_daily", "run_date", D1, str(tmp_path / "good"))
    bad = spark.createDataFrame([(D1, "lg", "many", 0, 1, 1, "1.00")],
                                "run_date date, brand string, views string, carts long, purchases long, "
                                "buyers long, revenue string")
    lake.write_load_files(bad, str(tmp_path / "bad"))
    with pytest.raises(LoadError, match="brand_daily: MySQL warned"):
        replace_date_from_files(mysql_hook, "brand_daily", "run_date", D1, str(tmp_path / "bad"))
    assert table_rows(mysql_hook, "brand_daily") == [(D1, "sony", 5, 0, 1, 1, Decimal("10.50"))]
    with pytest.raises(LoadError, match="Spark output not found"):
        replace_date_from_files(mysql_hook, "brand_daily", "run_date", D1, str(tmp_path / "missing"))


def test_model_run_and_data_quality_rows_are_replaced_per_date(mysql_hook):
    apply_migrations(mysql_hook)
    metrics = {"ndcg": 0.2, "precision": 0.05, "recall": 0.3, "map": 0.1, "hit_rate": 0.4, "coverage": 0.03}
    run = {
        "run_date": "2019-10-01", "status": "published", "seconds": 12.5, "users": 10, "products": 5,
        "pairs": 30, "als_users": 8, "recommendation_rows": 100, "similar_rows": 50,
        "quality_gate": "passed: ALS NDCG@K 0.2000, popularity 0.1000",
        "params": {"rank": 15, "reg_param": 0.005, "alpha": 1.0, "max_iter": 10, "top_k": 10,
                   "window_days": 30, "eval_days": 7, "quality_margin": 0.1},
        "evaluation": {"status": "evaluated", "test_users": 4, "als": metrics,
                       "popularity": {**metrics, "ndcg": 0.1},
                       "tuning": [{"status": "scored"}, {"status": "skipped: time budget spent"}]},
    }
    for _ in range(2):
        replace_date_rows(mysql_hook, "model_runs", "run_date", D1, [model_run_row(run)])
    row = mysql_hook.get_first(
        "SELECT COUNT(*), MAX(als_ndcg_at_k), MAX(popularity_ndcg_at_k), MAX(eval_users), MAX(als_rank), "
        "MAX(tuning_trials), MAX(quality_margin), MAX(quality_gate) FROM model_runs"
    )
    assert tuple(row) == (1, 0.2, 0.1, 4, 15, 1, 0.1, run["quality_gate"])
    report = {"ingest_date": "2019-10-01", "files": ["a", "b"], "rows_read": 10, "rows_clean": 6,
              "rows_quarantined": 2, "duplicates_removed": 1, "carts_collapsed": 1,
              "quarantine_reasons": {"bad_price": 2}, "missing_values": {"brand": 3}}
    for table, rows in data_quality_rows(report).items():
        replace_date_rows(mysql_hook, table, "ingest_date", D1, rows)
    files, reasons = mysql_hook.get_first("SELECT files, quarantine_reasons_json FROM data_quality_daily")
    assert files == 2 and json.loads(reasons) == {"bad_price": 2}
    assert mysql_hook.get_records("SELECT reason, rows_quarantined FROM data_quality_reasons") == (("bad_price", 2),)
    # A rerun of the date with a different report replaces the breakdown whole.
    report["quarantine_reasons"] = {"bad_user_id": 1, "blank_line": 1}
    for table, rows in data_quality_rows(report).items():
        replace_date_rows(mysql_hook, table, "ingest_date", D1, rows)
    assert mysql_hook.get_records("SELECT reason, rows_quarantined FROM data_quality_reasons ORDER BY 1") == (
        ("bad_user_id", 1), ("blank_line", 1))
    assert mysql_hook.get_records("SELECT column_name, empty_values FROM data_quality_missing_values") == (
        ("brand", 3),)


def test_the_pipeline_account_has_rights_on_its_own_database_only(mysql_hook):
    grants = [g[0] for g in mysql_hook.get_records("SHOW GRANTS")]
    database = mysql_hook.get_first("SELECT DATABASE()")[0]
    assert len(grants) == 2
    assert grants[0].startswith("GRANT USAGE ON *.*")
    assert grants[1].startswith(f"GRANT ALL PRIVILEGES ON `{database.replace('_', chr(92) + '_')}`.*")
    with pytest.raises(MySQLdb.OperationalError, match="denied"):
        mysql_hook.run("CREATE DATABASE recsys_intruder")
    with pytest.raises(MySQLdb.OperationalError):
        mysql_hook.get_records("SELECT user FROM mysql.user")


def test_identifiers_from_configuration_are_validated():
    assert identifier("user_recommendations") == "`user_recommendations`"
    for bad in ("x; DROP TABLE y", "a`b", "1abc", ""):
        with pytest.raises(ValueError, match="not a valid SQL identifier"):
            identifier(bad)
