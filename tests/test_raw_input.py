"""Step 1: the Params agree, and the raw input check names the folder or file and the problem."""

import gzip
import re
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from recsys.raw_format import RAW_HEADER
from recsys_pipeline.migrations import apply_migrations
from recsys_pipeline.raw_input import InputNotReady, RawInputError, day_files, refuse_future_run_date, resolve_run_date
from recsys_pipeline.run_lock import take_run_lock
from recsys_tools.run_dag import load_dag
from tests.helpers import write_raw

D = date(2019, 10, 1)


def test_plain_and_gzip_files_with_the_header_pass(tmp_path):
    plain = write_raw(tmp_path, "2019-10-01", ["x"])
    zipped = plain.with_name("more.csv.gz")
    zipped.write_bytes(gzip.compress((RAW_HEADER + "\r\nx\r\n").encode()))
    (plain.parent / "notes.txt").write_text("ignored")
    assert day_files(str(tmp_path), D) == [str(plain), str(zipped)]


def test_a_header_after_a_byte_order_mark_passes(tmp_path):
    """As Spark reads it (the mark is removed and counted): the day is not refused for it."""
    marked = write_raw(tmp_path, "2019-10-01", ["x"], header="\ufeff" + RAW_HEADER)
    assert day_files(str(tmp_path), D) == [str(marked)]


def test_missing_folder_empty_folder_and_wrong_header_fail_clearly(tmp_path):
    with pytest.raises(RawInputError, match=r"2019-10-01: no raw input folder for 2019-10-01"):
        day_files(str(tmp_path), D)
    (tmp_path / "2019-10-01").mkdir()
    with pytest.raises(RawInputError, match=r"no \*.csv or \*.csv.gz files"):
        day_files(str(tmp_path), D)
    bad = write_raw(tmp_path, "2019-10-01", ["x"], header="time,type")
    with pytest.raises(RawInputError, match=rf"{bad}: header is 'time,type'"):
        day_files(str(tmp_path), D)
    bad.unlink()
    (tmp_path / "2019-10-01" / "broken.csv.gz").write_bytes(b"not gzip at all")
    with pytest.raises(RawInputError, match="broken.csv.gz: not a readable gzip file"):
        day_files(str(tmp_path), D)


def test_run_date_comes_from_the_param_or_the_data_interval():
    assert resolve_run_date("2019-10-05", datetime(2019, 10, 1)) == date(2019, 10, 5)
    assert resolve_run_date(None, datetime(2019, 10, 1, 0, 0)) == D
    with pytest.raises(ValueError, match="not a YYYY-MM-DD date"):
        resolve_run_date("05/10/2019", None)
    with pytest.raises(ValueError, match="trigger it with the run_date Param"):
        resolve_run_date(None, None)


def test_without_a_marker_a_file_must_be_settled_before_it_is_read(tmp_path):
    path = write_raw(tmp_path, "2019-10-01", ["x"])
    written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    with pytest.raises(InputNotReady, match=r"events.csv changed less than 60 s ago and there is no _SUCCESS marker"):
        day_files(str(tmp_path), D, settle_seconds=60, now=written + timedelta(seconds=30))
    assert day_files(str(tmp_path), D, settle_seconds=60, now=written + timedelta(seconds=61)) == [str(path)]
    (path.parent / "_SUCCESS").touch()  # the exporter says the day is whole: no need to wait
    assert day_files(str(tmp_path), D, settle_seconds=60, now=written) == [str(path)]
    (path.parent / ".events.csv.part").write_text("in progress")  # an exporter's hidden temporary file
    (path.parent / "_tmp.csv").write_text("in progress")
    assert day_files(str(tmp_path), D, settle_seconds=60, now=written) == [str(path)]


def run_input_check(conf: dict) -> tuple[str, dict]:
    """check_raw_input alone, through Airflow: its final state and what it pushed."""
    dag = load_dag().partial_subset(task_ids=["check_raw_input"], include_upstream=False, include_downstream=False)
    ti = dag.test(run_conf=conf).get_task_instance("check_raw_input")
    pushed = {key: ti.xcom_pull(task_ids="check_raw_input", key=key) for key in ("run_date", "files", "file_names",
                                                                      "raw_megabytes")}
    return str(ti.state), pushed


def test_the_check_waits_for_a_late_file_then_hands_on_the_date_and_files(tmp_path, pipeline_log, monkeypatch,
                                                                           mysql_hook):
    monkeypatch.setenv("RECSYS_INPUT_POKE_SECONDS", "1")
    conf = {"run_date": "2019-10-01", "raw_root": str(tmp_path), "input_wait_minutes": 1.0}
    path = tmp_path / "2019-10-01" / "events.csv"

    def deliver_late():
        time.sleep(3)
        write_raw(tmp_path, "2019-10-01", ["x"])
        (path.parent / "_SUCCESS").touch()

    late = threading.Thread(target=deliver_late)
    started = time.monotonic()
    late.start()
    state, pushed = run_input_check(conf)
    late.join()
    assert state == "success" and pushed == {"run_date": "2019-10-01", "files": [str(path)],
                                             "file_names": ["events.csv"],
                                             "raw_megabytes": path.stat().st_size / 1e6}
    assert 3 <= time.monotonic() - started < 30  # it waited for the file, in reschedule mode


