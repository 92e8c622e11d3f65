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


def _command(module: str):
    def main() -> int:
        return _run(module)

    return main


generate_events, run_dag, show_results, rollback_current, params_table, land_export, create_reader = (
    _command(module) for module in ("generate_events", "run_dag", "show_results", "rollback_current", "params_table",
                                    "land_export", "create_reader_account"))
