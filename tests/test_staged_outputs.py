"""A job's swap survives a kill at any point: before or between any two of its file-system
operations (and of the recovery's), every output ends old or new, never lost, and the next attempt
(or the next job) finishes or undoes it first; a second attempt waits without touching anything."""

import json
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from recsys.staged_outputs import LakeLockHeld, StagedOutputs, finish_interrupted_swaps

DAY = date(2019, 10, 1)
# Two outputs that exist (the report last, as the jobs name it) and one this version adds.
FINALS = ("events/ingest_date=2019-10-01", "quarantine/ingest_date=2019-10-01", "reports/cleaning/ingest_date=x")
OLD = {FINALS[0]: "old", FINALS[1]: None, FINALS[2]: "old"}


class Killed(BaseException):
    """The process dying: nothing after it runs."""


def versions(root: Path) -> dict:
    return {final: (root / final / "v.txt").read_text() if (root / final / "v.txt").exists() else None
            for final in FINALS}


def old_lake(root: Path) -> Path:
    for final, value in OLD.items():
        if value:
            (root / final).mkdir(parents=True)
            (root / final / "v.txt").write_text(value)
    return root


def stage_new(outputs: StagedOutputs, root: Path) -> None:
    for final in FINALS:
        staged = Path(outputs.path(str(root / final)))
        staged.mkdir(parents=True)
        (staged / "v.txt").write_text("new")


def dies_at(monkeypatch, operation: int) -> list:
    """From now on the ``operation``-th change to the file system kills the attempt (0 is the next);
    after that nothing runs. Returns the operations done."""
    done, real = [], StagedOutputs.apply

    def apply(self, *args):
        if len(done) == operation:
            done.append("killed")
            raise Killed(args)
        if done and done[-1] == "killed":
            return None  # a dead process does nothing more
        done.append(args[0])
        return real(self, *args)

    monkeypatch.setattr(StagedOutputs, "apply", apply)
    return done


def holder_dies(root: Path) -> None:
    """The lock's holder as a process that is gone (the in-process kill leaves it held by us)."""
    for lock in (root / "_staging").rglob("*.lock"):
        holder = json.loads(lock.read_text())
        gone = subprocess.Popen(["true"])
        gone.wait()
        lock.write_text(json.dumps({**holder, "pid": gone.pid}))
        lock.with_name(f".{lock.name}.crc").unlink(missing_ok=True)


def commit_operations(spark, root: Path) -> int:
    with StagedOutputs(spark, str(root), "clean_events", DAY) as outputs:
        stage_new(outputs, root)
        before = outputs.apply
        counted = []
        outputs.apply = lambda *args: (counted.append(args), before(*args))
        outputs.commit()
        return len(counted)


def test_a_kill_before_any_operation_of_the_swap_or_its_recovery_loses_nothing(spark, tmp_path, monkeypatch):
    operations = commit_operations(spark, old_lake(tmp_path / "count"))
    assert operations == 7  # the journal, two moves for each existing output, one for the new, the clean-up
    for kill in range(operations):
        root = old_lake(tmp_path / f"kill{kill}")
        outputs = StagedOutputs(spark, str(root), "clean_events", DAY).__enter__()
        stage_new(outputs, root)
        with monkeypatch.context() as patched:
            dies_at(patched, kill)
            with pytest.raises(Killed):
                outputs.commit()
            outputs.__exit__(None, None, None)  # its threads end; dead, it deletes nothing
        found = versions(root)
        # Each output holds its old or its new version; one moved aside is in the staging folder.
        for final, value in found.items():
            aside = [p for p in (root / "_staging").rglob("*.replaced") if (p / "v.txt").exists()]
            assert value in (OLD[final], "new") or (value is None and aside), (kill, final, found)
        assert found[FINALS[2]] != "new" or set(found.values()) == {"new"}  # the report goes in last
        # The killed attempt's retry is killed too, at each step of its recovery; the one after ends it.
        holder_dies(root)
        for again in range(4):
            with monkeypatch.context() as patched:
                dies_at(patched, again)
                try:
                    with StagedOutputs(spark, str(root), "clean_events", DAY):
                        pass
                except Killed:
                    holder_dies(root)
        with StagedOutputs(spark, str(root), "clean_events", DAY):
            pass
        expected = OLD if kill == 0 else dict.fromkeys(FINALS, "new")  # decided once the journal is written
        assert versions(root) == expected, kill
        assert not [p for p in (root / "_staging").rglob("*") if p.is_file()], kill


