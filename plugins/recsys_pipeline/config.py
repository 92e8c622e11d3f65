"""Where things are and which Airflow connections the pipeline uses.

Deployment settings come from environment variables (read when the DAG is parsed) and can be
overridden per run by the DAG's Params; credentials only ever come from Airflow connections.
"""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SPARK_JOBS_DIR = Path(os.environ.get("RECSYS_SPARK_JOBS_DIR", PROJECT_ROOT / "spark_jobs"))
SQL_DIR = PROJECT_ROOT / "include" / "sql"
BUILD_DIR = Path(os.environ.get("RECSYS_BUILD_DIR", PROJECT_ROOT / ".local" / "build"))

SPARK_CONN_ID = "recsys_spark"
MYSQL_CONN_ID = "recsys_mysql"
# Only creates the read-only Tableau account (optional; see recsys_pipeline.accounts).
MYSQL_ADMIN_CONN_ID = "recsys_mysql_admin"

DEFAULT_RAW_ROOT = os.environ.get("RECSYS_RAW_ROOT", str(PROJECT_ROOT / ".local" / "raw"))
DEFAULT_LAKE_ROOT = os.environ.get("RECSYS_LAKE_ROOT", str(PROJECT_ROOT / ".local" / "lake"))
