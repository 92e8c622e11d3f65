"""One way to reach the raw files and the lake from the Airflow worker, on any file system
pyarrow knows (local paths, file://, s3://, hdfs://, gs://)."""

import contextlib
import os
import posixpath
import uuid

from pyarrow import fs


def filesystem_for(uri: str) -> tuple[fs.FileSystem, str]:
    """The file system of a path or URI, and the path within it."""
    if "://" in uri and not uri.startswith("file://"):
        return fs.FileSystem.from_uri(uri)
    return fs.LocalFileSystem(), uri.removeprefix("file://")


def put_file(local_path: str, destination: str) -> None:
    """Put a finished local file at destination in place of what was there: copied beside it under
    a unique staging name, then renamed over it, so readers find the previous file or the new one,
    never a part-copied one, and a failure leaves the previous file."""
    filesystem, path = filesystem_for(destination)
    if isinstance(filesystem, fs.LocalFileSystem):
        path = os.path.abspath(path)
    filesystem.create_dir(posixpath.dirname(path), recursive=True)
    staging = f"{path}.{uuid.uuid4().hex}.staging"  # unique: two runs never write the same file
    try:
        fs.copy_files(local_path, staging, source_filesystem=fs.LocalFileSystem(), destination_filesystem=filesystem)
        filesystem.move(staging, path)
    except BaseException:
        with contextlib.suppress(OSError):
            filesystem.delete_file(staging)
        raise
