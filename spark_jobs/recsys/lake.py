"""The data lake's layout: one place that says where each dataset lives.

Every path is a URI or a local path under the lake root (``file:``, ``hdfs:``, ``s3a:`` all
work); per-date outputs sit in their own directory so a rerun replaces exactly that date.
"""

import re
from collections import Counter
from datetime import date, timedelta


def window_start(end: date, days: int) -> date:
    """The first date of the ``days`` dates ending at ``end`` (inclusive)."""
    return end - timedelta(days=days - 1)


def events(lake: str) -> str:
    """Clean events, partitioned by ingest_date (the raw file's date) then event_date."""
    return f"{lake}/events"


def events_ingest(lake: str, ingest_date: date) -> str:
    return f"{events(lake)}/ingest_date={ingest_date.isoformat()}"


def quarantine(lake: str, ingest_date: date) -> str:
    return f"{lake}/quarantine/ingest_date={ingest_date.isoformat()}"


def cleaning_report(lake: str, ingest_date: date) -> str:
    return f"{lake}/reports/cleaning/ingest_date={ingest_date.isoformat()}"


def summaries_report(lake: str, run_date: date) -> str:
    return f"{lake}/reports/eda/run_date={run_date.isoformat()}"


def eda(lake: str, table: str, run_date: date) -> str:
    return f"{lake}/eda/{table}/run_date={run_date.isoformat()}"


def interactions(lake: str, run_date: date) -> str:
    return f"{lake}/interactions/run_date={run_date.isoformat()}"


def model_dir(lake: str, run_date: date) -> str:
    return f"{lake}/models/run_date={run_date.isoformat()}"


def recommendations(lake: str, run_date: date) -> str:
    return f"{lake}/recommendations/run_date={run_date.isoformat()}"


def similar_products(lake: str, run_date: date) -> str:
    return f"{lake}/similar_products/run_date={run_date.isoformat()}"


def default_lists(lake: str, run_date: date) -> str:
    return f"{lake}/default_lists/run_date={run_date.isoformat()}"


def model_run(lake: str, run_date: date) -> str:
    return f"{lake}/model_runs/run_date={run_date.isoformat()}"


def html_report(lake: str, run_date: date) -> str:
    """The run's HTML report (written by the Airflow worker, recsys_pipeline.report)."""
    return f"{lake}/reports/html/run_date={run_date.isoformat()}/recsys_report.html"


def tableau_extract(lake: str) -> str:
    """The .hyper extract of the Tableau views, whole history (recsys_pipeline.tableau_extract)."""
    return f"{lake}/tableau/recsys_views.hyper"


# The per-date folders the runs derive, ``<folder>/run_date=YYYY-MM-DD`` (``*``: every folder in
# it), which recsys_pipeline.retention removes once old: the reports first, which readers take as
# the sign that the rest is there.
DERIVED_FOLDERS = ("model_runs", "reports/eda", "reports/html", "interactions", "models", "recommendations",
                   "similar_products", "default_lists", "eda/*")


def model_run_dates(spark, lake: str) -> list[date]:
    """The dates with a model run in the lake, oldest first."""
    return _dates_under(spark, f"{lake}/model_runs", "run_date")


def cleaned_dates(spark, lake: str) -> list[date]:
    """The ingest dates clean_events has committed (its report is the last thing it swaps in)."""
    return _dates_under(spark, f"{lake}/reports/cleaning", "ingest_date")


def _dates_under(spark, folder: str, key: str) -> list[date]:
    jvm_path, fs = hadoop_path(spark, folder)
    if not fs.exists(jvm_path):
        return []
    names = [s.getPath().getName() for s in fs.listStatus(jvm_path) if s.isDirectory()]
    dated = re.compile(rf"{key}=(\d{{4}}-\d{{2}}-\d{{2}})")
    return sorted(date.fromisoformat(m.group(1)) for m in map(dated.fullmatch, names) if m)


