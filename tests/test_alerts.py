"""Alerts: a task that fails logs one alert line and e-mails it through the SMTP provider's
notifier to a real SMTP server (aiosmtpd on 127.0.0.1, standing in for the mail relay) and sends it
through the Apprise provider's notifier to a real HTTP endpoint (Apprise's JSON target, standing
in for Slack, Teams or a pager), or says why nothing was sent; the run that succeeds after a failed
one sends a recovery; secrets Airflow knows never reach an alert."""

import email
import html
import json
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from recsys_tools.run_dag import DAG_ID, load_dag
from tests.airflow_services import airflow_services
from tests.helpers import write_raw

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


@pytest.fixture
def chat_endpoint(monkeypatch):
    """An HTTP endpoint on 127.0.0.1 that keeps what Apprise's json:// target posts, named by the
    recsys_apprise connection (with a password, which no alert may show)."""
    received = []

    class Keep(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            received.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Keep)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"json://alerts:{CHAT_PASSWORD}@127.0.0.1:{server.server_address[1]}/hooks/recsys"
    monkeypatch.setenv("AIRFLOW_CONN_RECSYS_APPRISE", json.dumps({
        "conn_type": "apprise", "password": CHAT_PASSWORD, "extra": {"config": {"path": url}}}))
    yield received
    server.shutdown()


CHAT_PASSWORD = "chat-s3cret-7f2a"  # noqa: S105 - a test's own


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


def test_the_scheduled_dag_has_a_deadline_whose_callback_sends_the_late_run_alert():
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import DeadlineReference

    from recsys_pipeline.config import DAGS_DIR

    [deadline] = DagBag(str(DAGS_DIR)).get_dag(DAG_ID).deadline  # as the dag-processor parses it
    assert deadline.reference == DeadlineReference.DAGRUN_QUEUED_AT
    assert deadline.interval == timedelta(minutes=180)
    assert deadline.callback.path == "recsys_pipeline.alerts.on_late_run"
    assert load_dag().deadline is None  # runs in the process (dag.test) have no scheduler to watch them


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
    assert "failure message skipped: no recsys_apprise connection" in pipeline_log.text


def test_without_a_connection_the_alert_is_logged_and_the_e_mail_skipped(tmp_path, monkeypatch, pipeline_log):
    monkeypatch.delenv("AIRFLOW_CONN_RECSYS_SMTP", raising=False)
    monkeypatch.setenv("RECSYS_ALERT_EMAIL_TO", "data-eng@recsys.test")
    assert failed_run(tmp_path)["check_raw_input"] == "failed"
    assert f"RECSYS ALERT: ecommerce_recommendations.check_raw_input failed for {MISSING_DATE}" in pipeline_log.text
    assert "failure e-mail skipped: no recsys_smtp connection" in pipeline_log.text


def input_then_record(conf: dict) -> dict:
    """check_raw_input, then record_pipeline_run (the run's outcome into pipeline_runs), through Airflow."""
    dag = load_dag().partial_subset(task_ids=["check_raw_input", "record_pipeline_run"], include_upstream=False,
                                    include_downstream=False)
    dag.get_task("check_raw_input") >> dag.get_task("record_pipeline_run")
    run = dag.test(run_conf=conf)
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def test_a_failure_then_the_recovery_reach_the_chat_endpoint_without_secrets(tmp_path, chat_endpoint, mysql_hook,
                                                                              monkeypatch, pipeline_log):
    monkeypatch.delenv("RECSYS_ALERT_EMAIL_TO", raising=False)
    conf = {"run_date": MISSING_DATE, "raw_root": str(tmp_path), "input_wait_minutes": 0.0}
    assert input_then_record(conf) == {"check_raw_input": "failed", "record_pipeline_run": "failed"}
    assert [path for path, _ in chat_endpoint] == ["/hooks/recsys"]  # record_pipeline_run's own failure: no alert
    failure = chat_endpoint[0][1]
    assert failure["type"] == "failure"
    assert failure["title"].startswith(
        f"RECSYS ALERT: ecommerce_recommendations.check_raw_input failed for {MISSING_DATE} (try 1): ")
    assert f"no raw input folder for {MISSING_DATE}" in failure["message"] and "| log: http" in failure["message"]
    assert "failure e-mail skipped: RECSYS_ALERT_EMAIL_TO names no recipient" in pipeline_log.text
    assert "failure message sent" in pipeline_log.text

    (write_raw(tmp_path, MISSING_DATE, ["x"]).parent / "_SUCCESS").touch()  # the input comes: the rerun succeeds
    assert input_then_record(conf) == {"check_raw_input": "success", "record_pipeline_run": "success"}
    assert len(chat_endpoint) == 2
    recovery = chat_endpoint[1][1]
    assert recovery["type"] == "success"
    assert recovery["title"].startswith(f"RECSYS RECOVERED: ecommerce_recommendations succeeded for {MISSING_DATE}")
    assert f"after the failed run for {MISSING_DATE} (manual__" in recovery["message"]
    assert input_then_record(conf)["record_pipeline_run"] == "success"
    assert len(chat_endpoint) == 2  # a success after a success says nothing
    sent = json.dumps(chat_endpoint)
    assert CHAT_PASSWORD not in sent and mysql_hook.get_connection("recsys_mysql").password not in sent


def test_secrets_airflow_knows_are_masked_in_every_alert(chat_endpoint, monkeypatch):
    """An error that quotes a connection's password (a driver's message, a URI) is masked."""
    from airflow.sdk import BaseHook

    from recsys_pipeline.alerts import send_alert

    monkeypatch.setenv("AIRFLOW_CONN_RECSYS_WAREHOUSE", json.dumps({"conn_type": "mysql", "password": "wh-9q8w7e"}))
    BaseHook.get_connection("recsys_warehouse")  # fetching a connection registers its password with the masker
    send_alert({}, "RECSYS ALERT: x.y failed for 2019-10-09 (try 1): cannot reach mysql://u:wh-9q8w7e@db | log: -")
    [(_, sent)] = chat_endpoint
    assert "wh-9q8w7e" not in json.dumps(sent) and "mysql://u:***@db" in sent["message"]


@pytest.mark.cost(120)
def test_a_run_still_going_past_its_deadline_sends_a_late_run_alert(tmp_path, tmp_path_factory, chat_endpoint):
    """Through a real scheduler: a run waiting for input that does not come is still going when its
    deadline (here 15 s after it was queued) passes; the executor runs the DAG's deadline callback,
    which sends the late-run alert while the run goes on."""
    home = tmp_path_factory.mktemp("airflow_home")
    with airflow_services(home, {"RECSYS_RUN_DEADLINE_MINUTES": "0.25", "RECSYS_INPUT_POKE_SECONDS": "10"}) as airflow:
        airflow.airflow("dags", "unpause", DAG_ID)
        airflow.airflow("dags", "trigger", DAG_ID, "--run-id", "late_run", "--conf", json.dumps(
            {"run_date": MISSING_DATE, "raw_root": str(tmp_path), "input_wait_minutes": 10}))
        airflow.start("dag-processor")
        airflow.start("scheduler")
        deadline = time.monotonic() + 300
        while not chat_endpoint and time.monotonic() < deadline:
            time.sleep(2)
        assert [r["state"] for r in airflow.dag_runs()["runs"]] == ["running"]  # the alert came while it ran
    [(_, late)] = chat_endpoint
    assert late["type"] == "warning"
    assert late["title"].startswith(
        f"RECSYS LATE: {DAG_ID} run late_run for {MISSING_DATE} has not finished by its deadline ")
    assert late["message"].endswith(f"/dags/{DAG_ID}/runs/late_run")
