"""The recsys-* commands' entry points: each prints its results, not Airflow's log lines or
deprecation warnings; ``-v`` (``--verbose``) shows them.

Airflow sets its logging up when it is first imported, so the level is chosen here, before the
command's module (which imports Airflow) is. A level the caller exported wins.
"""

import importlib
import os
import sys
import warnings


def _run(module: str) -> int:
    verbose = {"-v", "--verbose"} & set(sys.argv[1:])
    sys.argv[1:] = [arg for arg in sys.argv[1:] if arg not in ("-v", "--verbose")]
    if not verbose:
        os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
        import airflow  # noqa: F401 - its start sets the warning filters this one goes after

        warnings.filterwarnings("ignore", category=DeprecationWarning)
    return importlib.import_module(f"recsys_tools.{module}").main()


def generate_events() -> int:
    return _run("generate_events")


def run_dag() -> int:
    return _run("run_dag")


def show_results() -> int:
    return _run("show_results")


def rollback_current() -> int:
    return _run("rollback_current")


def params_table() -> int:
    return _run("params_table")


def land_export() -> int:
    return _run("land_export")


def create_reader() -> int:
    return _run("create_reader_account")