def window_gaps(spark, lake: str, end: date, days: int) -> list[date]:
    """The dates of the ``days``-day window ending at ``end`` never cleaned into the lake, from the
    lake's first cleaned date on (the days before it are before the store's history here)."""
    cleaned = cleaned_dates(spark, lake)
    if not cleaned:
        return [end]
    first = max(window_start(end, days), min(cleaned[0], end))
    have = set(cleaned)
    return [first + timedelta(days=i) for i in range((end - first).days + 1) if first + timedelta(days=i) not in have]


def hadoop_path(spark, path: str):
    """``path`` as a Hadoop Path and the file system it names (local, HDFS, S3...)."""
    jvm_path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(path)
    return jvm_path, jvm_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


# A report's one file in its folder: a one-line text dataset, as Spark's text writer leaves one.
REPORT_PART = "part-00000.txt"


def write_report(spark, path: str, report) -> None:
    """Write a report (``recsys.reports``) as a one-line, single-file text dataset, replacing
    what was there. Through the file system's own calls: a Spark job would take longer than the
    report is worth (it is written inside a staged output, which the commit swaps in)."""
    jvm_path, fs = hadoop_path(spark, path)
    fs.delete(jvm_path, True)
    hadoop = spark.sparkContext._jvm.org.apache.hadoop.fs
    out = fs.create(hadoop.Path(jvm_path, REPORT_PART), True)
    try:
        out.write(bytearray((report.to_json() + "\n").encode("utf-8")))
    finally:
        out.close()
    fs.create(hadoop.Path(jvm_path, "_SUCCESS"), True).close()


def read_report_json(spark, path: str) -> str | None:
    """The text of the report at ``path`` (its one part file), or None when none was written."""
    jvm_path, fs = hadoop_path(spark, path)
    if not fs.exists(jvm_path):
        return None
    parts = [s.getPath() for s in fs.listStatus(jvm_path) if s.getPath().getName().startswith("part-")]
    if len(parts) != 1:
        raise ValueError(f"{path}: expected one report part file, found {len(parts)}")
    stream = fs.open(parts[0])
    try:
        return bytes(spark.sparkContext._jvm.org.apache.commons.io.IOUtils.toByteArray(stream)).decode("utf-8")
    finally:
        stream.close()


def read_report_if_any(spark, path: str, kind):
    """The report of type ``kind`` at ``path``, or None when none was written there."""
    text = read_report_json(spark, path)
    return None if text is None else kind.from_json(text)


def read_report(spark, path: str, kind):
    """The report of type ``kind`` at ``path``."""
    report = read_report_if_any(spark, path, kind)
    if report is None:
        raise FileNotFoundError(f"{path}: no report")
    return report


# MySQL's LOAD DATA escapes, applied to every string value, backslash first: (character, what
# stands for it in a load file).
MYSQL_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def write_load_files(df, path: str) -> None:
    """Write a result as tab-separated part files in LOAD DATA's own format.

    Each part file starts with a header line of column names; values are unquoted, strings
    carry MySQL's backslash escapes (so a tab or line break inside a value never splits a row)
    and NULL is \\N, which no string can be mistaken for. Timestamps are UTC.
    """
    from pyspark.sql import functions as F

    def escaped(column):
        for plain, escape in MYSQL_ESCAPES:  # a regular expression and a Java replacement string
            column = F.regexp_replace(column, re.escape(plain), escape.replace("\\", "\\\\"))
        return column

    (
        df.select(*[
            escaped(F.col(f.name)).alias(f.name) if f.dataType.typeName() == "string" else F.col(f.name)
            for f in df.schema.fields
        ])
        .write.mode("overwrite")
        .option("header", "true")
        .option("sep", "\t")
        .option("quote", "")
        # Spark trims characters up to 0x20 at either end of a value by default when it writes.
        .option("ignoreLeadingWhiteSpace", "false")
        .option("ignoreTrailingWhiteSpace", "false")
        .option("nullValue", "\\N")
        .option("emptyValue", "")
        .option("timestampFormat", "yyyy-MM-dd HH:mm:ss")
        .option("dateFormat", "yyyy-MM-dd")
        .csv(path)
    )


