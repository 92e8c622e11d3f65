"""Lineage: with a file transport configured, the OpenLineage provider writes the tasks' run
events, and a Spark job's task names the lake folders it read and wrote."""

import json
import os
import subprocess
import sys

import pytest

from tests.reference_days import FIRST_DAY

# check_raw_input, then clean_events (a real spark-submit), through Airflow in a process of their
# own: the OpenLineage provider reads its configuration once per process.
_RUN = """
import json, sys
from recsys_tools.run_dag import load_dag
dag = load_dag().partial_subset(task_ids=["check_raw_input", "clean_events"], include_upstream=False,
                                include_downstream=False)
run = dag.test(run_conf=json.loads(sys.argv[1]))
print("STATES", json.dumps({ti.task_id: str(ti.state) for ti in run.get_task_instances()}))
"""


@pytest.mark.cost(90)
def test_a_spark_jobs_task_sends_its_run_and_the_lake_folders_it_read_and_wrote(pipeline_env, mysql_hook,
                                                                                 mysql_conn_value, tmp_path):
    sent = tmp_path / "lineage.jsonl"
    env = {**os.environ, "AIRFLOW_CONN_RECSYS_MYSQL": mysql_conn_value,
           "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(sent), "append": True})}
    conf = {**pipeline_env, "run_date": FIRST_DAY.isoformat()}
    done = subprocess.run([sys.executable, "-c", _RUN, json.dumps(conf)], env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    [states] = [line.removeprefix("STATES ") for line in done.stdout.splitlines() if line.startswith("STATES ")]
    assert json.loads(states) == {"check_raw_input": "success", "clean_events": "success"}
    events = [json.loads(line) for line in sent.read_text().splitlines()]
    by_job = {}
    for event in events:
        by_job.setdefault(event["job"]["name"], []).append(event)
    for task in ("check_raw_input", "clean_events"):
        kinds = [e["eventType"] for e in by_job[f"ecommerce_recommendations.{task}"]]
        assert kinds == ["START", "COMPLETE"], (task, kinds)
    start, complete = by_job["ecommerce_recommendations.clean_events"]
    assert start["run"]["runId"] == complete["run"]["runId"]
    lake = pipeline_env["lake_root"]
    assert [(d["namespace"], d["name"]) for d in complete["inputs"]] == [("file", pipeline_env["raw_root"])]
    assert [(d["namespace"], d["name"]) for d in complete["outputs"]] == [
        ("file", f"{lake}/events"), ("file", f"{lake}/quarantine"), ("file", f"{lake}/reports/cleaning")]


def test_lake_folders_on_object_storage_are_named_in_their_buckets_namespace():
    from recsys.params import Settings
    from recsys_pipeline.lineage import job_lineage

    lineage = job_lineage("train_als", Settings(raw_root="s3a://shop/raw", lake_root="s3a://shop-lake/recsys/"))
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("s3a://shop-lake", "/recsys/interactions"),
                                                               ("s3a://shop-lake", "/recsys/events")]
    assert [d.name for d in lineage.outputs] == ["/recsys/models", "/recsys/recommendations",
                                                 "/recsys/similar_products", "/recsys/default_lists",
                                                 "/recsys/model_runs"]
    assert job_lineage("clean_events", None).inputs == []
