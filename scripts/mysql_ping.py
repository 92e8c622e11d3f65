"""Exit 0 when the MySQL server named by an Airflow connection (JSON or URI) answers a query.

    mysql_ping.py VARIABLE    the name of the environment variable that holds the connection

Used by mysql_server.sh to decide whether a configured server is reachable. The connection is
read from the environment, not from the command line, where any user's `ps` would show its
password; nothing about it is printed, so no credential reaches a log.
"""

import os
import sys

import MySQLdb
from airflow.models.connection import Connection


def main(argv: list[str]) -> int:
    value = os.environ[argv[0]].strip()
    conn = Connection.from_json(value) if value.startswith("{") else Connection(uri=value)
    try:
        db = MySQLdb.connect(
            host=conn.host or "127.0.0.1",
            port=int(conn.port or 3306),
            user=conn.login or "",
            passwd=conn.password or "",
            database=conn.schema or "",
            connect_timeout=5,
        )
        db.cursor().execute("SELECT 1")
        db.close()
    except MySQLdb.Error as exc:
        print(f"unreachable: MySQL error {exc.args[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
