"""Shared PySpark code of the recommendation pipeline.

Every module holds pure DataFrame-in, DataFrame-out functions; the scripts in ``spark_jobs/``
parse arguments, open a session and call them. The package is zipped and shipped to the cluster
with ``--py-files`` by the DAG's Spark operator.
"""
