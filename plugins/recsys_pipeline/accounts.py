"""The read-only MySQL account that Tableau reads the results with.

Creating an account needs more rights than the pipeline's own account has (rights on its database
only), so this step uses a separate, narrow connection, ``recsys_mysql_admin``: it may create
users and hand on SELECT on the pipeline's database, nothing more. The password comes from the
environment variable ``RECSYS_TABLEAU_PASSWORD`` and is only ever a bound value: never in SQL
text, logs or rendered templates.
"""

import logging
import os

from airflow.providers.mysql.hooks.mysql import MySqlHook

from recsys_pipeline.config import MYSQL_ADMIN_CONN_ID
from recsys_pipeline.mysql import transaction
from recsys_pipeline.sql_files import read_sql

log = logging.getLogger(__name__)


def ensure_reader_account(admin: MySqlHook, database: str, user: str, password: str, host: str = "%") -> None:
    """Create (or update the password of) ``user``@``host`` with SELECT on ``database`` alone."""
    # The cursor, not hook.run: the hook logs statements with their parameters.
    with transaction(admin) as cur:
        cur.execute(read_sql("accounts/create_reader.sql"), (user, host, password))
        cur.execute(read_sql("accounts/set_reader_password.sql"), (user, host, password))
        grant = read_sql("accounts/grant_reader.sql", database=database)
        # In a GRANT, _ and % in a database name are wildcards: escape them to mean this database.
        literal = database.replace("_", "\\_").replace("%", "\\%")
        cur.execute(grant.replace(f"`{database}`", f"`{literal}`"), (user, host))
    log.info("read-only account %s@%s has SELECT on %s", user, host, database)


def ensure_tableau_account(pipeline: MySqlHook) -> str:
    """The Tableau account from the environment, if configured; says what it did."""
    password = os.environ.get("RECSYS_TABLEAU_PASSWORD")
    if not password:
        return "not managed: RECSYS_TABLEAU_PASSWORD is not set"
    user = os.environ.get("RECSYS_TABLEAU_USER", "recsys_tableau")
    host = os.environ.get("RECSYS_TABLEAU_HOST", "%")
    database = pipeline.get_first(read_sql("session/current_database.sql"))[0]
    ensure_reader_account(MySqlHook(mysql_conn_id=MYSQL_ADMIN_CONN_ID), database, user, password, host)
    return f"{user}@{host}: SELECT on {database}"
