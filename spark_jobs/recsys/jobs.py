"""Argument parsing and file listing shared by the job scripts."""

import argparse
from datetime import date


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--run-date", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    parser.add_argument("--lake", required=True, help="data lake root (path or URI)")
    return parser


def glob_files(spark, pattern: str) -> list[str]:
    """Files matching a Hadoop glob, on whatever file system the pattern names."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(pattern)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    statuses = fs.globStatus(path) or []
    return sorted(str(s.getPath().toString()) for s in statuses if s.isFile())
