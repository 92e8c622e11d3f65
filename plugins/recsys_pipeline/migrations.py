"""The MySQL schema: migrations from include/sql/migrations, applied in file-name order, once.

Accounts are not the runtime's business: the pipeline's account has rights on its own database
alone, and the read-only Tableau account is made at deploy time (scripts/mysql_server.sh, the
compose init, or recsys-create-reader run by the server's administrator)."""

import hashlib
import logging
from pathlib import Path

import MySQLdb
from airflow.providers.mysql.hooks.mysql import MySqlHook

from recsys_pipeline.mysql import mysql_hook, transaction
from recsys_pipeline.sql_files import MIGRATIONS_DIR, read_sql

log = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 300


def statements(script: str) -> list[str]:
    """Split a migration file on semicolons that end a line (comments dropped)."""
    lines = [ln for ln in script.splitlines() if not ln.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";\n") if s.strip().rstrip(";").strip()]


# What a DDL statement already applied says when it runs again: the column, key or table is
# there (MySQL 8 has no ADD COLUMN IF NOT EXISTS). DDL commits on its own, so a crash between a
# statement and the migration's bookkeeping leaves exactly this.
ALREADY_APPLIED = {1050: "table exists", 1060: "duplicate column", 1061: "duplicate key name"}


def _execute_ddl(cur, statement: str, migration: str) -> None:
    try:
        cur.execute(statement)
    except MySQLdb.OperationalError as exc:
        if exc.args[0] not in ALREADY_APPLIED:
            raise
        log.warning("%s: %s (%s): applied before a crash, kept", migration, ALREADY_APPLIED[exc.args[0]],
                    exc.args[1])


def apply_migrations(hook: MySqlHook, migrations_dir: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the migrations not yet recorded in schema_migrations, in file-name order.

    Every statement is idempotent, so a migration interrupted half-way is simply rerun; two
    callers at once take turns (a named lock), the second finding the work done. Returns the
    versions applied now.
    """
    files = sorted(migrations_dir.glob("V*.sql"))
    applied = []
    with transaction(hook) as cur:
        cur.execute(read_sql("schema/lock_schema.sql"), (LOCK_WAIT_SECONDS,))
        if cur.fetchone()[0] != 1:
            raise RuntimeError(f"another schema migration held the lock for more than {LOCK_WAIT_SECONDS} s")
        for stmt in statements(files[0].read_text()):  # schema_migrations itself
            cur.execute(stmt)
        cur.execute(read_sql("schema/applied_migrations.sql"))
        done = {row[0] for row in cur.fetchall()}
        for path in files:
            if path.stem in done:
                continue
            log.info("applying migration %s", path.name)
            for stmt in statements(path.read_text()):
                _execute_ddl(cur, stmt, path.name)
            cur.execute(read_sql("schema/record_migration.sql"), (path.stem,))
            cur.connection.commit()
            applied.append(path.stem)
        _check_unchanged(cur, files)
    return applied


class EditedMigrationError(RuntimeError):
    """A migration file changed after it was applied: the schema would not be what it says."""


def checksum(path: Path) -> str:
    """SHA-256 of a migration's statements (its comments may change)."""
    return hashlib.sha256("\n;\n".join(statements(path.read_text())).encode()).hexdigest()


def _check_unchanged(cur, files: list[Path]) -> None:
    """Every applied migration's file as it was applied; a checksum is kept the first time it is
    seen (the migrations applied just now, and those applied before checksums were kept)."""
    cur.execute(read_sql("schema/migration_checksums.sql"))
    kept = dict(cur.fetchall())
    for path in files:
        if path.stem not in kept:
            continue
        if kept[path.stem] is None:
            cur.execute(read_sql("schema/record_checksum.sql"), (checksum(path), path.stem))
        elif kept[path.stem] != checksum(path):
            raise EditedMigrationError(f"{path}: edited after it was applied to this database (its statements' "
                                       "checksum differs); put a schema change in a new migration file")
    cur.connection.commit()


def apply_schema() -> dict:
    """The apply_schema task: the MySQL schema at the newest migration (idempotent)."""
    return {"migrations_applied": apply_migrations(mysql_hook())}
