"""The Tableau refresh: once the day's rows are checked in MySQL, refresh the extracts named in
the Params so the dashboards show them.

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

from recsys.params import Settings
from recsys_pipeline.config import TABLEAU_CONN_ID

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