@pytest.mark.parametrize("conf, error", [
    ({"input_wait_minutes": 0.0},
     r"2019-10-01: no raw input folder for 2019-10-01 \(gave up after input_wait_minutes=0\)"),
    ({"eval_days": 30, "window_days": 30}, r"eval_days \(30\) must be less than window_days \(30\)"),
    ({"top_n": 5}, r"unknown Params \['top_n'\]"),
    ({"run_date": "2030-01-01"}, r"run_date 2030-01-01 is after this run's data interval"),
])
def test_the_check_fails_at_once_naming_the_problem(tmp_path, pipeline_log, monkeypatch, conf, error):
    monkeypatch.setenv("RECSYS_TASK_RETRIES", "2")  # none of these is worth a retry: none happens
    state, _ = run_input_check({"run_date": "2019-10-01", "raw_root": str(tmp_path), **conf})
    assert state == "failed"
    assert re.search(r"RECSYS ALERT: ecommerce_recommendations.check_raw_input failed for \S+ \(try 1\): .*" + error,
                     pipeline_log.text), pipeline_log.text[-2000:]


def test_a_file_still_being_written_is_not_read(tmp_path, pipeline_log):
    write_raw(tmp_path, "2019-10-01", ["x"])
    state, _ = run_input_check({"run_date": "2019-10-01", "raw_root": str(tmp_path), "input_wait_minutes": 0.0,
                                "input_settle_seconds": 600.0})
    assert state == "failed" and "changed less than 600 s ago and there is no _SUCCESS marker" in pipeline_log.text


def test_a_future_date_runs_when_allowed(tmp_path, mysql_hook):
    path = write_raw(tmp_path, "2030-01-01", ["x"])
    (path.parent / "_SUCCESS").touch()
    state, pushed = run_input_check({"run_date": "2030-01-01", "raw_root": str(tmp_path),
                                     "allow_future_run_date": True})
    assert state == "success" and pushed["run_date"] == "2030-01-01"
    with pytest.raises(ValueError, match="which ends 2019-10-05"):
        refuse_future_run_date(date(2019, 10, 6), None, today=date(2019, 10, 5))
    refuse_future_run_date(date(2019, 10, 6), None, today=date(2019, 10, 6))


def test_a_run_waits_while_the_run_before_it_is_unfinished(tmp_path, pipeline_log, mysql_hook):
    """Whoever started them (scheduler, backfill, trigger), runs never overlap: a run whose
    predecessor (by logical date) is still running waits, and goes on once it has finished."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunType

    path = write_raw(tmp_path, "2019-10-01", ["x"])
    (path.parent / "_SUCCESS").touch()
    earlier = datetime.now(UTC)  # the latest run before the one the check is part of
    run_id = f"test_unfinished_{earlier.timestamp()}"
    with create_session() as session:
        session.add(DagRun(dag_id="ecommerce_recommendations", run_id=run_id, logical_date=earlier, run_after=earlier,
                           run_type=DagRunType.MANUAL, state=DagRunState.RUNNING, conf={}))
    try:
        conf = {"run_date": "2019-10-01", "raw_root": str(tmp_path), "input_wait_minutes": 0.0}
        state, _ = run_input_check(conf)
        assert state == "failed"
        assert f"the run before this one ({run_id}) is still running: runs of this DAG never overlap" \
            in pipeline_log.text
    finally:
        with create_session() as session:
            session.query(DagRun).filter(DagRun.run_id == run_id).update({"state": DagRunState.SUCCESS})
    state, pushed = run_input_check(conf)
    assert state == "success" and pushed["run_date"] == "2019-10-01"


def test_a_run_waits_while_another_holds_the_run_lock_and_takes_it_once_that_run_ended(
        tmp_path, pipeline_log, mysql_hook):
    """A run of any date (here one without a logical date, as a manual run may be) that holds the
    lock keeps every other run waiting, saying which; once Airflow says it ended, the lock is taken."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunType

    path = write_raw(tmp_path, "2019-10-01", ["x"])
    (path.parent / "_SUCCESS").touch()
    run_id = f"test_holder_{time.time()}"
    with create_session() as session:
        session.add(DagRun(dag_id="ecommerce_recommendations", run_id=run_id, logical_date=None,
                           run_after=datetime.now(UTC), run_type=DagRunType.MANUAL, state=DagRunState.RUNNING,
                           conf={}))
    apply_migrations(mysql_hook)
    assert take_run_lock(mysql_hook, "ecommerce_recommendations", run_id, date(2019, 9, 1), lambda *_: True) is None
    conf = {"run_date": "2019-10-01", "raw_root": str(tmp_path), "input_wait_minutes": 0.0}
    try:
        assert run_input_check(conf)[0] == "failed"
        assert f"ecommerce_recommendations run {run_id} (for 2019-09-01, since " in pipeline_log.text
        assert "is in progress: runs never overlap on a database and its lake" in pipeline_log.text
    finally:
        with create_session() as session:
            session.query(DagRun).filter(DagRun.run_id == run_id).update({"state": DagRunState.FAILED})
    state, pushed = run_input_check(conf)
    assert state == "success" and pushed["run_date"] == "2019-10-01"
    assert mysql_hook.get_first("SELECT run_id FROM pipeline_run_lock")[0] != run_id
