"""Where things are and which Airflow connections the pipeline uses.

Deployment settings come from environment variables, read when the DAG is parsed; per-run knobs
are the DAG's Params (``recsys.params``); credentials only ever come from Airflow connections.
"""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAGS_DIR = PROJECT_ROOT / "dags"
SQL_DIR = PROJECT_ROOT / "include" / "sql"
LOCAL_DIR = Path(os.environ.get("RECSYS_LOCAL", PROJECT_ROOT / ".local"))
SPARK_JOBS_DIR = Path(os.environ.get("RECSYS_SPARK_JOBS_DIR", PROJECT_ROOT / "spark_jobs"))
BUILD_DIR = Path(os.environ.get("RECSYS_BUILD_DIR", LOCAL_DIR / "build"))

SPARK_CONN_ID = "recsys_spark"
MYSQL_CONN_ID = "recsys_mysql"
# Optional: where failure alerts are e-mailed from, and the chat or paging services (Slack, Teams,
# PagerDuty, ...) they are sent to through Apprise (see recsys_pipeline.alerts).
SMTP_CONN_ID = "recsys_smtp"
APPRISE_CONN_ID = "recsys_apprise"
# Optional: the Tableau Server or Cloud site whose extracts the run refreshes (recsys_pipeline.tableau).
TABLEAU_CONN_ID = "recsys_tableau_server"

# A run not finished this long after it was queued (a scheduled run is queued as its data interval
# ends) sends a late-run alert; 0 turns the deadline off. Read when the DAG is parsed.
RUN_DEADLINE_MINUTES = float(os.environ.get("RECSYS_RUN_DEADLINE_MINUTES", "180"))
