"""Bulk loads into the real MySQL-compatible server: exact round trips, per-date replaces, and a
bad file that changes nothing."""

from datetime import date
from decimal import Decimal

import pytest

from recsys import lake
from recsys_pipeline.bulk_load import LoadError, load_unseen_table, replace_date_from_files
from recsys_pipeline.migrations import apply_migrations

D1, D2 = date(2019, 10, 1), date(2019, 10, 2)


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
              ("\\N", 1, 0, "0.00"), ('a\\"b', 1, 0, "0.00"), ("tab\tand\nline\r", 1, 0, "0.00"),
              # Spark's CSV writer trims characters up to 0x20 at either end unless told not to.
              (" padded\t", 1, 0, "0.00"), ("acme", 1, 0, "0.00"), ("acme\x0b", 2, 0, "0.00"),
              ("\x01solo", 1, 0, "0.00")]
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


def test_load_files_written_on_the_driver_land_as_sparks_do(spark, mysql_hook, tmp_path):
    """``lake.write_load_table`` (an Arrow table on the driver) and ``lake.write_load_files`` (a
    DataFrame) write the same lines, whatever the strings hold, but for a double quote, which
    pyarrow refuses to write unquoted: loud, never a mangled row."""
    import pyarrow as pa

    apply_migrations(mysql_hook)
    tricky = [("sony", 5, 1, "10.50"), ("back\\slash", 1, 1, "1.00"), ("ünïcødé ☕", 3, 2, "99999999999999.99"),
              ("NULL", 1, 0, "0.00"), ("", 1, 0, "0.00"), ("\\N", 1, 0, "0.00"), ("tab\tand\nline\r", 1, 0, "0.00"),
              (" padded\t", 1, 0, "0.00"), ("acme\x0b", 2, 0, "0.00"), ("\x01solo", 1, 0, "0.00")]
    frame = brands(spark, D1, tricky)
    lake.write_load_files(frame.coalesce(1), str(tmp_path / "spark"))
    lake.write_load_table(spark, frame.toArrow(), str(tmp_path / "driver"), parts=3)
    lines = {}
    for way in ("spark", "driver"):
        parts = sorted((tmp_path / way).glob("part-*.csv"))
        assert len(parts) == (1 if way == "spark" else 3) and (tmp_path / way / "_SUCCESS").exists()
        texts = [p.read_text(encoding="utf-8") for p in parts]
        assert {t.split("\n", 1)[0] for t in texts} == {"run_date\tbrand\tviews\tcarts\tpurchases\tbuyers\trevenue"}
        lines[way] = sorted(line for t in texts for line in t.split("\n")[1:] if line)
    assert lines["driver"] == lines["spark"] and len(lines["spark"]) == len(tricky)
    assert replace_date_from_files(mysql_hook, "brand_daily", "run_date", D1, str(tmp_path / "driver")) == len(tricky)
    assert sorted(table_rows(mysql_hook, "brand_daily")) == sorted(
        (D1, b, v, 0, p, p, Decimal(r)) for b, v, p, r in tricky)
    with pytest.raises(pa.ArrowInvalid):
        lake.write_load_table(spark, brands(spark, D2, [('say "hi"', 1, 0, "0.00")]).toArrow(), str(tmp_path / "q"))

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


def test_a_table_no_one_reads_yet_loads_over_several_connections_exactly_or_not_at_all(spark, mysql_hook, tmp_path):
    """As the lists are staged: every part file by one of the streams, the rows exactly once; a bad
    file or a row of another date fails the load."""
    apply_migrations(mysql_hook)
    mysql_hook.run("CREATE TABLE brands_unseen LIKE brand_daily")
    rows = [(f"brand {i}", i, i % 3, f"{i}.25") for i in range(1, 41)]
    lake.write_load_files(brands(spark, D1, rows).repartition(5), str(tmp_path / "five"))
    assert load_unseen_table(mysql_hook, "brands_unseen", D1, str(tmp_path / "five"), streams=3) == 40
    assert sorted(table_rows(mysql_hook, "brands_unseen")) == sorted(
        (D1, b, v, 0, p, p, Decimal(r)) for b, v, p, r in rows)
    mysql_hook.run("TRUNCATE TABLE brands_unseen")
    lake.write_load_files(brands(spark, D2, rows[:3]), str(tmp_path / "other_date"))
    with pytest.raises(LoadError, match=r"brands_unseen 2019-10-01: Spark wrote 3 rows, LOAD DATA took 3, "
                                        r"the table holds 0"):
        load_unseen_table(mysql_hook, "brands_unseen", D1, str(tmp_path / "other_date"))
    bad = spark.createDataFrame([(D1, "lg", "many", 0, 1, 1, "1.00")],
                                "run_date date, brand string, views string, carts long, purchases long, "
                                "buyers long, revenue string")
    lake.write_load_files(bad, str(tmp_path / "bad"))
    with pytest.raises(LoadError, match="brands_unseen: MySQL warned"):
        load_unseen_table(mysql_hook, "brands_unseen", D1, str(tmp_path / "bad"))


def test_only_the_loading_tasks_sessions_may_load_local_files(spark, mysql_hook, tmp_path):
    """LOAD DATA LOCAL INFILE lets the server ask the client for any file it can read: only the
    hook the loading tasks ask for allows it."""
    from recsys_pipeline.mysql import mysql_hook as hook_for

    apply_migrations(mysql_hook)
    lake.write_load_files(brands(spark, D1, [("sony", 5, 1, "10.50")]), str(tmp_path / "d1"))
    with pytest.raises(Exception, match="(?i)local|not allowed|rejected"):
        replace_date_from_files(hook_for(), "brand_daily", "run_date", D1, str(tmp_path / "d1"))
    assert replace_date_from_files(hook_for(loads_files=True), "brand_daily", "run_date", D1, str(tmp_path / "d1")) == 1


def test_load_data_local_sends_only_files_of_the_load_folder(spark, mysql_hook, tmp_path):
    """The server names the file a LOAD DATA LOCAL sends: a part that links outside the dataset's
    folder, or a statement naming any other file, is refused on the client, and nothing lands."""
    import MySQLdb

    from recsys_pipeline import local_infile

    apply_migrations(mysql_hook)
    secret = tmp_path / "outside" / "secret.csv"
    secret.parent.mkdir()
    secret.write_text("run_date\tbrand\tviews\tcarts\tpurchases\tbuyers\trevenue\n2019-10-01\tleaked\t1\t0\t0\t0\t0\n")
    dataset = tmp_path / "d1"
    lake.write_load_files(brands(spark, D1, [("sony", 5, 1, "10.50")]), str(dataset))
    (dataset / "part-99999-link.csv").symlink_to(secret)
    with pytest.raises(MySQLdb.OperationalError, match=f"refused: {secret} is not in the load folder {dataset}"):
        replace_date_from_files(mysql_hook, "brand_daily", "run_date", D1, str(dataset))
    assert table_rows(mysql_hook, "brand_daily") == []

    conn = mysql_hook.get_conn()
    local_infile.load_folder(conn, str(dataset))
    with pytest.raises(MySQLdb.OperationalError, match="refused: /etc/passwd is not in the load folder"):
        conn.cursor().execute("LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE brand_daily")
    fresh = mysql_hook.get_conn()  # a connection that has not named a folder sends nothing at all
    with pytest.raises(MySQLdb.OperationalError, match="is not in the load folder None"):
        fresh.cursor().execute(f"LOAD DATA LOCAL INFILE '{secret}' INTO TABLE brand_daily")
    assert table_rows(mysql_hook, "brand_daily") == []
