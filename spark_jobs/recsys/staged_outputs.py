"""A job's per-date outputs, written beside the lake and swapped in only when the job has checked
them, so that a kill at any point (OOM, a lost node, a task timeout) leaves every output holding
its old or its new version, never neither, and the next attempt finishes or undoes the swap first.

Under ``<lake>/_staging/<job>/run_date=<date>/`` (which no reader lists):

- ``<n>/``: output n's new version, written by the job;
- ``COMMIT``: the swap's journal, the outputs in order, each replaced or removed; once it exists
  the new versions are complete and checked, and the swap only ever goes forward;
- ``<n>.replaced/``: output n's old version, moved aside during the swap.

Beside it, ``run_date=<date>.lock`` says which attempt is writing that job's date: a second
attempt waits for it (and fails after a while, naming the holder) instead of touching its files. A
holder refreshes its lock while it lives; a lock whose holder died (its process gone from this
host, or no refresh for ``STALE_SECONDS``) is taken over.
"""

import json
import os
import socket
import threading
import time
import uuid
from datetime import date

from recsys.lake import hadoop_path

HEARTBEAT_SECONDS = 10
STALE_SECONDS = 120
# How long a second attempt waits for the first (retries come 5 minutes apart at the least).
WAIT_SECONDS = float(os.environ.get("RECSYS_LAKE_LOCK_WAIT_SECONDS", "600"))
JOURNAL = "COMMIT"
REPLACE, REMOVE = "replace", "remove"


class LakeLockHeld(RuntimeError):
    """Another attempt is writing the same job's date."""


class StagedOutputs:
    """``with StagedOutputs(spark, lake_root, job, run_date) as outputs:`` takes the job's date
    (waiting for another attempt), finishes or undoes an interrupted swap, and gives with
    ``path(final)`` where to write ``final``'s new version (or with ``remove(final)`` takes it out);
    ``commit()`` swaps them in, in the order they were named (name the job's report last: readers
    take it as the sign the rest is there)."""

    def __init__(self, spark, lake_root: str, job: str, run_date: date, wait_seconds: float = WAIT_SECONDS):
        self._spark = spark
        self.staging = f"{lake_root}/_staging/{job}/run_date={run_date.isoformat()}"
        self._lock = _DateLock(self, f"{self.staging}.lock", wait_seconds)
        self._outputs: dict[str, str | None] = {}  # final -> its staged new version, None: removed

    def __enter__(self):
        self._lock.acquire()
        try:
            self.recover()
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, *_) -> None:
        self._lock.release()

    def path(self, final: str) -> str:
        staged = f"{self.staging}/{len(self._outputs)}"
        self._outputs[final] = staged
        return staged

    def remove(self, final: str) -> None:
        """Take ``final`` out of the lake with the commit: a version no reader may find any more."""
        self._outputs[final] = None

    def commit(self) -> None:
        self._lock.check_held()
        journal = [[final, REPLACE if staged else REMOVE] for final, staged in self._outputs.items()]
        self.apply("write", f"{self.staging}/{JOURNAL}", json.dumps(journal))
        self._swap(journal)

    def recover(self) -> None:
        """Finish the swap a killed attempt had decided (its journal is there), else remove what
        it staged: the live outputs were not touched yet."""
        journal = self.read(f"{self.staging}/{JOURNAL}")
        if journal is None:
            self.apply("delete", self.staging)
            return
        # A journal of the version before removals listed the outputs alone.
        self._swap([[entry, REPLACE] if isinstance(entry, str) else entry for entry in json.loads(journal)])

    def _swap(self, journal: list[list[str]]) -> None:
        for n, (final, action) in enumerate(journal):
            staged = f"{self.staging}/{n}"
            replaced = f"{staged}.replaced"
            if action == REMOVE:
                if self.exists(final):
                    self.apply("rename", final, replaced)
                continue
            if not self.exists(staged):
                if not self.exists(final):
                    raise OSError(f"{final}: neither it nor its new version {staged} is there")
                continue  # moved in before the kill
            if self.exists(final):
                if self.exists(replaced):
                    raise OSError(f"{final} is back although its old version was moved to {replaced}")
                self.apply("rename", final, replaced)
            self.apply("rename", staged, final)
        self.apply("delete", self.staging)  # the old versions, then the journal with them

    # Every change to the file system goes through apply, in one place (the tests kill there).
    def apply(self, operation: str, path: str, argument: str | None = None) -> None:
        jvm_path, fs = hadoop_path(self._spark, path)
        if operation == "delete":
            if fs.exists(jvm_path):
                fs.delete(jvm_path, True)
        elif operation == "rename":
            target = hadoop_path(self._spark, argument)[0]
            fs.mkdirs(target.getParent())
            if not fs.rename(jvm_path, target):
                raise OSError(f"could not move {path} to {argument}")
        elif operation in ("write", "create"):  # write: atomically, through a file beside it
            partial = hadoop_path(self._spark, f"{path}.partial")[0] if operation == "write" else jvm_path
            out = fs.create(partial, operation == "write")
            try:
                out.write(bytearray(argument.encode("utf-8")))
            finally:
                out.close()
            if operation == "write" and not fs.rename(partial, jvm_path):
                raise OSError(f"could not write {path}")
        else:
            raise ValueError(operation)

    def exists(self, path: str) -> bool:
        jvm_path, fs = hadoop_path(self._spark, path)
        return bool(fs.exists(jvm_path))

    def read(self, path: str) -> str | None:
        jvm_path, fs = hadoop_path(self._spark, path)
        if not fs.exists(jvm_path):
            return None
        stream = fs.open(jvm_path)
        try:
            data = self._spark.sparkContext._jvm.org.apache.commons.io.IOUtils.toByteArray(stream)
        finally:
            stream.close()
        return bytes(data).decode("utf-8")

    def modified_seconds_ago(self, path: str) -> float:
        jvm_path, fs = hadoop_path(self._spark, path)
        return time.time() - fs.getFileStatus(jvm_path).getModificationTime() / 1000

    def touch(self, path: str) -> None:
        jvm_path, fs = hadoop_path(self._spark, path)
        fs.setTimes(jvm_path, int(time.time() * 1000), -1)


