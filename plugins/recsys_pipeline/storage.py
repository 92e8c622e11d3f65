"""One way to reach the raw files and the lake from the Airflow worker, on any file system
pyarrow knows (local paths, file://, s3://, hdfs://, gs://)."""

from pyarrow import fs


def filesystem_for(uri: str) -> tuple[fs.FileSystem, str]:
    """The file system of a path or URI, and the path within it."""
    if "://" in uri and not uri.startswith("file://"):
        return fs.FileSystem.from_uri(uri)
    return fs.LocalFileSystem(), uri.removeprefix("file://")