def test_a_second_attempt_waits_for_the_first_and_touches_nothing(spark, tmp_path):
    root = old_lake(tmp_path)
    with StagedOutputs(spark, str(root), "clean_events", DAY) as first:
        stage_new(first, root)
        staged = sorted(str(p) for p in (root / "_staging").rglob("v.txt"))
        with pytest.raises(LakeLockHeld, match=f'"pid": {os.getpid()}.*nothing touched'), \
                StagedOutputs(spark, str(root), "clean_events", DAY, wait_seconds=1):
            pass
        assert sorted(str(p) for p in (root / "_staging").rglob("v.txt")) == staged
        assert versions(root) == OLD
        first.commit()
    assert versions(root) == dict.fromkeys(FINALS, "new")
    with StagedOutputs(spark, str(root), "clean_events", DAY):  # free again
        pass


def test_a_removed_output_is_gone_after_the_commit_or_a_kill_at_any_step_and_the_recovery(
        spark, tmp_path, monkeypatch):
    """A withheld training run takes the date's earlier lists out with its report: the first output
    removed, the report replaced, each ending old or as the commit says, whatever is killed."""
    def commit(root: Path) -> None:
        outputs.remove(str(root / FINALS[0]))
        staged = Path(outputs.path(str(root / FINALS[2])))
        staged.mkdir(parents=True)
        (staged / "v.txt").write_text("new")
        outputs.commit()

    for kill in range(5):  # the journal, the removal, the report's two moves, the clean-up
        root = old_lake(tmp_path / f"kill{kill}")
        outputs = StagedOutputs(spark, str(root), "train_als", DAY).__enter__()
        with monkeypatch.context() as patched:
            dies_at(patched, kill)
            with pytest.raises(Killed):
                commit(root)
        outputs.__exit__(None, None, None)
        holder_dies(root)
        with StagedOutputs(spark, str(root), "train_als", DAY):
            pass
        expected = OLD if kill == 0 else {FINALS[0]: None, FINALS[1]: None, FINALS[2]: "new"}
        assert versions(root) == expected, kill
        assert not [p for p in (root / "_staging").rglob("*") if p.is_file()], kill
    root = old_lake(tmp_path / "whole")
    with StagedOutputs(spark, str(root), "train_als", DAY) as outputs:
        commit(root)
    assert versions(root) == {FINALS[0]: None, FINALS[1]: None, FINALS[2]: "new"}


KILLED_JOB = """
import os, signal, sys
from datetime import date
from pathlib import Path
from recsys.session import get_spark
from recsys.staged_outputs import StagedOutputs
from tests.test_staged_outputs import DAY, stage_new
root, moves = Path(sys.argv[1]), []
real = StagedOutputs.apply
def apply(self, operation, *args):
    if operation == "rename" and len(moves) == 1:  # the first output moved aside, the new one not in
        os.kill(os.getpid(), signal.SIGKILL)
    moves.extend([operation] if operation == "rename" else [])
    return real(self, operation, *args)
StagedOutputs.apply = apply
spark = get_spark("killed", "local[1]", {"spark.ui.enabled": "false"})
with StagedOutputs(spark, str(root), "clean_events", DAY) as outputs:
    stage_new(outputs, root)
    outputs.commit()
"""


def test_a_job_killed_for_real_between_two_moves_is_finished_by_the_next_job(spark, tmp_path):
    root = old_lake(tmp_path)
    killed = subprocess.run([sys.executable, "-c", KILLED_JOB, str(root)], capture_output=True, text=True,
                            timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert versions(root)[FINALS[0]] is None  # moved aside: the path is empty ...
    assert (root / "_staging" / "clean_events" / f"run_date={DAY}" / "0.replaced" / "v.txt").read_text() == "old"
    assert (root / "_staging" / "clean_events" / f"run_date={DAY}.lock").exists()  # ... and the holder gone
    # The next job of the pipeline, whichever it is, finishes the swap before it reads anything.
    assert finish_interrupted_swaps(spark, str(root)) == [f"file:{root}/_staging/clean_events/run_date={DAY}"]
    assert versions(root) == dict.fromkeys(FINALS, "new")
    assert not [p for p in (root / "_staging").rglob("*") if p.is_file()]
