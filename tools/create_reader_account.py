"""Create the read-only MySQL account Tableau reads the results with, or set its password again.

    RECSYS_DBA_MYSQL_CONN='{"conn_type": "mysql", "host": "db.example", "login": "dba", "password": "..."}' \\
    RECSYS_TABLEAU_PASSWORD=... recsys-create-reader [--database recsys] [--user recsys_tableau] [--host %]

The one place reader accounts are made: by a DBA on their own server, by the private server's
set-up (scripts/mysql_server.sh: recsys_tableau, and the tests' reader) and by the compose
deployment's one-shot mysql-accounts service. Run at deploy time, and to rotate the password, by
whoever administers the server, with an account of theirs that may create users and grant SELECT,
given as an Airflow connection (JSON or URI) in RECSYS_DBA_MYSQL_CONN. No account the pipeline
runs with has that right: global CREATE USER lets an account alter or drop any other. The reader
gets SELECT (and EXECUTE, for the serving procedures) on the database alone (``--databases-like``: on
every database whose name starts so).

Its password comes from RECSYS_TABLEAU_PASSWORD (or the variable ``--password-variable`` names, or
is asked for on a terminal), never from the command line, and is never printed. On MariaDB the
statements carry only its mysql_native_password hash. MySQL 8's caching_sha2_password has no stored
form this simple to compute, so there the password is a bound value in the statement (MySQL writes
the statement hashed to its logs); reach a remote server over TLS (extra {"ssl_mode": "REQUIRED"}).
"""

import argparse
import getpass
import hashlib
import os
import sys


def native_password_hash(password: str) -> str:
    """mysql_native_password's stored form of a password: '*' and HEX(SHA1(SHA1(password))); the
    one implementation (scripts/mysql_server.sh hashes the pipeline's own accounts with it)."""
    return "*" + hashlib.sha1(hashlib.sha1(password.encode()).digest()).hexdigest().upper()


def ensure_reader_account(dba, database: str, user: str, host: str, password: str, like: bool = False) -> None:
    """``user``@``host`` exists, with this password and SELECT on ``database`` (``like``: on every
    database whose name starts with it); ``dba`` a MySqlHook of an account that may make it."""
    from recsys_pipeline.mysql import transaction
    from recsys_pipeline.sql_files import read_sql

    # The cursor, not hook.run: the hook logs statements with their parameters.
    with transaction(dba) as cur:
        cur.execute(read_sql("accounts/server_version.sql"))
        mariadb = "mariadb" in cur.fetchone()[0].lower()
        flavour, secret = ("mariadb", native_password_hash(password)) if mariadb else ("mysql", password)
        cur.execute(read_sql(f"accounts/create_reader_{flavour}.sql"), (user, host, secret))
        cur.execute(read_sql(f"accounts/set_reader_password_{flavour}.sql"), (user, host, secret))
        grant = read_sql("accounts/grant_reader.sql", database=database)
        # In a GRANT, _ in a database name is a wildcard: escaped, it means this name alone.
        # (%% is a % once the driver has put the bound values in.)
        databases = database.replace("_", chr(92) + "_") + ("%%" if like else "")
        cur.execute(grant.replace(f"`{database}`", f"`{databases}`"), (user, host))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hash", action="store_true", help=argparse.SUPPRESS)  # standard input's hash, for set-ups
    parser.add_argument("--database", default="recsys", help="the database it may read (default %(default)s)")
    parser.add_argument("--user", default="recsys_tableau", help="its name (default %(default)s)")
    parser.add_argument("--host", default="%", help="where it may connect from, a host pattern (default %(default)s)")
    parser.add_argument("--databases-like", action="store_true",
                        help="SELECT on every database whose name starts with --database (the tests' workers' own)")
    parser.add_argument("--password-variable", default="RECSYS_TABLEAU_PASSWORD",
                        help="the environment variable holding its password (default %(default)s)")
    args = parser.parse_args(argv)
    if args.hash:
        print(native_password_hash(sys.stdin.read()))
        return 0
    dba = os.environ.get("RECSYS_DBA_MYSQL_CONN", "").strip()
    if not dba:
        parser.error("set RECSYS_DBA_MYSQL_CONN to your administrator account's connection (Airflow JSON or URI)")
    password = os.environ.get(args.password_variable) or (
        getpass.getpass(f"password for {args.user}: ") if sys.stdin.isatty() else "")
    if not password:
        parser.error(f"set {args.password_variable} (or run it on a terminal to be asked)")
    from airflow.models.connection import Connection

    from recsys_pipeline.mysql import RecsysMySqlHook

    conn = Connection.from_json(dba) if dba.startswith("{") else Connection(uri=dba)
    ensure_reader_account(RecsysMySqlHook(connection=conn), args.database, args.user, args.host, password,
                          like=args.databases_like)
    print(f"{args.user}@{args.host}: SELECT on {args.database}{'*' if args.databases_like else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
