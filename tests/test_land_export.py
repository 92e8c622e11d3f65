"""Landing a monthly export in the daily layout: every line in its day's file, byte for byte,
undatable lines set aside and reported, the same files on a second landing, flat memory."""

import gzip
import json
import subprocess
import sys

import pytest

from recsys.raw_format import RAW_HEADER
from recsys_tools.generate_events import generate
from recsys_tools.land_export import LandingError, land

S = "aaaaaaaa-0000-4000-8000-000000000001"
LINES = [  # unsorted, as a month's export may be
    f"2019-10-02 09:00:00 UTC,view,1001,2053013555631882655,,,1.00,5001,{S}",
    f"2019-10-01 10:00:00 UTC,cart,1001,2053013555631882655,a.b,x,99.90,5001,{S}",
    "garbage without a date",
    f"2019-10-31 23:59:59 UTC,purchase,1002,2053013555631882655,\"quoted, field\",y,5.00,5002,{S}",
    "",
    "2019-10-01 11:00:00 UTC,view,1003,2053013555631882655,,,7.00,5003,",
    "2019-10-45 10:00:00 UTC,view,1,2,,,1.00,1,x",
]


def export(tmp_path, name="2019-Oct.csv.gz", newline="\r\n", last_newline=False):
    body = newline.join(["\ufeff" + RAW_HEADER, *LINES]) + (newline if last_newline else "")
    path = tmp_path / name
    path.write_bytes(gzip.compress(body.encode()) if name.endswith(".gz") else body.encode())
    return path


def day_lines(raw, day, name="2019-Oct"):
    return (raw / day / f"{name}.csv").read_text().split("\n")


def test_each_line_lands_in_its_day_and_the_undatable_are_reported(tmp_path):
    raw = tmp_path / "raw"
    report = land(export(tmp_path), raw)
    assert report["rows_by_day"] == {"2019-10-01": 2, "2019-10-02": 1, "2019-10-31": 1}
    assert (report["undated_rows"], report["undated_line_numbers"], report["blank_lines"]) == (2, [4, 8], 1)
    assert day_lines(raw, "2019-10-01") == [RAW_HEADER, LINES[1], LINES[5], ""]
    assert day_lines(raw, "2019-10-31") == [RAW_HEADER, LINES[3], ""]
    assert day_lines(raw, "_undated") == [RAW_HEADER, LINES[2], LINES[6], ""]
    assert json.loads((raw / "_landing" / "2019-Oct.json").read_text()) == report
    assert sorted(p.name for p in raw.rglob(".*landing*")) == []  # no temporary file left


def test_landing_again_leaves_the_same_files_and_drops_days_no_longer_in_the_export(tmp_path):
    raw = tmp_path / "raw"
    land(export(tmp_path), raw)
    before = {p.relative_to(raw): p.read_bytes() for p in raw.rglob("*.csv")}
    land(export(tmp_path, newline="\n", last_newline=True), raw)  # same lines, other endings
    assert {p.relative_to(raw): p.read_bytes() for p in raw.rglob("*.csv")} == before
    shorter = tmp_path / "short"
    shorter.mkdir()
    (shorter / "2019-Oct.csv").write_text("\n".join([RAW_HEADER, LINES[0]]) + "\n")
    assert land(shorter / "2019-Oct.csv", raw)["rows_by_day"] == {"2019-10-02": 1}
    assert sorted(str(p.relative_to(raw)) for p in raw.rglob("*.csv")) == ["2019-10-02/2019-Oct.csv"]


def test_a_wrong_header_lands_nothing(tmp_path):
    path = tmp_path / "2019-Nov.csv"
    path.write_text("time,type\n" + LINES[0] + "\n")
    with pytest.raises(LandingError, match="header is 'time,type'"):
        land(path, tmp_path / "raw")
    assert not (tmp_path / "raw").exists() or not list((tmp_path / "raw").rglob("*.csv"))


def test_memory_stays_flat_however_large_the_export(tmp_path):
    """Peak memory of landing a ~12 MB and a ~60 MB export in a fresh process: the same."""
    peaks = []
    for events in (100_000, 500_000):
        month = tmp_path / f"gen-{events}"
        files = generate(month, __import__("datetime").date(2019, 10, 1), 5, users=5000, products=1000,
                         events=events, seed=3)
        big = tmp_path / f"2019-Oct-{events}.csv"
        with open(big, "wb") as out:
            out.write((RAW_HEADER + "\n").encode())
            for f in files:
                out.write(f.read_bytes().split(b"\n", 1)[1])
        # VmHWM, the process's own peak (ru_maxrss would carry over the forking test process's).
        probe = ("import sys; from pathlib import Path; from recsys_tools.land_export import land; "
                 "land(Path(sys.argv[1]), Path(sys.argv[2])); "
                 "print([ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0])")
        out = subprocess.run([sys.executable, "-c", probe, str(big), str(tmp_path / f"raw-{events}")],
                             capture_output=True, text=True, check=True)
        peaks.append((big.stat().st_size, int(out.stdout.split()[-1]) * 1024))
    (small_size, small_peak), (big_size, big_peak) = peaks
    assert big_size > 4 * small_size
    assert big_peak - small_peak < 5 * 2**20, peaks  # 5x the input, under 5 MB more memory
    assert big_peak < big_size / 2, peaks
