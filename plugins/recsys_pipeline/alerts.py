"""Failure alerts, attached to every task (Airflow 3 fires a DAG-level on_failure_callback once
per failed run, not per failed task).

Each failure logs one line a log search finds (``RECSYS ALERT``: DAG, task, run date, try, the
error's first line, the log's URL) and, when the ``recsys_smtp`` connection exists and
``RECSYS_ALERT_EMAIL_TO`` names recipients, e-mails it through the SMTP provider's notifier.
Without them the e-mail is skipped, saying so. An alert that cannot be sent is logged, never
raised: the task's own failure is what matters.
"""

import html
import logging
import os

from airflow.exceptions import AirflowNotFoundException
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import BaseHook

from recsys_pipeline.config import SMTP_CONN_ID
from recsys_pipeline.templates import RUN_DATE_TASK

log = logging.getLogger(__name__)


def alert_line(context) -> str:
    ti = context["ti"]
    error = context.get("exception")
    first = (str(error).strip().splitlines() or [type(error).__name__])[0] if error else "no error recorded"
    run_date = (ti.xcom_pull(task_ids=RUN_DATE_TASK, key="run_date") if ti.task_id != RUN_DATE_TASK else None) \
        or context["params"].get("run_date") or context.get("ds") or "unknown date"
    return (f"RECSYS ALERT: {ti.dag_id}.{ti.task_id} failed for {run_date} (try {ti.try_number}): "
            f"{first[:500]} | log: {ti.log_url}")


def email_notifier(subject: str, body: str) -> SmtpNotifier | None:
    """The e-mail of one alert, or None (and why) when no SMTP connection or recipient is set."""
    recipients = [r.strip() for r in os.environ.get("RECSYS_ALERT_EMAIL_TO", "").split(",") if r.strip()]
    if not recipients:
        log.info("failure e-mail skipped: RECSYS_ALERT_EMAIL_TO names no recipient")
        return None
    try:
        BaseHook.get_connection(SMTP_CONN_ID)
    except AirflowNotFoundException:
        log.info("failure e-mail skipped: no %s connection", SMTP_CONN_ID)
        return None
    return SmtpNotifier(to=recipients, subject=subject, html_content=f"<pre>{html.escape(body)}</pre>",
                        smtp_conn_id=SMTP_CONN_ID)


def on_task_failure(context) -> None:
    """Every task's on_failure_callback."""
    line = alert_line(context)
    log.error(line)
    notifier = email_notifier(subject=line.split(" | log:")[0][:200], body=line)
    if notifier is None:
        return
    try:
        notifier.notify(context)  # notify, not __call__: the text is not a template
        log.info("failure e-mail sent to %s", ", ".join(notifier.to))
    except Exception:  # noqa: BLE001 - an alert must never hide the task's own error
        log.exception("the failure e-mail could not be sent")
