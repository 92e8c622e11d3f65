"""Airflow-side logic of the ecommerce_recommendations DAG: input checks, Spark submission,
MySQL schema and loads. The DAG file only declares tasks; everything here is tested.

The Spark package (spark_jobs/recsys) is the one source of the raw format and the lake layout,
so it is made importable here too.
"""

import sys

from recsys_pipeline.config import SPARK_JOBS_DIR

if str(SPARK_JOBS_DIR) not in sys.path:
    sys.path.append(str(SPARK_JOBS_DIR))
