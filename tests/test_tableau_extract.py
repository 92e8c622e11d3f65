"""The .hyper extract of the Tableau views, written from the real MySQL and read back with Hyper."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import pytest
from tableauhyperapi import Connection, HyperProcess, SqlType, Telemetry

from recsys import lake
from recsys_pipeline import tableau_extract
from recsys_pipeline.bulk_load import replace_date_rows
from recsys_pipeline.migrations import apply_migrations
from recsys_pipeline.tableau_extract import ViewColumn, hyper_type, write_hyper_extract

D1, D2, D3 = date(2019, 10, 1), date(2019, 10, 2), date(2019, 10, 3)


def facts(hook):
    apply_migrations(hook)
    brands = {D1: [("apple", "view", 2, "1400.00"), ("café", "view", 1, "0.10"), ("sony", "purchase", 1, "50.00")],
              D2: [("apple", "view", 1, "700.00"), ("café", "view", 2, "0.20"), ("sony", "view", 4, "200.00")],
              D3: [("apple", "view", 9, "9000.00")]}
    for day, rows in brands.items():
        replace_date_rows(hook, "brand_event_facts", "run_date", day, [
            {"run_date": day, "brand": b, "event_type": t, "events": n, "price_sum": Decimal(p)}
            for b, t, n, p in rows])
    replace_date_rows(hook, "hourly_event_facts", "run_date", D1, [
        {"run_date": D1, "day_of_week": 2, "hour": 18, "event_type": "purchase", "events": 3, "users": 2,
         "price_sum": Decimal("12345678901234.57"), "price_count": 3}])
    # A day without orders: no average order value, no abandonment rate (NULLs in chart_daily_activity).
    replace_date_rows(hook, "daily_kpis", "run_date", D1, [{
        "run_date": D1, "events": 4, "views": 4, "carts": 0, "removals": 0, "purchases": 0, "active_users": 2,
        "buyers": 0, "sessions": 2, "products_seen": 2, "revenue": Decimal("0.00"), "sessions_viewed": 2,
        "sessions_carted": 0, "orders": 0, "sessions_abandoned": 0, "average_order_value": None,
        "cart_abandonment_rate": None}])


@contextmanager
def opened(path, tmp_path) -> Iterator[Connection]:
    """A connection to the extract, as Tableau opens it (Hyper logs in tmp_path)."""
    with (HyperProcess(Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU, parameters={"log_dir": str(tmp_path)}) as hyper,
          Connection(hyper.endpoint, str(path)) as connection):
        yield connection


def query_extract(path, tmp_path, *queries: str) -> list[list[list]]:
    """The rows each query answers on the extract."""
    with opened(path, tmp_path) as connection:
        return [connection.execute_list_query(q) for q in queries]


def extract_tables(path, tmp_path) -> set[str]:
    with opened(path, tmp_path) as connection:
        return {f"{t.schema_name.name.unescaped}.{t.name.unescaped}" for schema in connection.catalog.get_schema_names()
                for t in connection.catalog.get_table_names(schema)}


def test_every_view_is_a_table_with_the_rows_mysql_has(mysql_hook, tmp_path, monkeypatch):
    facts(mysql_hook)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    # A view a later migration adds is picked up by its name; other views and tables are not.
    mysql_hook.run("CREATE VIEW report_brands AS SELECT DISTINCT brand FROM brand_event_facts")
    mysql_hook.run("CREATE VIEW internal_brands AS SELECT brand FROM brand_event_facts")
    path = tmp_path / "lake" / "tableau" / "recsys_views.hyper"
    assert lake.tableau_extract(str(tmp_path / "lake")) == str(path)

    written = write_hyper_extract(mysql_hook, str(path))

    views = [r[0] for r in mysql_hook.get_records(
        "SELECT table_name FROM information_schema.views WHERE table_schema = DATABASE() "
        "AND table_name REGEXP '^(chart|sheet|report)_'")]
    assert len(views) == 13 and "report_brands" in views  # 12 from the migrations
    mysql_counts = {v: mysql_hook.get_first(f"SELECT COUNT(*) FROM `{v}`")[0] for v in views}
    assert written == mysql_counts
    assert extract_tables(path, tmp_path) == {f"Extract.{v}" for v in views}
    hyper_counts = query_extract(path, tmp_path, *(f'SELECT COUNT(*) FROM "Extract"."{v}"' for v in views))
    assert {v: rows[0][0] for v, rows in zip(views, hyper_counts, strict=True)} == mysql_counts
    assert mysql_counts["sheet_price_by_brand"] == 7 and mysql_counts["report_brands"] == 3
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no staging file left behind
    assert not list((tmp_path / "cwd").iterdir())  # Hyper's logs went to the writer's temporary directory


def test_values_round_trip_exactly(mysql_hook, tmp_path):
    facts(mysql_hook)
    path = tmp_path / "out" / "views.hyper"
    write_hyper_extract(mysql_hook, str(path))
    by_brand, revenue, kpis, brands = query_extract(
        path, tmp_path,
        """SELECT brand, SUM(price_sum) FROM "Extract".sheet_price_by_brand WHERE event_type = 'view'
           AND run_date BETWEEN DATE '2019-10-01' AND DATE '2019-10-02' GROUP BY brand ORDER BY 2 DESC""",
        'SELECT run_date, day_name, revenue, purchases FROM "Extract".chart_revenue_by_day_of_week',
        'SELECT average_order_value, cart_abandonment_rate, active_users FROM "Extract".chart_daily_activity',
        """SELECT brand, octet_length(brand) FROM "Extract".sheet_price_by_brand WHERE brand LIKE 'caf%'""")
    mysql_by_brand = mysql_hook.get_records(
        "SELECT brand, SUM(price_sum) FROM sheet_price_by_brand WHERE event_type = 'view' "
        "AND run_date BETWEEN %s AND %s GROUP BY brand ORDER BY 2 DESC", parameters=(D1, D2))
    # apple 1400 + 700, sony 200, café 0.10 + 0.20: exact decimals, not 0.30000000000000004.
    assert by_brand == [["apple", Decimal("2100.00")], ["sony", Decimal("200.00")], ["café", Decimal("0.30")]]
    assert by_brand == [list(r) for r in mysql_by_brand]
    # revenue is SUM() in the view, DECIMAL(40,2) in MySQL: 16 digits come back exactly.
    [(day, day_name, amount, purchases)] = revenue
    assert (day.to_date(), day_name, amount, purchases) == (D1, "Tuesday", Decimal("12345678901234.57"), Decimal(3))
    assert kpis == [[None, None, 2]]
    assert brands == [["café", 5], ["café", 5]]  # é is two bytes in UTF-8: the text, not a re-encoding


def test_a_second_write_replaces_the_extract(mysql_hook, tmp_path):
    facts(mysql_hook)
    path = tmp_path / "out" / "views.hyper"
    first = write_hyper_extract(mysql_hook, str(path))
    write_hyper_extract(mysql_hook, str(path))
    [[[again]]] = query_extract(path, tmp_path, 'SELECT COUNT(*) FROM "Extract".sheet_price_by_brand')
    assert again == first["sheet_price_by_brand"] == 7  # the same rows in the file, not twice as many
    replace_date_rows(mysql_hook, "brand_event_facts", "run_date", D3, [
        {"run_date": D3, "brand": b, "event_type": "view", "events": 1, "price_sum": Decimal("1.00")}
        for b in ("lg", "sony")])
    written = write_hyper_extract(mysql_hook, f"file://{path}")
    [[[rows]]] = query_extract(path, tmp_path, 'SELECT COUNT(*) FROM "Extract".sheet_price_by_brand')
    assert rows == written["sheet_price_by_brand"] == first["sheet_price_by_brand"] + 1


def test_a_failing_write_leaves_the_previous_extract_as_it_was(mysql_hook, tmp_path, monkeypatch):
    facts(mysql_hook)
    path = tmp_path / "out" / "views.hyper"
    write_hyper_extract(mysql_hook, str(path))
    before = path.read_bytes()
    replace_date_rows(mysql_hook, "brand_event_facts", "run_date", D3, [])  # the next extract would differ
    reader = tableau_extract.read_batches

    def fails_midway(conn, view, columns):
        for batch in reader(conn, view, columns):
            yield batch
            raise ConnectionError("MySQL went away")

    monkeypatch.setattr(tableau_extract, "read_batches", fails_midway)
    monkeypatch.setattr(tableau_extract, "BATCH_ROWS", 1)
    with pytest.raises(ConnectionError, match="went away"):
        write_hyper_extract(mysql_hook, str(path))
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_no_views_or_an_unmappable_column_write_nothing(mysql_hook, tmp_path):
    path = tmp_path / "views.hyper"
    with pytest.raises(ValueError, match="no view matching"):
        write_hyper_extract(mysql_hook, str(path))  # an empty database: no empty extract either
    mysql_hook.run("CREATE VIEW report_opening AS SELECT 1 AS id, CAST('09:00' AS TIME) AS opens_at")
    with pytest.raises(ValueError, match="view report_opening, column opens_at: MySQL type time"):
        write_hyper_extract(mysql_hook, str(path))
    mysql_hook.run("CREATE OR REPLACE VIEW report_opening AS SELECT CAST(REPEAT('9', 39) AS DECIMAL(45, 0)) AS n")
    with pytest.raises(ValueError, match="view report_opening, column n: a value has more than 38 digits"):
        write_hyper_extract(mysql_hook, str(path))
    assert not list(tmp_path.iterdir())


def test_a_failed_copy_into_place_leaves_the_previous_extract_and_no_staging_file(mysql_hook, tmp_path, monkeypatch):
    from pyarrow import fs

    facts(mysql_hook)
    path = tmp_path / "out" / "views.hyper"
    write_hyper_extract(mysql_hook, str(path))
    before = path.read_bytes()

    real_copy = fs.copy_files

    def copy_then_fail(source, destination, **kwargs):
        real_copy(source, destination, **kwargs)  # the staged copy is there, the rename never comes
        raise OSError("the disk went away")

    monkeypatch.setattr(fs, "copy_files", copy_then_fail)
    with pytest.raises(OSError, match="the disk went away"):
        write_hyper_extract(mysql_hook, str(path))
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_an_unsigned_bigint_column_round_trips(mysql_hook, tmp_path):
    apply_migrations(mysql_hook)
    mysql_hook.run("CREATE VIEW report_big AS SELECT CAST(18446744073709551615 AS UNSIGNED) AS n, "
                   "CAST(NULL AS UNSIGNED) AS missing")
    path = tmp_path / "views.hyper"
    write_hyper_extract(mysql_hook, str(path))
    [rows] = query_extract(path, tmp_path, 'SELECT n, missing FROM "Extract".report_big')
    assert rows == [[Decimal("18446744073709551615"), None]]


def column(data_type, column_type=None, precision=None, scale=None):
    return ViewColumn("chart_x", "c", data_type, column_type or data_type, precision, scale, True)


@pytest.mark.parametrize(("mysql", "hyper"), [
    (column("tinyint", "tinyint(3) unsigned"), SqlType.small_int()),
    (column("smallint", "smallint(5) unsigned"), SqlType.int()),
    (column("int", "int(11)"), SqlType.int()),
    (column("int", "int(10) unsigned"), SqlType.big_int()),
    (column("bigint", "bigint(20)"), SqlType.big_int()),
    (column("bigint", "bigint(20) unsigned"), SqlType.numeric(20, 0)),
    (column("decimal", "decimal(18,2)", 18, 2), SqlType.numeric(18, 2)),
    (column("decimal", "decimal(44,6)", 44, 6), SqlType.numeric(38, 6)),  # a SUM() over DECIMAL(18,2)
    (column("double"), SqlType.double()),
    (column("date"), SqlType.date()),
    (column("datetime"), SqlType.timestamp()),
    (column("timestamp"), SqlType.timestamp()),
    (column("varchar", "varchar(191)"), SqlType.text()),
])
def test_mysql_types_map_to_hyper_types_that_hold_every_value(mysql, hyper):
    assert hyper_type(mysql) == hyper


def test_an_unmappable_type_names_the_view_and_the_column():
    with pytest.raises(ValueError, match="view chart_x, column c: MySQL type geometry has no Hyper type"):
        hyper_type(column("geometry"))


def test_the_task_writes_the_extract_into_the_lake_only_when_the_param_asks(mysql_hook, tmp_path, caplog):
    from airflow.sdk.exceptions import AirflowSkipException

    from recsys_pipeline.tableau import write_tableau_extract

    facts(mysql_hook)
    lake = tmp_path / "lake"
    with pytest.raises(AirflowSkipException, match="tableau_hyper_extract is off"):
        write_tableau_extract({"lake_root": str(lake)})
    assert not lake.exists()
    with caplog.at_level("INFO", logger="recsys_pipeline.tableau"):
        path = write_tableau_extract({"lake_root": str(lake), "tableau_hyper_extract": True})
    assert path == str(lake / "tableau" / "recsys_views.hyper")
    assert f"the Tableau extract is at {path}: " in caplog.text and "sheet_price_by_brand 7 rows" in caplog.text
    [[[rows]]] = query_extract(path, tmp_path, 'SELECT COUNT(*) FROM "Extract".sheet_price_by_brand')
    assert rows == 7
