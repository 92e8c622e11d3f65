"""Profile one of the pipeline's Spark jobs as the DAG submits it, with Spark's own metrics.

    python -m benchmarks.profile_spark_job clean_events 2019-10-30 --raw-root R --lake-root L [--conf k=v ...]

Runs ``spark-submit`` on local[*] with the DAG's conf and the shared package zip, with Spark's
event log on, and prints where the wall time went: from the command to the SparkContext (the
launcher, the JVM, Python and the context's start), each Spark job in turn (its stages' task time
and GC), the driver's time between jobs (planning, Python), and from the last job to the process's
exit. ``--repeat`` runs it again (the job rewrites the same output; every job is idempotent).
``--log-only`` leaves the event log off and prints the job's own lines with the seconds since the
command (train_als says when each of its steps ends). ``PROFILE_PY_FILES`` (comma-separated
archives) replaces what the DAG would ship with --py-files, to compare another build of the package.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def submit_command(job: str, run_date: str, params: dict, conf: dict[str, str], event_dir: Path) -> list[str]:
    from recsys.params import Settings
    from recsys_pipeline.config import SPARK_JOBS_DIR
    from recsys_pipeline.spark import build_package_zip

    settings = Settings.from_json(json.dumps(params))
    driver_memory = (settings.als_driver_memory or settings.spark_driver_memory) if job == "train_als" \
        else settings.spark_driver_memory
    every = {"spark.log.level": "WARN", "spark.driver.memory": driver_memory, "spark.eventLog.enabled": "true",
             "spark.eventLog.dir": event_dir.as_uri(), "spark.eventLog.compress": "false", **conf}
    command = ["spark-submit", "--master", "local[*]", "--name", f"recsys_{job}",
               "--py-files", os.environ.get("PROFILE_PY_FILES") or str(build_package_zip())]
    for key, value in every.items():
        command += ["--conf", f"{key}={value}"]
    return command + [str(SPARK_JOBS_DIR / f"{job}.py"), "--run-date", run_date, "--params", settings.to_json()]


def read_events(event_dir: Path) -> list[dict]:
    """The application's events, from its one log (Spark 4 writes a folder of rolled files)."""
    logs = [p for p in event_dir.iterdir() if not p.name.startswith(".")]
    if len(logs) != 1:
        raise SystemExit(f"{event_dir}: expected one event log, found {[p.name for p in logs]}")
    files = sorted(logs[0].glob("events_*"), key=lambda f: int(f.name.split("_")[1])) if logs[0].is_dir() else logs
    return [json.loads(line) for f in files for line in f.read_text().splitlines()]


