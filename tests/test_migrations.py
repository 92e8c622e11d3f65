"""The MySQL schema: migrations apply once and give the keys and types the reads need; the
pipeline's account has rights on its own database only."""

import re

import MySQLdb
import pytest

from recsys.raw_format import MAX_CATEGORY_LEVEL_CHARS, MAX_CHARS
from recsys_pipeline.migrations import _execute_ddl, apply_migrations
from tests.helpers import databases_named


def test_migrations_apply_once_and_give_the_schema(mysql_hook):
    assert apply_migrations(mysql_hook) == [
        "V000__schema_migrations", "V001__initial_schema", "V002__data_quality_detail",
        "V003__similar_products", "V004__category_popularity_baseline", "V005__quality_gate",
        "V006__current_recommendations", "V007__pipeline_runs", "V008__odd_input", "V009__summaries_that_add_up",
        "V010__tableau_views", "V011__report_views", "V012__run_lock",
        "V013__migration_checksums", "V014__compact_list_history", "V015__current_lists_without_a_date_key",
        "V016__compact_current_lists", "V017__default_lists"]
    assert apply_migrations(mysql_hook) == []
    # Keys fit the reads: the current lists by user and by product, history by date then user/product.
    keys = {(r[0], r[1]): r[2] for r in mysql_hook.get_records(
        "SELECT table_name, index_name, GROUP_CONCAT(column_name ORDER BY seq_in_index) "
        "FROM information_schema.statistics WHERE table_schema = DATABASE() GROUP BY 1, 2")}
    assert keys[("user_recommendation_lists_current", "PRIMARY")] == "user_id"
    assert keys[("similar_products_current", "PRIMARY")] == "product_id,similar_rank"
    assert keys[("user_recommendation_history", "PRIMARY")] == "run_date,user_id"
    assert keys[("user_recommendation_history", "user_recommendation_history_by_user")] == "user_id,run_date"
    assert keys[("similar_products", "similar_products_by_product")] == "product_id,run_date"
    assert keys[("user_recommendation_lists_previous", "PRIMARY")] == "user_id"
    # No key on the current lists' date (each holds one date): loading them is 28 % faster without.
    assert sorted(k for k in keys if k[0].endswith(("_current", "_previous"))) == [
        (t, "PRIMARY") for t in ("default_lists_current", "default_lists_previous", "similar_products_current",
                                 "similar_products_previous", "user_recommendation_lists_current",
                                 "user_recommendation_lists_previous")]
    assert keys[("default_lists_current", "PRIMARY")] == "category_id"
    assert keys[("default_list_history", "PRIMARY")] == "run_date,category_id"
    columns = mysql_hook.get_records(
        "SELECT column_name, column_type FROM information_schema.columns "
        "WHERE table_schema = DATABASE() AND table_name = 'user_recommendation_history' ORDER BY ordinal_position"
    )
    assert [tuple(c) for c in columns] == [  # MariaDB's JSON is a longtext that must hold valid JSON
        ("run_date", "date"), ("user_id", "bigint(20)"), ("product_ids", "longtext"), ("source", "varchar(16)"),
    ]
    charsets = mysql_hook.get_records(
        "SELECT DISTINCT CCSA.character_set_name FROM information_schema.tables T "
        "JOIN information_schema.collation_character_set_applicability CCSA "
        "ON CCSA.collation_name = T.table_collation WHERE T.table_schema = DATABASE()"
    )
    assert [c[0] for c in charsets] == ["utf8mb4"]
    # Cleaning quarantines text longer than these columns hold (recsys.raw_format): they must agree.
    lengths = dict(mysql_hook.get_records(
        "SELECT CONCAT(table_name, '.', column_name), character_maximum_length FROM information_schema.columns "
        "WHERE table_schema = DATABASE() AND column_name IN ('brand', 'category_code', 'category', 'sub_category', "
        "'product_type') AND table_name IN (SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE')"))
    assert lengths == {
        "brand_daily.brand": MAX_CHARS["brand"], "brand_event_facts.brand": MAX_CHARS["brand"],
        "category_daily.category_code": MAX_CHARS["category_code"],
        **{f"category_daily.{level}": MAX_CATEGORY_LEVEL_CHARS
           for level in ("category", "sub_category", "product_type")}}


