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
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from recsys import lake
from recsys_pipeline.config import TABLEAU_CONN_ID
from recsys_pipeline.mysql import mysql_hook
from recsys_pipeline.run_settings import run_settings

log = logging.getLogger(__name__)


def tableau_refreshes(params=None) -> list[dict]:
    """The tableau_refreshes task: one TableauOperator's arguments per extract to refresh."""
    settings = run_settings(params)
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
    ids = resolve_extracts(wanted)
    log.info("refreshing on Tableau: %s", ", ".join(f"{kind} {name!r} ({ids[kind, name]})" for kind, name in wanted))
    # How often each job's state is asked for: Tableau's refreshes take minutes (tests set less).
    poll_seconds = float(os.environ.get("RECSYS_TABLEAU_POLL_SECONDS", "20"))
    return [{"resource": kind, "find": ids[kind, name], "timeout": settings.tableau_timeout_minutes * 60,
             "check_interval": poll_seconds} for kind, name in wanted]


def resolve_extracts(wanted: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The Tableau id of each (kind, ``name`` or ``project/name``): a name that is not there, or
    that more than one project holds, fails the task naming them (the refresh never guesses)."""
    from airflow.providers.tableau.hooks.tableau import TableauHook

    ids, problems = {}, []
    with TableauHook(tableau_conn_id=TABLEAU_CONN_ID) as hook:
        listed = {kind: list(hook.get_all(resource_name=kind)) for kind in {kind for kind, _ in wanted}}
    for kind, wanted_name in wanted:
        project, _, name = wanted_name.rpartition("/") if "/" in wanted_name else ("", "", wanted_name)
        found = [item for item in listed[kind] if item.name == name and (not project or item.project_name == project)]
        if len(found) == 1:
            ids[kind, wanted_name] = found[0].id
        elif not found:
            problems.append(f"no {kind[:-1]} {wanted_name!r} on the site")
        else:
            projects = ", ".join(sorted(item.project_name for item in found))
            problems.append(f"{kind[:-1]} {name!r} is in several projects ({projects}): name it as project/name")
    if problems:
        raise AirflowFailException("Tableau refresh: " + "; ".join(problems))
    return ids


def write_tableau_extract(params=None) -> str:
    """The write_tableau_extract task: the views as a .hyper file in the lake when the Param
    tableau_hyper_extract asks for it (skipped otherwise); returns (and logs) where it is."""
    settings = run_settings(params)
    if not settings.tableau_hyper_extract:
        raise AirflowSkipException("no .hyper extract written: the Param tableau_hyper_extract is off")
    # Imported here: the Hyper API (a 290 MB native library, x86-64 Linux wheels only) is loaded by
    # the task that uses it, never when the DAG is parsed.
    from recsys_pipeline.tableau_extract import write_hyper_extract

    destination = lake.tableau_extract(settings.lake_root)
    rows = write_hyper_extract(mysql_hook(), destination)
    log.info("the Tableau extract is at %s: %s", destination, ", ".join(f"{v} {n} rows" for v, n in rows.items()))
    return destination
