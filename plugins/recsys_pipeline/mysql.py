"""The pipeline's MySQL connections: the hook, and the one way to run a unit of work in a
transaction."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import MySQLdb
from airflow.providers.mysql.hooks.mysql import MySqlHook
from MySQLdb.cursors import Cursor

from recsys_pipeline import local_infile
from recsys_pipeline.config import MYSQL_CONN_ID
from recsys_pipeline.sql_files import read_sql


class RecsysMySqlHook(MySqlHook):
    """The provider's hook with client network timeouts: a server that dies just as a
    LOAD DATA LOCAL starts otherwise leaves the client waiting about 100 s (measured) before the
    fault surfaces and can be retried. Longer than the slowest single statement must take."""

    def _get_conn_config_mysql_client(self, conn) -> dict:
        config = super()._get_conn_config_mysql_client(conn)
        seconds = int(os.environ.get("RECSYS_MYSQL_NET_TIMEOUT_SECONDS", "600"))
        # Explicitly off unless asked for: MariaDB's client library allows it by default.
        return {**config, "read_timeout": seconds, "write_timeout": seconds, "local_infile": int(self.local_infile)}

    def get_conn(self):
        conn = super().get_conn()
        if self.local_infile:  # the server may then ask for files: only the current load's are sent
            local_infile.install(conn)
        return conn


def mysql_hook(conn_id: str = MYSQL_CONN_ID, loads_files: bool = False) -> MySqlHook:
    """The hook of a connection; ``loads_files`` allows LOAD DATA LOCAL INFILE on its sessions,
    which only the tasks that bulk-load the lake's files need, and then only of the folder each
    load names (``recsys_pipeline.local_infile``)."""
    return RecsysMySqlHook(mysql_conn_id=conn_id, local_infile=loads_files)


@contextmanager
def transaction(hook: MySqlHook) -> Iterator[Cursor]:
    """A cursor on a new connection, in a transaction committed when the block ends and rolled
    back when it raises; the connection is closed either way.

    Row locks are waited for at most RECSYS_MYSQL_LOCK_WAIT_SECONDS (a timeout is retried as a
    transient fault by ``retry.with_retries``).
    """
    conn = hook.get_conn()
    try:
        hook.set_autocommit(conn, False)
        cursor = conn.cursor()
        cursor.execute(read_sql("session/set_lock_wait.sql"),
                       (int(os.environ.get("RECSYS_MYSQL_LOCK_WAIT_SECONDS", "50")),))
        yield cursor
        conn.commit()
    except BaseException:
        # After a dropped connection the server has rolled back already, and the first error is
        # the one worth raising.
        _quietly(conn.rollback)
        raise
    finally:
        _quietly(conn.close)


def _quietly(action) -> None:
    try:
        action()
    except MySQLdb.Error:
        pass