def finish_interrupted_swaps(spark, lake_root: str) -> list[str]:
    """Finish every swap of the lake whose attempt was killed after deciding it (between two of
    its moves an output's path is empty, its old version in the staging folder), so that a job
    never reads the lake with a date missing. A swap whose attempt still lives is left to it.
    Every job calls this first; returns the staging folders it finished."""
    found = hadoop_path(spark, f"{lake_root}/_staging/*/run_date=*/{JOURNAL}")
    finished = []
    for status in found[1].globStatus(found[0]) or []:
        folder = status.getPath().getParent()
        job, run_date = folder.getParent().getName(), date.fromisoformat(folder.getName().split("=", 1)[1])
        try:
            with StagedOutputs(spark, lake_root, job, run_date, wait_seconds=0):
                finished.append(folder.toString())
        except LakeLockHeld as exc:
            print(f"an interrupted swap is still in progress, left to its attempt: {exc}")
    for folder in finished:
        print(f"finished the swap a killed attempt had decided: {folder}")
    return finished


class _DateLock:
    """The lock file of one job's date: who holds it (host, pid, a token of the attempt), refreshed
    by a thread while the holder lives."""

    def __init__(self, outputs: StagedOutputs, path: str, wait_seconds: float):
        self._outputs, self.path, self._wait = outputs, path, wait_seconds
        self.owner = {"host": socket.gethostname(), "pid": os.getpid(), "token": uuid.uuid4().hex,
                      "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self._stop = threading.Event()
        self._heartbeat = None

    def acquire(self) -> None:
        deadline = time.monotonic() + self._wait
        while True:
            holder = self._outputs.read(self.path)
            if holder is not None and self._dead(json.loads(holder)):
                print(f"{self.path}: taking over from an attempt that died: {holder}")
                self._outputs.apply("delete", self.path)
                holder = None
            if holder is None:
                try:
                    self._outputs.apply("create", self.path, json.dumps(self.owner))
                except Exception as exc:  # another attempt created it first: look again
                    if "FileAlreadyExists" not in str(exc):
                        raise
                else:
                    self.check_held()
                    break
            elif time.monotonic() > deadline:
                raise LakeLockHeld(f"{self.path}: another attempt is writing this job's date ({holder}); "
                                   f"waited {self._wait:g} s, nothing touched")
            else:
                time.sleep(2)
        self._heartbeat = threading.Thread(target=self._beat, name="lake-lock-heartbeat", daemon=True)
        self._heartbeat.start()

    def check_held(self) -> None:
        holder = self._outputs.read(self.path)
        if holder is None or json.loads(holder)["token"] != self.owner["token"]:
            raise LakeLockHeld(f"{self.path}: this attempt no longer holds the lock (now {holder}); nothing swapped")

    def release(self) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
            self._heartbeat = None
        holder = self._outputs.read(self.path)
        if holder is not None and json.loads(holder)["token"] == self.owner["token"]:
            self._outputs.apply("delete", self.path)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self._outputs.touch(self.path)
            except Exception as exc:  # noqa: BLE001 - a missed refresh only lets the lock age
                print(f"{self.path}: could not refresh the lock: {exc}")

    def _dead(self, holder: dict) -> bool:
        if holder.get("host") == socket.gethostname() and not _process_alive(holder.get("pid")):
            return True
        return self._outputs.modified_seconds_ago(self.path) > STALE_SECONDS


def _process_alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, TypeError, ValueError):
        return True
    return True
