"""Step 1: the raw input check names the folder or file and the problem."""

import gzip
from datetime import date, datetime

import pytest

from conftest import HEADER, write_raw
from recsys.schema import RAW_HEADER
from recsys_pipeline.raw_input import RawInputError, check_raw_input, resolve_run_date

D = date(2019, 10, 1)


def test_the_header_is_the_spark_jobs_header():
    assert HEADER == RAW_HEADER


def test_plain_and_gzip_files_with_the_header_pass(tmp_path):
    plain = write_raw(tmp_path, "2019-10-01", ["x"])
    zipped = plain.with_name("more.csv.gz")
    zipped.write_bytes(gzip.compress((HEADER + "\r\nx\r\n").encode()))
    (plain.parent / "notes.txt").write_text("ignored")
    assert check_raw_input(str(tmp_path), D) == [str(plain), str(zipped)]


def test_missing_folder_empty_folder_and_wrong_header_fail_clearly(tmp_path):
    with pytest.raises(RawInputError, match=r"2019-10-01: no raw input folder for 2019-10-01"):
        check_raw_input(str(tmp_path), D)
    (tmp_path / "2019-10-01").mkdir()
    with pytest.raises(RawInputError, match=r"no \*.csv or \*.csv.gz files"):
        check_raw_input(str(tmp_path), D)
    bad = write_raw(tmp_path, "2019-10-01", ["x"], header="time,type")
    with pytest.raises(RawInputError, match=rf"{bad}: header is 'time,type'"):
        check_raw_input(str(tmp_path), D)
    bad.unlink()
    (tmp_path / "2019-10-01" / "broken.csv.gz").write_bytes(b"not gzip at all")
    with pytest.raises(RawInputError, match="broken.csv.gz: not a readable gzip file"):
        check_raw_input(str(tmp_path), D)


def test_run_date_comes_from_the_param_or_the_data_interval():
    assert resolve_run_date("2019-10-05", datetime(2019, 10, 1)) == date(2019, 10, 5)
    assert resolve_run_date(None, datetime(2019, 10, 1, 0, 0)) == D
    with pytest.raises(ValueError, match="not a YYYY-MM-DD date"):
        resolve_run_date("05/10/2019", None)
    with pytest.raises(ValueError, match="trigger it with the run_date Param"):
        resolve_run_date(None, None)
