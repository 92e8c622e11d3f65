"""Step 1: the Params agree, and the raw input check names the folder or file and the problem."""

import gzip
from datetime import date, datetime

import pytest

from recsys.params import SettingsError
from recsys.raw_format import RAW_HEADER
from recsys_pipeline.raw_input import (
    RawInputError,
    check_raw_input,
    day_files,
    refuse_future_run_date,
    resolve_run_date,
)
from tests.helpers import write_raw

D = date(2019, 10, 1)


def test_plain_and_gzip_files_with_the_header_pass(tmp_path):
    plain = write_raw(tmp_path, "2019-10-01", ["x"])
    zipped = plain.with_name("more.csv.gz")
    zipped.write_bytes(gzip.compress((RAW_HEADER + "\r\nx\r\n").encode()))
    (plain.parent / "notes.txt").write_text("ignored")
    assert day_files(str(tmp_path), D) == [str(plain), str(zipped)]


def test_missing_folder_empty_folder_and_wrong_header_fail_clearly(tmp_path):
    with pytest.raises(RawInputError, match=r"2019-10-01: no raw input folder for 2019-10-01"):
        day_files(str(tmp_path), D)
    (tmp_path / "2019-10-01").mkdir()
    with pytest.raises(RawInputError, match=r"no \*.csv or \*.csv.gz files"):
        day_files(str(tmp_path), D)
    bad = write_raw(tmp_path, "2019-10-01", ["x"], header="time,type")
    with pytest.raises(RawInputError, match=rf"{bad}: header is 'time,type'"):
        day_files(str(tmp_path), D)
    bad.unlink()
    (tmp_path / "2019-10-01" / "broken.csv.gz").write_bytes(b"not gzip at all")
    with pytest.raises(RawInputError, match="broken.csv.gz: not a readable gzip file"):
        day_files(str(tmp_path), D)


def test_run_date_comes_from_the_param_or_the_data_interval():
    assert resolve_run_date("2019-10-05", datetime(2019, 10, 1)) == date(2019, 10, 5)
    assert resolve_run_date(None, datetime(2019, 10, 1, 0, 0)) == D
    with pytest.raises(ValueError, match="not a YYYY-MM-DD date"):
        resolve_run_date("05/10/2019", None)
    with pytest.raises(ValueError, match="trigger it with the run_date Param"):
        resolve_run_date(None, None)


def test_the_task_checks_the_params_then_resolves_the_date_and_lists_the_files(tmp_path):
    plain = write_raw(tmp_path, "2019-10-01", ["x"])
    params = {"raw_root": str(tmp_path), "run_date": None}
    assert check_raw_input(params, datetime(2019, 10, 1)) == {"run_date": "2019-10-01", "files": [str(plain)]}
    with pytest.raises(SettingsError, match=r"eval_days \(30\) must be less than window_days \(30\)"):
        check_raw_input({**params, "eval_days": 30, "window_days": 30}, datetime(2019, 10, 1))
    with pytest.raises(SettingsError, match=r"unknown Params \['top_n'\]"):
        check_raw_input({**params, "top_n": 5}, datetime(2019, 10, 1))


def test_a_run_date_after_the_data_interval_is_refused_unless_allowed(tmp_path):
    write_raw(tmp_path, "2019-10-06", ["x"])
    params = {"raw_root": str(tmp_path), "run_date": "2019-10-06"}
    interval = {"data_interval_start": datetime(2019, 10, 4), "data_interval_end": datetime(2019, 10, 5)}
    with pytest.raises(ValueError, match=r"run_date 2019-10-06 is after this run's data interval \(which ends "
                                         r"2019-10-05\).*allow_future_run_date"):
        check_raw_input(params, **interval)
    assert check_raw_input({**params, "allow_future_run_date": True}, **interval)["run_date"] == "2019-10-06"
    # A manual run without a data interval may not run a date after today.
    refuse_future_run_date(date(2019, 10, 6), None, today=date(2019, 10, 6))
    with pytest.raises(ValueError, match="which ends 2019-10-05"):
        refuse_future_run_date(date(2019, 10, 6), None, today=date(2019, 10, 5))
