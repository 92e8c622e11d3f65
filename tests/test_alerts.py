"""Failure alerts: a task that fails logs one alert line and e-mails it through the SMTP
provider's notifier to a real SMTP server (aiosmtpd on 127.0.0.1, standing in for the mail
relay), or says why no e-mail was sent."""

import email
import html
import json
import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from recsys_tools.run_dag import load_dag

MISSING_DATE = "2019-10-09"  # no raw input: check_raw_input fails at once, before any Spark job


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp_server():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def failed_run(tmp_path):
    """check_raw_input alone (no Spark, no MySQL) failing for a date without input."""
    dag = load_dag().partial_subset(task_ids=["check_raw_input"], include_upstream=False, include_downstream=False)
    run = dag.test(run_conf={"run_date": MISSING_DATE, "raw_root": str(tmp_path), "input_wait_minutes": 0.0})
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def test_every_task_retries_with_backoff_and_alerts_on_its_own_failure():
    from recsys_pipeline.alerts import on_task_failure

    for task in load_dag().tasks:
        if task.task_id == "record_pipeline_run":  # it fails when another task did: alerted already
            assert not task.on_failure_callback
            continue
        assert task.on_failure_callback == [on_task_failure], task.task_id
        assert task.retry_exponential_backoff == 2.0 and task.max_retry_delay == timedelta(hours=1), task.task_id


def test_a_failed_task_is_e_mailed_with_its_date_error_and_log(tmp_path, smtp_server, monkeypatch, pipeline_log):
    port, inbox = smtp_server
    monkeypatch.setenv("AIRFLOW_CONN_RECSYS_SMTP", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": port,
        "extra": {"from_email": "airflow@recsys.test", "disable_tls": True, "disable_ssl": True, "timeout": 5}}))
    monkeypatch.setenv("RECSYS_ALERT_EMAIL_TO", "data-eng@recsys.test, oncall@recsys.test")
    states = failed_run(tmp_path)
    assert states == {"check_raw_input": "failed"}
    assert len(inbox.messages) == 1
    recipients, message = inbox.messages[0]
    assert recipients == ["data-eng@recsys.test", "oncall@recsys.test"]
    subject = message["Subject"]
    assert subject.startswith(
        f"RECSYS ALERT: ecommerce_recommendations.check_raw_input failed for {MISSING_DATE} (try 1): ")
    body = message.get_payload(decode=True).decode() if not message.is_multipart() else \
        message.get_payload()[0].get_payload(decode=True).decode()
    # The subject is the alert's first 200 characters (how much of the error fits depends on the
    # input's path); the body holds all of it and the log's address.
    assert len(subject) <= 200 and subject in html.unescape(body)
    assert f"{MISSING_DATE}: no raw input folder for {MISSING_DATE}" in html.unescape(body)
    assert "| log: " in body and "check_raw_input" in body
    assert "failure e-mail sent to data-eng@recsys.test, oncall@recsys.test" in pipeline_log.text


def test_without_a_connection_the_alert_is_logged_and_the_e_mail_skipped(tmp_path, monkeypatch, pipeline_log):
    monkeypatch.delenv("AIRFLOW_CONN_RECSYS_SMTP", raising=False)
    monkeypatch.setenv("RECSYS_ALERT_EMAIL_TO", "data-eng@recsys.test")
    assert failed_run(tmp_path)["check_raw_input"] == "failed"
    assert f"RECSYS ALERT: ecommerce_recommendations.check_raw_input failed for {MISSING_DATE}" in pipeline_log.text
    assert "failure e-mail skipped: no recsys_smtp connection" in pipeline_log.text
