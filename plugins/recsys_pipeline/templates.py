"""What the DAG's templates share: the run date, resolved once by the check_raw_input task.

Templates (task arguments and the check files in include/sql/checks) write ``{{ run_date() }}``;
the DAG registers ``MACROS`` as its user-defined macros.
"""

from jinja2 import pass_context

RUN_DATE_TASK = "check_raw_input"


@pass_context
def run_date(context) -> str:
    """The date this run processes (YYYY-MM-DD): the run_date Param, or the data interval's day."""
    return context["ti"].xcom_pull(task_ids=RUN_DATE_TASK, key="run_date")


MACROS = {"run_date": run_date}
RUN_DATE = "{{ run_date() }}"
