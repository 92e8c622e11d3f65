#!/usr/bin/env bash
# Installs everything the project needs on a Debian/Ubuntu machine, idempotently:
# system packages (when missing), the virtualenv with the pinned Python packages, and an
# initialised Airflow metadata database. Safe to run again; it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
LOCAL=${RECSYS_LOCAL:-$PWD/.local}
VENV=$LOCAL/venv
mkdir -p "$LOCAL"

# --- system packages -------------------------------------------------------------------------
# pkg-config + libmariadb-dev build mysqlclient; mariadb-server gives a private MySQL server
# when no external one is configured; OpenBLAS/LAPACK make Spark ALS use native BLAS; the tests
# open the run's HTML report in headless chromium.
need=()
for pkg in pkg-config libmariadb-dev mariadb-server mariadb-client libopenblas0-pthread liblapack3 chromium; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing system packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "bootstrap: missing system packages: ${need[*]}" >&2
    echo "bootstrap: run: sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi

# --- Python -----------------------------------------------------------------------------------
PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "bootstrap: Python 3.11+ is required (found $($PY --version))" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
stamp=$VENV/.requirements.sha
want=$(cat requirements.txt requirements-dev.txt pyproject.toml 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing Python packages into $VENV (about 2 minutes the first time)"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r requirements.txt -r requirements-dev.txt
  # The project itself (recsys, recsys_pipeline, recsys_tools and the recsys-* commands), editable:
  # the one way every part of the project imports its code.
  "$VENV/bin/pip" install -q --no-deps -e .
  echo "$want" > "$stamp"
fi

source scripts/env.sh
# Spark's Python compiled for local drivers (recsys_pipeline.spark): built here so that the first
# run does not spend the seconds; a task builds it itself when it is missing.
"$VENV/bin/python" -c 'from recsys_pipeline.spark import build_compiled_pyspark_zip; build_compiled_pyspark_zip()'
# --- Spark driver's class-data archive (optional: jobs start about 2 s sooner) -------------------
# Built once per JDK, Spark jars (their paths too: an archive is valid for the classpath it was
# made with, so a clone elsewhere builds its own) and workload, about a minute, into the user's
# cache; scripts/env.sh gives it to spark-submit's JVM, the driver's
# in client mode (SPARK_SUBMIT_OPTS). A stale or missing archive is ignored by the JVM, so a
# failure here only costs the speed. The classpath must be as it will be: no SPARK_CONF_DIR.
spark_class_archive() {
  local cache=${XDG_CACHE_HOME:-$HOME/.cache}/recsys key archive partial
  # What the JVM checks before it maps an archive: the JDK, and each jar's path, size and time.
  key=$( { java -version 2>&1; readlink -f "$(command -v java)";
           stat -c '%n %s %Y' "$(readlink -f "$VENV")"/lib/python3*/site-packages/pyspark/jars/*.jar;
           cat scripts/spark_class_archive.py; } | sha256sum | cut -c1-16) || return 1
  archive=$cache/spark-driver-classes-$key.jsa
  if [ ! -s "$archive" ] && [ ! -f "$archive.failed" ]; then
    echo "bootstrap: building the Spark driver's class-data archive (about a minute, once per checkout)"
    mkdir -p "$cache" && partial=$(mktemp "$archive.XXXXXX") || return 1
    rm -f "$partial"
    if SPARK_SUBMIT_OPTS="-XX:ArchiveClassesAtExit=$partial -Xlog:cds=off,cds+dynamic=off" \
        spark-submit --master 'local[*]' --conf spark.log.level=ERROR scripts/spark_class_archive.py \
        >"$LOCAL/spark-class-archive.log" 2>&1 && [ -s "$partial" ]; then
      mv "$partial" "$archive"
    else
      rm -f "$partial"; touch "$archive.failed"  # not tried again for this JDK, Spark and workload
      echo "bootstrap: warning: no class-data archive (see $LOCAL/spark-class-archive.log); Spark jobs start slower" >&2
    fi
  fi
  mkdir -p "$LOCAL/spark"
  if [ -s "$archive" ]; then
    echo "-XX:SharedArchiveFile=$archive -Xlog:cds=off,cds+dynamic=off" > "$LOCAL/spark/submit-java-options"
  else
    rm -f "$LOCAL/spark/submit-java-options"
  fi
}
# The archive's minute of JVM work runs beside Airflow's database set-up.
(spark_class_archive || echo "bootstrap: warning: the class-data archive step failed; Spark jobs start slower" >&2) &
archive_step=$!

# --- Airflow metadata database (SQLite under .local; a real deployment uses its own) ---------
if [ ! -f "$AIRFLOW_HOME/.migrated" ]; then
  echo "bootstrap: initialising the Airflow metadata database in $AIRFLOW_HOME"
  airflow db migrate >"$LOCAL/airflow-db-migrate.log" 2>&1 || {
    tail -20 "$LOCAL/airflow-db-migrate.log" >&2; kill "$archive_step" 2>/dev/null; exit 1; }
  touch "$AIRFLOW_HOME/.migrated"
fi
wait "$archive_step"
echo "bootstrap: ok"