def phases(events: list[dict], started_ms: float, ended_ms: float) -> list[tuple[str, float, str]]:
    """(phase, seconds, detail) in time order, adding up to the whole wall time."""
    app_start = next(e["Timestamp"] for e in events if e["Event"] == "SparkListenerApplicationStart")
    app_end = next((e["Timestamp"] for e in events if e["Event"] == "SparkListenerApplicationEnd"), ended_ms)
    stage_names, task_ms, gc_ms = {}, {}, {}
    for e in events:
        if e["Event"] == "SparkListenerStageCompleted":
            stage_names[e["Stage Info"]["Stage ID"]] = e["Stage Info"]["Stage Name"]
        elif e["Event"] == "SparkListenerTaskEnd" and e.get("Task Metrics"):
            stage = e["Stage ID"]
            task_ms[stage] = task_ms.get(stage, 0) + e["Task Metrics"]["Executor Run Time"]
            gc_ms[stage] = gc_ms.get(stage, 0) + e["Task Metrics"]["JVM GC Time"]
    jobs = {}
    for e in events:
        if e["Event"] == "SparkListenerJobStart":
            jobs[e["Job ID"]] = {"start": e["Submission Time"], "stages": e["Stage IDs"]}
        elif e["Event"] == "SparkListenerJobEnd":
            jobs[e["Job ID"]]["end"] = e["Completion Time"]
    # Consecutive jobs from one line of the job's code are one step (Spark runs a query's
    # broadcasts and subqueries as jobs of their own, side by side).
    steps = []
    for job in sorted(jobs.values(), key=lambda j: j["start"]):
        ran = [s for s in job["stages"] if s in stage_names]
        name = stage_names[ran[-1]] if ran else "(skipped)"
        busy = sum(task_ms.get(s, 0) for s in ran)
        gc = sum(gc_ms.get(s, 0) for s in ran)
        if steps and (steps[-1]["name"] == name or job["start"] < steps[-1]["end"]):
            last = steps[-1]
            last.update(end=max(last["end"], job["end"]), jobs=last["jobs"] + 1, busy=last["busy"] + busy,
                        gc=last["gc"] + gc)
        else:
            steps.append({"name": name, "start": job["start"], "end": job["end"], "jobs": 1, "busy": busy, "gc": gc})
    out = [("spark-submit to SparkContext started", (app_start - started_ms) / 1000, "launcher, JVM, Python, context")]
    cursor = app_start
    for step in steps:
        begin = step["start"] if step["start"] - cursor > 500 else cursor  # short gaps go to the step
        if begin > cursor:
            out.append(("driver alone", (begin - cursor) / 1000, "planning, Python, numpy, listing files"))
        out.append((f"at +{(step['start'] - app_start) / 1000:.0f} s: {step['name']}", (step["end"] - begin) / 1000,
                    f"{step['jobs']} jobs, task time {step['busy'] / 1000:.2f} s, GC {step['gc'] / 1000:.2f} s"))
        cursor = step["end"]
    out.append(("last job to the context's stop", (app_end - cursor) / 1000, "driver: reports, commit"))
    out.append(("stop to the process's exit", (ended_ms - app_end) / 1000, "shutdown"))
    return out


def stamped_run(command: list[str]) -> None:
    """Run ``command``, printing each line of its output after the seconds since it started."""
    started = time.monotonic()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as job:
        for line in job.stdout:
            print(f"{time.monotonic() - started:8.1f} {line}", end="", flush=True)
    print(f"{time.monotonic() - started:8.1f} exit {job.returncode}")
    if job.returncode:
        raise SystemExit(job.returncode)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", choices=["clean_events", "build_interactions", "eda_summaries", "train_als"])
    parser.add_argument("run_date")
    parser.add_argument("--raw-root", required=True)
    parser.add_argument("--lake-root", required=True)
    parser.add_argument("--params", default="{}", help="more of the run's Params, as JSON")
    parser.add_argument("--conf", action="append", default=[], help="extra Spark conf, key=value")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--log-only", action="store_true",
                        help="no event log (it costs the driver heap a large job may need): the job's own lines, "
                             "each after the seconds since the command")
    args = parser.parse_args(argv)
    params = {**json.loads(args.params), "raw_root": args.raw_root, "lake_root": args.lake_root}
    conf = dict(c.split("=", 1) for c in args.conf)
    if args.log_only:
        for _ in range(args.repeat):
            stamped_run(submit_command(args.job, args.run_date, params,
                                       {**conf, "spark.eventLog.enabled": "false"}, Path(tempfile.gettempdir())))
        return
    for attempt in range(1, args.repeat + 1):
        with tempfile.TemporaryDirectory(prefix="recsys-events-") as scratch:
            event_dir = Path(scratch)
            command = submit_command(args.job, args.run_date, params, conf, event_dir)
            started = time.time() * 1000
            subprocess.run(command, check=True)
            ended = time.time() * 1000
            found = phases(read_events(event_dir), started, ended)
        print(f"\n{args.job} {args.run_date}, run {attempt}: {(ended - started) / 1000:.2f} s wall")
        for name, seconds, detail in found:
            print(f"  {seconds:7.2f} s  {name[:70]:70}  {detail}")


if __name__ == "__main__":
    main(sys.argv[1:])
