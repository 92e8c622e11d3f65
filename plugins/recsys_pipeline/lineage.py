"""What each Spark job reads and writes, as OpenLineage datasets, for the OpenLineage provider:
sent with the job's task events when a transport is configured (``[openlineage] transport``).

A dataset is one of the lake's folders (its date partitions are the runs' business, not new
datasets), or the raw export's root: on local disk in the ``file`` namespace, on object storage
in the scheme's and bucket's (``s3a://bucket``) with the path as the name, as OpenLineage names files.
"""

import os

from recsys.params import Settings

RAW = "raw export"
# Per job: the folders it reads, and those it writes (under the lake root, or the raw root).
JOB_FOLDERS = {
    "clean_events": ((RAW,), ("events", "quarantine", "reports/cleaning")),
    "eda_summaries": (("events",), ("eda", "reports/eda")),
    "build_interactions": (("events",), ("interactions",)),
    "train_als": (("interactions", "events"),
                  ("models", "recommendations", "similar_products", "default_lists", "model_runs")),
}


def dataset(uri: str):
    from openlineage.client.event_v2 import Dataset

    if "://" in uri and not uri.startswith("file://"):
        scheme, rest = uri.split("://", 1)
        bucket, _, path = rest.partition("/")
        return Dataset(namespace=f"{scheme}://{bucket}", name=f"/{path.rstrip('/')}")
    return Dataset(namespace="file", name=os.path.abspath(uri.removeprefix("file://")))


def job_lineage(task_id: str, settings: Settings | None):
    """The OperatorLineage of a Spark job's task (empty without its settings)."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    if settings is None:
        return OperatorLineage()

    def located(folder: str):
        return dataset(settings.raw_root if folder == RAW else f"{settings.lake_root.rstrip('/')}/{folder}")

    reads, writes = JOB_FOLDERS[task_id]
    return OperatorLineage(inputs=[located(f) for f in reads], outputs=[located(f) for f in writes])
