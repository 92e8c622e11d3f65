"""Alerts: every failed task, a run late past its deadline, and the run that succeeds after a
failed one (a recovery).

Each alert logs one line a log search finds (``RECSYS ALERT``, ``RECSYS LATE`` or ``RECSYS
RECOVERED``: DAG, task or run, run date, try, the error's first line, the log's URL) and goes to
every channel configured: e-mail through the SMTP provider's notifier, when the ``recsys_smtp``
connection exists and ``RECSYS_ALERT_EMAIL_TO`` names recipients; Slack, Microsoft Teams,
PagerDuty, Discord and the rest through the Apprise provider's notifier, when the
``recsys_apprise`` connection names them.
A channel not configured is skipped, saying so. Secrets Airflow knows (connection passwords,
masked variables) are masked in the text. An alert that cannot be sent is logged, never raised:
the task's own outcome is what matters.

Airflow 3 fires a DAG-level on_failure_callback once per failed run, not per failed task: the
callback is every task's.
"""

import html
import logging
import os

from airflow.exceptions import AirflowNotFoundException
from airflow.sdk import BaseHook
from airflow.sdk._shared.secrets_masker import redact

from recsys_pipeline.config import APPRISE_CONN_ID, SMTP_CONN_ID
from recsys_pipeline.templates import RUN_DATE_TASK

log = logging.getLogger(__name__)
FAILURE, RECOVERY, LATE = "failure", "recovery", "late run"


def alert_line(context) -> str:
    ti = context["ti"]
    error = context.get("exception")
    first = (str(error).strip().splitlines() or [type(error).__name__])[0] if error else "no error recorded"
    run_date = (ti.xcom_pull(task_ids=RUN_DATE_TASK, key="run_date") if ti.task_id != RUN_DATE_TASK else None) \
        or context["params"].get("run_date") or context.get("ds") or "unknown date"
    return (f"RECSYS ALERT: {ti.dag_id}.{ti.task_id} failed for {run_date} (try {ti.try_number}): "
            f"{first[:500]} | log: {ti.log_url}")


def _has_connection(conn_id: str, channel: str, kind: str) -> bool:
    try:
        BaseHook.get_connection(conn_id)
        return True
    except AirflowNotFoundException:
        log.info("%s %s skipped: no %s connection", kind, channel, conn_id)
        return False


def email_notifier(subject: str, body: str, kind: str = FAILURE):
    """The e-mail of one alert, or None (and why) when no SMTP connection or recipient is set."""
    recipients = [r.strip() for r in os.environ.get("RECSYS_ALERT_EMAIL_TO", "").split(",") if r.strip()]
    if not recipients:
        log.info("%s e-mail skipped: RECSYS_ALERT_EMAIL_TO names no recipient", kind)
        return None
    if not _has_connection(SMTP_CONN_ID, "e-mail", kind):
        return None
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    return SmtpNotifier(to=recipients, subject=subject, html_content=f"<pre>{html.escape(body)}</pre>",
                        smtp_conn_id=SMTP_CONN_ID)


def apprise_notifier(title: str, body: str, kind: str = FAILURE):
    """The chat or paging message of one alert, or None (and why) without the Apprise connection."""
    if not _has_connection(APPRISE_CONN_ID, "message", kind):
        return None
    from airflow.providers.apprise.notifications.apprise import AppriseNotifier
    from apprise import NotifyType

    notify_type = {FAILURE: NotifyType.FAILURE, LATE: NotifyType.WARNING}.get(kind, NotifyType.SUCCESS)
    return AppriseNotifier(title=title, body=body, apprise_conn_id=APPRISE_CONN_ID, notify_type=notify_type)


def send_alert(context, line: str, kind: str = FAILURE) -> None:
    """Log the alert's line, then send it to every channel configured."""
    line = redact(line)
    if kind != RECOVERY:
        log.error(line)
    else:
        log.warning(line)
    title = line.split(" | log:")[0][:200]
    for channel, notifier in (("e-mail", email_notifier(title, line, kind)),
                              ("message", apprise_notifier(title, line, kind))):
        if notifier is None:
            continue
        try:
            notifier.notify(context)  # notify, not __call__: the text is not a template
            log.info("%s %s sent%s", kind, channel, f" to {', '.join(notifier.to)}" if channel == "e-mail" else "")
        except Exception:  # noqa: BLE001 - an alert must never hide the task's own outcome
            log.exception("the %s %s could not be sent", kind, channel)


def on_task_failure(context) -> None:
    """Every task's on_failure_callback."""
    send_alert(context, alert_line(context))


def recovery_line(dag_id: str, run_id: str, run_date, failed: tuple) -> str:
    """``failed``: the failed run recorded before this one, as results/last_recorded_run.sql reads it."""
    before_date, before_run, _, before_tasks = failed
    return (f"RECSYS RECOVERED: {dag_id} succeeded for {run_date} (run {run_id}) after the failed run for "
            f"{before_date} ({before_run}: {before_tasks or 'upstream failures'})")


def on_late_run(context, **_) -> None:
    """The DAG's deadline callback (run by the executor): a run not finished
    ``RECSYS_RUN_DEADLINE_MINUTES`` after it was queued. A backfill's runs are queued together and
    work one after another, so their lateness says nothing: logged, not sent."""
    from airflow.configuration import conf

    run, deadline = context["dag_run"], context["deadline"]
    if run["run_type"] == "backfill":
        log.info("late-run alert not sent for backfill run %s: a backfill's runs wait their turn", run["dag_run_id"])
        return
    run_date = (run.get("conf") or {}).get("run_date") or (run.get("data_interval_start") or "unknown date")[:10]
    address = f"{conf.get('api', 'base_url', fallback='').rstrip('/')}/dags/{run['dag_id']}/runs/{run['dag_run_id']}"
    send_alert(context, f"RECSYS LATE: {run['dag_id']} run {run['dag_run_id']} for {run_date} has not finished by "
                        f"its deadline {deadline['deadline_time']} (queued at {run.get('queued_at')}; "
                        f"RECSYS_RUN_DEADLINE_MINUTES) | run: {address}", LATE)