def write_load_table(spark, table, path: str, parts: int = 2) -> None:
    """``write_load_files``'s files (the same lines, a test holds them to it) of an Arrow table
    on the driver, in ``parts`` files written side by side (``_moved_in``). Handing rees46's 30
    million list rows to Spark to write took most of three minutes; this, seconds. Strings are
    escaped as there; a string holding a double quote, which ``write_load_files`` has no need to
    escape either, makes pyarrow refuse the table."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    for i, column in enumerate(table.columns):
        if pa.types.is_string(column.type):
            for plain, escape in MYSQL_ESCAPES:
                column = pc.replace_substring(column, plain, escape)
            table = table.set_column(i, table.field(i), column)
    header = ("\t".join(table.column_names) + "\n").encode("utf-8")
    options = pcsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none", null_string="\\N",
                                batch_size=65_536)
    size = -(-table.num_rows // parts)

    def write(folder: str, part: int) -> None:
        with open(f"{folder}/part-{part:05d}.csv", "wb") as out:
            out.write(header)
            pcsv.write_csv(table.slice(part * size, size), out, options)

    def write_parts(folder: str) -> None:
        with ThreadPoolExecutor(parts) as pool:  # pyarrow lets go of the GIL while it formats
            list(pool.map(lambda part: write(folder, part), range(parts)))

    _moved_in(spark, path, write_parts)


def write_parquet_table(spark, table, path: str) -> None:
    """An Arrow table on the driver as a one-file Parquet dataset at ``path`` (``_moved_in``),
    which Spark reads as it reads its own."""
    import pyarrow.parquet as pq

    _moved_in(spark, path, lambda folder: pq.write_table(table, f"{folder}/part-00000.parquet"))


def _moved_in(spark, path: str, write) -> None:
    """What ``write(folder)`` writes into a local folder, with a ``_SUCCESS`` marker, moved to
    ``path`` (replacing what was there) by the lake's own file system (local, HDFS, S3...)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="recsys-driver-files-") as folder:
        write(folder)
        open(f"{folder}/_SUCCESS", "wb").close()
        jvm_path, fs = hadoop_path(spark, path)
        fs.delete(jvm_path, True)
        fs.moveFromLocalFile(spark.sparkContext._jvm.org.apache.hadoop.fs.Path(folder), jvm_path)


def read_events(spark, lake_root: str):
    """All clean events; filter on ``event_date`` to prune to the dates needed. The schema is
    given, not inferred: a lake whose only day had no events holds no file to infer it from."""
    from recsys.schema import LAKE_EVENTS  # pyspark, which this module's other users need not load

    path = events(lake_root)
    try:
        return spark.read.schema(LAKE_EVENTS).option("basePath", path).parquet(path)
    except Exception as exc:  # Spark raises AnalysisException subclasses for a missing path
        raise FileNotFoundError(f"{path}: no clean events yet (run clean_events first)") from exc


def distinct_events(events, overlapping: set[date]):
    """Each event once, without its ingest date: the same event in two days' files (an export
    that overlaps the previous day's, a file sent again) counts once in every figure.

    Cleaning leaves an ingest date's rows distinct, so an event can repeat only on an event date
    held by more than one ingest date (``overlapping``, as ``overlapping_event_dates`` lists them):
    only their rows are shuffled and compared (at 10 million events, comparing every row cost 25 s
    of a 60 s build_interactions)."""
    from pyspark.sql import functions as F

    from recsys.schema import CLEAN_EVENTS

    rows = events.select(*CLEAN_EVENTS.fieldNames())
    if not overlapping:
        return rows
    repeatable = F.col("event_date").isin(sorted(overlapping))
    return rows.where(~repeatable).unionByName(rows.where(repeatable).dropDuplicates())


def overlapping_event_dates(spark, lake_root: str) -> set[date]:
    """The event dates whose clean rows sit under more than one ingest date of the lake."""
    jvm_path, fs = hadoop_path(spark, f"{events(lake_root)}/ingest_date=*/event_date=*")
    held = Counter(s.getPath().getName() for s in (fs.globStatus(jvm_path) or []) if s.isDirectory())
    return {date.fromisoformat(name.split("=", 1)[1]) for name, copies in held.items() if copies > 1}
