"""A Tableau extract (.hyper file) of the views Tableau reads, for Tableau Desktop users without a
Tableau Server: they open one file and find every chart_, sheet_ and report_ view in it as a table.

``write_hyper_extract`` copies the views from MySQL into a new file in a temporary directory, then
puts it in place of the previous extract in one rename, so a failure leaves the last good one.
"""

import os
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from typing import NamedTuple

from MySQLdb.cursors import SSCursor
from tableauhyperapi import (
    Connection,
    CreateMode,
    HyperProcess,
    Inserter,
    Nullability,
    SqlType,
    TableDefinition,
    TableName,
    Telemetry,
)

from recsys_pipeline.sql_files import read_sql
from recsys_pipeline.storage import put_file

# Found by name, so a view added by a later migration is in the next extract without a code change.
VIEW_NAMES = "^(chart|sheet|report)_"
# Tableau's own extracts keep their tables in "Extract"; Desktop opens such a file like one of its own
# and offers every table there for its data model.
SCHEMA = "Extract"
BATCH_ROWS = 10_000
# Hyper's widest NUMERIC. MySQL types a SUM() of a DECIMAL at 38 digits or more (the views' DECIMAL(40,2),
# (41,0), (44,6)) though the sums of these facts are far shorter, so such columns become NUMERIC(38, scale):
# exact, and a value that would not fit is refused naming its column (Hyper's own refusal names none).
HYPER_MAX_PRECISION = 38
# NUMERIC wider than 18 digits is 128-bit, which file format 3 (Tableau Desktop 2022.4.1 or later,
# Server 2023.1) is the first to hold: the default format refuses those columns.
HYPER_SETTINGS = {"default_database_version": "3"}

_INTEGER_BITS = {"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "bigint": 64}
_HYPER_INTEGERS = ((16, SqlType.small_int), (32, SqlType.int), (64, SqlType.big_int))
_OTHER_TYPES = {"double": SqlType.double, "float": SqlType.double, "date": SqlType.date,
                "datetime": SqlType.timestamp, "timestamp": SqlType.timestamp,
                **dict.fromkeys(("char", "varchar", "tinytext", "text", "mediumtext", "longtext"), SqlType.text)}


class ViewColumn(NamedTuple):
    """One column of a view as information_schema.COLUMNS describes it."""
    view: str
    name: str
    data_type: str  # DATA_TYPE, e.g. decimal
    column_type: str  # COLUMN_TYPE, e.g. tinyint(3) unsigned
    precision: int | None
    scale: int | None
    nullable: bool


def hyper_type(column: ViewColumn) -> SqlType:
    """The Hyper type that holds every value of a MySQL column."""
    kind = column.data_type.lower()
    if kind in _INTEGER_BITS:
        # Hyper's integers are all signed: an unsigned column needs one bit more.
        bits = _INTEGER_BITS[kind] + ("unsigned" in column.column_type.lower())
        return next((make() for width, make in _HYPER_INTEGERS if bits <= width), SqlType.numeric(20, 0))
    if kind == "decimal":
        return SqlType.numeric(min(column.precision, HYPER_MAX_PRECISION), column.scale)
    if kind in _OTHER_TYPES:
        return _OTHER_TYPES[kind]()
    raise ValueError(f"view {column.view}, column {column.name}: MySQL type {column.column_type} has no Hyper type "
                     f"in recsys_pipeline.tableau_extract; cast it in the view or map it in hyper_type")


def write_hyper_extract(hook, destination: str) -> dict[str, int]:
    """Write every chart_, sheet_ and report_ view of the hook's database as a table of a .hyper
    file at ``destination`` (a local path or a URI pyarrow knows), replacing the previous file only
    once the new one is complete. Returns the rows written per table."""
    with tempfile.TemporaryDirectory(prefix="recsys-hyper-") as work:
        built = os.path.join(work, "extract.hyper")
        rows = _copy_views(hook, built, log_dir=work)
        put_file(built, destination)
    return rows


def read_batches(conn, view: str, columns: list[str]) -> Iterator[tuple[tuple, ...]]:
    """The rows of a view, a batch at a time."""
    # Unbuffered: the server sends rows as they are fetched, so a large view is never whole in memory.
    cursor = conn.cursor(SSCursor)
    try:
        cursor.execute(read_sql("tableau/read_view.sql", view=view, columns=columns))
        while batch := cursor.fetchmany(BATCH_ROWS):
            yield batch
    finally:
        cursor.close()


def _view_columns(conn) -> dict[str, list[ViewColumn]]:
    cursor = conn.cursor()
    cursor.execute(read_sql("tableau/view_columns.sql"), (VIEW_NAMES,))
    views: dict[str, list[ViewColumn]] = {}
    for row in cursor.fetchall():
        column = ViewColumn(*row[:6], nullable=bool(row[6]))
        views.setdefault(column.view, []).append(column)
    cursor.close()
    return views


def _copy_views(hook, path: str, log_dir: str) -> dict[str, int]:
    conn = hook.get_conn()
    try:
        # One snapshot for all the views, so the extract's tables agree even if a day loads meanwhile.
        conn.cursor().execute(read_sql("session/consistent_snapshot.sql"))
        views = _view_columns(conn)
        if not views:
            # An empty extract would replace a good one (a database without the migrations, say).
            raise ValueError(f"no view matching {VIEW_NAMES!r} in the database: no extract written")
        # Every column's type is checked before any row is read.
        tables = {view: _table_definition(view, columns) for view, columns in views.items()}
        with (HyperProcess(Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
                           parameters={**HYPER_SETTINGS, "log_dir": log_dir}) as hyper,
              Connection(hyper.endpoint, path, CreateMode.CREATE_AND_REPLACE) as extract):
            extract.catalog.create_schema(SCHEMA)
            return {view: _copy_view(conn, extract, tables[view], columns) for view, columns in views.items()}
    finally:
        conn.close()


def _table_definition(view: str, columns: list[ViewColumn]) -> TableDefinition:
    return TableDefinition(TableName(SCHEMA, view), [
        TableDefinition.Column(c.name, hyper_type(c), Nullability.NULLABLE if c.nullable else Nullability.NOT_NULLABLE)
        for c in columns])


def _copy_view(conn, extract: Connection, table: TableDefinition, columns: list[ViewColumn]) -> int:
    extract.catalog.create_table(table)
    narrowed = [(i, c, Decimal(10) ** (HYPER_MAX_PRECISION - c.scale)) for i, c in enumerate(columns)
                if c.data_type.lower() == "decimal" and c.precision > HYPER_MAX_PRECISION]
    # An unsigned BIGINT becomes NUMERIC(20, 0), whose Inserter takes Decimals, not the ints MySQL sends.
    as_decimal = {i for i, c in enumerate(columns)
                  if c.data_type.lower() == "bigint" and "unsigned" in c.column_type.lower()}
    written = 0
    with Inserter(extract, table) as inserter:
        for batch in read_batches(conn, columns[0].view, [c.name for c in columns]):
            if as_decimal:
                batch = [tuple(Decimal(v) if i in as_decimal and v is not None else v for i, v in enumerate(row))
                         for row in batch]
            for i, column, bound in narrowed:
                if any(row[i] is not None and abs(row[i]) >= bound for row in batch):
                    raise ValueError(f"view {column.view}, column {column.name}: a value has more than "
                                     f"{HYPER_MAX_PRECISION} digits, more than Hyper's NUMERIC holds")
            inserter.add_rows(batch)
            written += len(batch)
        inserter.execute()
    return written
