"""Shared PySpark code of the recommendation pipeline.

Every module holds pure DataFrame-in, DataFrame-out functions; each job in ``recsys.jobs`` parses
its arguments, opens a session and calls them (``spark_jobs/<job>.py`` is the script spark-submit
runs). The package is zipped and shipped to the cluster with ``--py-files`` by the DAG's Spark
operator.
"""