def test_a_migration_interrupted_after_its_ddl_is_finished_on_the_next_run(mysql_hook):
    """DDL commits on its own: a crash after V004's ALTER TABLE and before its bookkeeping leaves
    the columns there and the migration unrecorded; the next run records it instead of failing."""
    apply_migrations(mysql_hook)
    mysql_hook.run("DELETE FROM schema_migrations WHERE version >= 'V004'")
    mysql_hook.run("DROP TABLE similar_products_previous")  # V006 half-done: one table gone
    assert apply_migrations(mysql_hook) == [
        "V004__category_popularity_baseline", "V005__quality_gate", "V006__current_recommendations",
        "V007__pipeline_runs", "V008__odd_input", "V009__summaries_that_add_up", "V010__tableau_views",
        "V011__report_views", "V012__run_lock", "V013__migration_checksums", "V014__compact_list_history",
        "V015__current_lists_without_a_date_key", "V016__compact_current_lists", "V017__default_lists"]
    assert mysql_hook.get_first("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() "
                                "AND table_name = 'similar_products_previous'")[0] == 1
    conn = mysql_hook.get_conn()
    with pytest.raises(MySQLdb.OperationalError, match="no_such_column"):  # any other error still fails
        _execute_ddl(conn.cursor(), "ALTER TABLE model_runs DROP COLUMN no_such_column", "V999__test")
    conn.close()


def test_two_schema_runs_at_once_take_turns_and_both_succeed(mysql_hook):
    """As two runs' apply_schema (or record_pipeline_run) on an empty database; without the lock
    the second fails on the first's half-applied migrations."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        applied = list(pool.map(lambda _: apply_migrations(mysql_hook), range(2)))
    assert sorted(len(a) for a in applied) == [0, 18]  # one did all the work, the other found it done
    assert mysql_hook.get_first("SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations") == (18, 18)


def test_the_pipeline_account_has_rights_on_its_own_database_only(mysql_hook):
    grants = [g[0] for g in mysql_hook.get_records("SHOW GRANTS")]
    database = mysql_hook.get_first("SELECT DATABASE()")[0]
    assert len(grants) == 2
    assert grants[0].startswith("GRANT USAGE ON *.*")
    granted = re.fullmatch(r"GRANT ALL PRIVILEGES ON `(.+)`\.\* TO .+", grants[1])  # its databases, not the pipeline's
    assert granted and databases_named(granted[1], database) and not databases_named(granted[1], "recsys"), grants
    with pytest.raises(MySQLdb.OperationalError, match="denied"):
        mysql_hook.run("CREATE DATABASE recsys_intruder")
    with pytest.raises(MySQLdb.OperationalError):
        mysql_hook.get_records("SELECT user FROM mysql.user")


def test_a_migration_edited_after_it_was_applied_fails_naming_the_file(mysql_hook, tmp_path):
    import shutil

    from recsys_pipeline.migrations import EditedMigrationError
    from recsys_pipeline.sql_files import MIGRATIONS_DIR

    copied = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copied)
    apply_migrations(mysql_hook, copied)
    # Applied before checksums were kept: the first look keeps them, nothing fails.
    mysql_hook.run("UPDATE schema_migrations SET checksum = NULL")
    assert apply_migrations(mysql_hook, copied) == []
    assert mysql_hook.get_first("SELECT COUNT(*) FROM schema_migrations WHERE checksum IS NULL")[0] == 0
    edited = copied / "V007__pipeline_runs.sql"
    edited.write_text("-- a comment may change\n" + edited.read_text())
    assert apply_migrations(mysql_hook, copied) == []
    edited.write_text(edited.read_text().replace("failed_tasks VARCHAR(1024)", "failed_tasks VARCHAR(2048)"))
    with pytest.raises(EditedMigrationError, match=f"{edited}: edited after it was applied"):
        apply_migrations(mysql_hook, copied)
