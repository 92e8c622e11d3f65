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

# --- Airflow metadata database (SQLite under .local; a real deployment uses its own) ---------
if [ ! -f "$AIRFLOW_HOME/.migrated" ]; then
  echo "bootstrap: initialising the Airflow metadata database in $AIRFLOW_HOME"
  airflow db migrate >"$LOCAL/airflow-db-migrate.log" 2>&1 || {
    tail -20 "$LOCAL/airflow-db-migrate.log" >&2; exit 1; }
  touch "$AIRFLOW_HOME/.migrated"
fi
echo "bootstrap: ok"
