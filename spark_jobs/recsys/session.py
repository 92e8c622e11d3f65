"""The one way to open a SparkSession: the jobs, the tests and the benchmarks all use it."""

from pyspark.sql import SparkSession

# Settings the pipeline's correctness depends on, whatever the cluster's defaults are.
REQUIRED_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionOverwriteMode": "static",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.ui.showConsoleProgress": "false",
    # An integer sum that overflows fails the query instead of wrapping (recsys.exact.fraction_sum).
    "spark.sql.ansi.enabled": "true",
}
SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"


def get_spark(app_name: str, master: str | None = None, conf: dict[str, str] | None = None) -> SparkSession:
    """The session of a job (``master`` comes from spark-submit; ``conf`` is the job's own tuning)
    or of a test or benchmark (which name their own ``master`` and extra ``conf``)."""
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    for key, value in {**REQUIRED_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    # Spark's default of 200 shuffle partitions is far too many for a laptop and too few for a
    # big cluster: unless the submitter set it, scale it with the cores actually granted.
    if not spark.sparkContext.getConf().contains(SHUFFLE_PARTITIONS):
        spark.conf.set(SHUFFLE_PARTITIONS, str(4 * spark.sparkContext.defaultParallelism))
    # A job reads its files as they are now: Spark matches a cached DataFrame by its plan, so a
    # second job in one process (the tests run many) would otherwise get an earlier job's data.
    spark.catalog.clearCache()
    return spark
