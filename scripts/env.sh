# Sourced by the Makefile's recipes and scripts: the local deployment's environment.
# Anything already set in the caller's environment wins, so a user points the pipeline at their
# own MySQL server or Spark cluster by exporting the AIRFLOW_CONN_* variables before `make`.
_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export RECSYS_LOCAL=${RECSYS_LOCAL:-$_root/.local}
export PATH="$RECSYS_LOCAL/venv/bin:$PATH"
export AIRFLOW_HOME=${AIRFLOW_HOME:-$RECSYS_LOCAL/airflow}
export AIRFLOW__CORE__DAGS_FOLDER=${AIRFLOW__CORE__DAGS_FOLDER:-$_root/dags}
export AIRFLOW__CORE__PLUGINS_FOLDER=${AIRFLOW__CORE__PLUGINS_FOLDER:-$_root/plugins}
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__UNIT_TEST_MODE=${AIRFLOW__CORE__UNIT_TEST_MODE:-False}
# Spark's Python workers must use the virtualenv's interpreter (pyspark, pandas, pyarrow).
export PYSPARK_PYTHON=${PYSPARK_PYTHON:-$RECSYS_LOCAL/venv/bin/python}
# JVM options of spark-submit, which runs the driver in client mode: the optional class-data
# archive of `make spark-class-archive` (a stale one is ignored by the JVM). Options exported before win.
if [ -z "${SPARK_SUBMIT_OPTS:-}" ] && [ -f "$RECSYS_LOCAL/spark/submit-java-options" ]; then
  SPARK_SUBMIT_OPTS=$(cat "$RECSYS_LOCAL/spark/submit-java-options"); export SPARK_SUBMIT_OPTS
fi
export RECSYS_RAW_ROOT=${RECSYS_RAW_ROOT:-$RECSYS_LOCAL/raw}
export RECSYS_LAKE_ROOT=${RECSYS_LAKE_ROOT:-$RECSYS_LOCAL/lake}
# Where a run's raw_root and lake_root Params may point (recsys_pipeline.run_settings): on a laptop,
# anywhere under .local (the benchmarks' stores are there).
export RECSYS_ALLOWED_ROOTS=${RECSYS_ALLOWED_ROOTS:-$RECSYS_LOCAL}
export AIRFLOW_CONN_RECSYS_SPARK=${AIRFLOW_CONN_RECSYS_SPARK:-'{"conn_type": "spark", "host": "local[*]"}'}
# The private MySQL server's connection (written by scripts/mysql_server.sh, mode 600).
if [ -z "${AIRFLOW_CONN_RECSYS_MYSQL:-}" ] && [ -f "$RECSYS_LOCAL/mysql/connections.env" ]; then
  set -a; . "$RECSYS_LOCAL/mysql/connections.env"; set +a
fi
unset _root
