"""Create the read-only MySQL account Tableau reads the results with, or set its password again.

    RECSYS_DBA_MYSQL_CONN='{"conn_type": "mysql", "host": "db.example", "login": "dba", "password": "..."}' \\
    RECSYS_TABLEAU_PASSWORD=... recsys-create-reader [--database recsys] [--user recsys_tableau] [--host %]

Run at deploy time, and to rotate the password, by whoever administers the server, with an account
of theirs that may create users and grant SELECT, given as an Airflow connection (JSON or URI) in
RECSYS_DBA_MYSQL_CONN. No account the pipeline runs with has that right: global CREATE USER lets
an account alter or drop any other. The reader gets SELECT on the database alone.

Its password comes from RECSYS_TABLEAU_PASSWORD (or is asked for on a terminal), never from the
command line, and is never printed. On MariaDB the statements carry only its mysql_native_password
hash. MySQL 8's caching_sha2_password has no stored form this simple to compute, so there the
password is a bound value in the statement (MySQL writes the statement hashed to its logs); reach
a remote server over TLS (extra {"ssl_mode": "REQUIRED"}).
"""

import argparse
import getpass
import hashlib
import os
import sys

from airflow.models.connection import Connection
from airflow.providers.mysql.hooks.mysql import MySqlHook

from recsys_pipeline.mysql import RecsysMySqlHook, transaction
from recsys_pipeline.sql_files import read_sql


def native_password_hash(password: str) -> str:
    """mysql_native_password's stored form of a password: '*' and HEX(SHA1(SHA1(password)))."""
    return "*" + hashlib.sha1(hashlib.sha1(password.encode()).digest()).hexdigest().upper()


def ensure_reader_account(dba: MySqlHook, database: str, user: str, host: str, password: str) -> None:
    """``user``@``host`` exists, with this password and SELECT on ``database``."""
    # The cursor, not hook.run: the hook logs statements with their parameters.
    with transaction(dba) as cur:
        cur.execute(read_sql("accounts/server_version.sql"))
        mariadb = "mariadb" in cur.fetchone()[0].lower()
        flavour, secret = ("mariadb", native_password_hash(password)) if mariadb else ("mysql", password)
        cur.execute(read_sql(f"accounts/create_reader_{flavour}.sql"), (user, host, secret))
        cur.execute(read_sql(f"accounts/set_reader_password_{flavour}.sql"), (user, host, secret))
        grant = read_sql("accounts/grant_reader.sql", database=database)
        # In a GRANT, _ in a database name is a wildcard: escape it to mean this database alone.
        cur.execute(grant.replace(f"`{database}`", f"`{database.replace('_', chr(92) + '_')}`"), (user, host))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="recsys", help="the database it may read (default %(default)s)")
    parser.add_argument("--user", default="recsys_tableau", help="its name (default %(default)s)")
    parser.add_argument("--host", default="%", help="where it may connect from, a host pattern (default %(default)s)")
    args = parser.parse_args(argv)
    dba = os.environ.get("RECSYS_DBA_MYSQL_CONN", "").strip()
    if not dba:
        parser.error("set RECSYS_DBA_MYSQL_CONN to your administrator account's connection (Airflow JSON or URI)")
    password = os.environ.get("RECSYS_TABLEAU_PASSWORD") or (
        getpass.getpass(f"password for {args.user}: ") if sys.stdin.isatty() else "")
    if not password:
        parser.error("set RECSYS_TABLEAU_PASSWORD (or run it on a terminal to be asked)")
    conn = Connection.from_json(dba) if dba.startswith("{") else Connection(uri=dba)
    ensure_reader_account(RecsysMySqlHook(connection=conn), args.database, args.user, args.host, password)
    print(f"{args.user}@{args.host}: SELECT on {args.database}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
