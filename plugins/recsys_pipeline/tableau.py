"""Tableau: once the day's rows are checked in MySQL, refresh the extracts named in the Params so
the dashboards show them, and, for Tableau Desktop without a server, write the views as a .hyper
file (``write_tableau_extract``, with ``recsys_pipeline.tableau_extract``).

``tableau_refreshes`` decides what to refresh, one mapped ``TableauOperator`` (the Tableau
provider's own) refreshes each extract and waits for its job. Without extracts named or without
the ``recsys_tableau_server`` connection the refresh is skipped, saying why: a deployment without Tableau
(or one that schedules its refresh on the DAG's Assets) runs green.
"""

import logging
import os

from airflow.exceptions import AirflowNotFoundException
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowSkipException

from recsys import lake
from recsys.params import Settings
from recsys_pipeline.config import TABLEAU_CONN_ID
from recsys_pipeline.mysql import mysql_hook

log = logging.getLogger(__name__)


def tableau_refreshes(params=None) -> list[dict]:
    """The tableau_refreshes task: one TableauOperator's arguments per extract to refresh."""
    settings = Settings.from_params(params)
    wanted = ([("datasources", name) for name in settings.tableau_datasources]
              + [("workbooks", name) for name in settings.tableau_workbooks])
    if not wanted:
        raise AirflowSkipException(
            "Tableau refresh skipped: no extract named (Params tableau_datasources, tableau_workbooks)")
    try:
        BaseHook.get_connection(TABLEAU_CONN_ID)
    except AirflowNotFoundException:
        raise AirflowSkipException(
            f"Tableau refresh skipped: no {TABLEAU_CONN_ID} connection, so {len(wanted)} extract(s) "
            f"named in the Params were not refreshed") from None
    log.info("refreshing on Tableau: %s", ", ".join(f"{kind} {name!r}" for kind, name in wanted))
    # How often each job's state is asked for: Tableau's refreshes take minutes (tests set less).
    poll_seconds = float(os.environ.get("RECSYS_TABLEAU_POLL_SECONDS", "20"))
    return [{"resource": kind, "find": name, "timeout": settings.tableau_timeout_minutes * 60,
             "check_interval": poll_seconds} for kind, name in wanted]


def write_tableau_extract(params=None) -> str:
    """The write_tableau_extract task: the views as a .hyper file in the lake when the Param
    tableau_hyper_extract asks for it (skipped otherwise); returns (and logs) where it is."""
    settings = Settings.from_params(params)
    if not settings.tableau_hyper_extract:
        raise AirflowSkipException("no .hyper extract written: the Param tableau_hyper_extract is off")
    # Imported here: the Hyper API (a 290 MB native library, x86-64 Linux wheels only) is loaded by
    # the task that uses it, never when the DAG is parsed.
    from recsys_pipeline.tableau_extract import write_hyper_extract

    destination = lake.tableau_extract(settings.lake_root)
    rows = write_hyper_extract(mysql_hook(), destination)
    log.info("the Tableau extract is at %s: %s", destination, ", ".join(f"{v} {n} rows" for v, n in rows.items()))
    return destination
