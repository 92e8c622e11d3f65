# The project's commands. `make demo` and `make test` each set everything up first.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ENV := source scripts/env.sh
LOCAL := .local

# Demo data: 3 consecutive days of a small store (change with make demo DEMO_EVENTS=...).
DEMO_START ?= 2019-10-01
DEMO_DAYS ?= 3
DEMO_USERS ?= 10000
DEMO_PRODUCTS ?= 3000
DEMO_EVENTS ?= 180000

# The test suite's parallel workers (pytest-xdist); each beyond the first has a test database and
# an Airflow database of its own.
PYTEST_WORKERS ?= 2
# Tests are handed out one at a time, longest first (the cost marks, tests/conftest.py).
PYTEST = RECSYS_TASK_RETRIES=0 python -m pytest -n $(PYTEST_WORKERS) --dist load --maxschedchunk 1

# The benchmark's store: small (about a minute in all), 1m or 10m events over 30 days, or rees46
# (the REES46 export's size and shape: 42 million events over 31 days, a normal and a sale day measured).
SCALE ?= small

.PHONY: setup setup-python demo ui test unit lint bench bench-growth soak bench-components spark-class-archive mysql-stop clean

setup: setup-python  ## install system and Python packages, Airflow's database, a reachable MySQL
	$(ENV) && bash scripts/mysql_server.sh ensure

setup-python:  ## system and Python packages (the project installed editable) and Airflow's database
	bash scripts/bootstrap.sh

demo: setup  ## generate sample data, run the DAG for each day, print what landed in MySQL
	bash scripts/demo.sh "$(DEMO_START)" "$(DEMO_DAYS)" "$(DEMO_USERS)" "$(DEMO_PRODUCTS)" "$(DEMO_EVENTS)"

ui: setup  ## Airflow with its UI at http://127.0.0.1:8080 (user admin, password in .local/airflow/simple_auth_manager_passwords.json.generated); Ctrl-C stops it
	$(ENV) && export AIRFLOW__API__HOST=$${AIRFLOW__API__HOST:-127.0.0.1} AIRFLOW__API__PORT=$${AIRFLOW__API__PORT:-8080} \
	  && echo "ui: http://$$AIRFLOW__API__HOST:$$AIRFLOW__API__PORT/ (user admin; password: $$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated)" \
	  && airflow standalone

test: setup  ## the whole test suite (unit, MySQL integration, end-to-end through Airflow)
	$(ENV) && $(PYTEST) $(PYTEST_ARGS)

unit: setup-python  ## the tests that need no database (local Spark and Airflow only): about 3 minutes
	$(ENV) && $(PYTEST) -m unit $(PYTEST_ARGS)

bench: setup  ## the daily run at SCALE through Airflow, with its peers: .local/bench/$(SCALE)/report.{json,md}
	$(ENV) && python -m benchmarks.bench_daily --scale $(SCALE)

bench-growth: setup  ## MySQL's size after 30 daily runs of the rees46 normal day's rows (after make bench SCALE=rees46)
	$(ENV) && python -m benchmarks.bench_growth

soak: setup  ## fault soak: 10 dates backfilled through a real scheduler with faults injected, against a fault-free run (about 30 minutes; restarts the private MariaDB)
	$(ENV) && python -m benchmarks.soak

bench-components: setup  ## each part alone at 1 and 10 million rows: generator, cleaning, ALS configurations, the driver engine's bound, top-K, loads
	$(ENV) && python -m benchmarks.bench_generator
	$(ENV) && python -m benchmarks.bench_cleaning
	$(ENV) && python -m benchmarks.bench_als
	$(ENV) && python -m benchmarks.bench_engine_bound
	$(ENV) && python -m benchmarks.bench_topk
	$(ENV) && python -m benchmarks.bench_load

spark-class-archive: setup-python  ## optional: local Spark drivers start about 2 s sooner (the JVM's class-data archive, tools/spark_class_archive.py)
	$(ENV) && python -m recsys_tools.spark_class_archive

lint:
	$(ENV) && ruff check .

mysql-stop:  ## stop the private MariaDB server (data is kept under .local/mysql)
	bash scripts/mysql_server.sh stop

clean: mysql-stop  ## remove all local state: virtualenv, Airflow home, lake, MySQL data
	rm -rf $(LOCAL)
