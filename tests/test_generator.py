"""The sample data generator writes the export's exact format, deterministically, with a
store's proportions."""

import csv
import re
import uuid
from datetime import date

from recsys.raw_format import RAW_HEADER
from recsys_tools.generate_events import WEEKDAY_WEIGHTS, generate


def test_same_seed_same_bytes_and_export_format(tmp_path):
    a = generate(tmp_path / "a", date(2019, 10, 1), 2, users=500, products=200, events=8000, seed=3)
    b = generate(tmp_path / "b", date(2019, 10, 1), 2, users=500, products=200, events=8000, seed=3)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert [p.parent.name for p in a] == ["2019-10-01", "2019-10-02"]

    lines = a[0].read_text().splitlines()
    assert lines[0] == RAW_HEADER
    rows = list(csv.DictReader(lines))
    assert all(re.fullmatch(r"2019-10-01 \d\d:\d\d:\d\d UTC", r["event_time"]) for r in rows)
    assert {r["event_type"] for r in rows} == {"view", "cart", "remove_from_cart", "purchase"}
    assert all(len(r["category_id"]) == 19 and int(r["category_id"]) < 2**63 for r in rows)
    assert all(re.fullmatch(r"\d+\.\d\d", r["price"]) for r in rows)
    assert any(r["category_code"] == "" for r in rows) and any(r["brand"] == "" for r in rows)
    sessions = [r["user_session"] for r in rows if r["user_session"]]
    assert all(uuid.UUID(s).version == 4 for s in sessions[:100])
    assert [r["event_time"] for r in rows] == sorted(r["event_time"] for r in rows)


def test_funnel_rates_and_persistent_tastes(tmp_path):
    paths = generate(tmp_path, date(2019, 10, 1), 2, users=2000, products=500, events=60000, seed=5)
    days = [list(csv.DictReader(p.read_text().splitlines())) for p in paths]
    rows = days[0] + days[1]
    share = {t: sum(r["event_type"] == t for r in rows) / len(rows) for t in ("view", "purchase")}
    assert share["view"] > 0.85
    assert 0.01 <= share["purchase"] <= 0.025
    assert abs(len(rows) - 60000) / 60000 < 0.05

    # Users come back to what they liked: day-2 products overlap day-1 products of the same
    # user far more than they would by chance.
    def products_by_user(day):
        seen = {}
        for r in day:
            seen.setdefault(r["user_id"], set()).add(r["product_id"])
        return seen

    first, second = products_by_user(days[0]), products_by_user(days[1])
    both = [u for u in first if u in second]
    repeat = sum(len(first[u] & second[u]) > 0 for u in both) / len(both)
    assert repeat > 0.3


def read_day(path):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={c: pa.string() for c in ("event_time", "brand", "category_code", "user_session")},
        strings_can_be_null=False)).to_pydict()


def test_the_rees46_shape_has_the_exports_event_mix_sessions_and_missing_fields(tmp_path):
    """The head of the REES46 export: 97.8 % views, 0.95 % carts, 1.2 % purchases, no removals,
    about 3.4 events a session, brand missing on 14 % and category code on 33 % of rows; the sale
    day has three times a day's events."""
    paths = generate(tmp_path, date(2019, 10, 1), 3, users=60_000, products=20_000, events=400_000, seed=2,
                     shape="rees46", sale_days=1)
    days = [read_day(p) for p in paths]
    rows = [len(d["event_type"]) for d in days]
    sale_over_wednesday = 3 * WEEKDAY_WEIGHTS[date(2019, 10, 3).weekday()] / WEEKDAY_WEIGHTS[2]
    assert 0.95 < rows[2] / rows[1] / sale_over_wednesday < 1.05
    for day in days:
        n, types = len(day["event_type"]), day["event_type"]
        share = {t: types.count(t) / n for t in ("view", "cart", "purchase", "remove_from_cart")}
        assert 0.975 < share["view"] < 0.981 and 0.008 < share["cart"] < 0.011
        assert 0.010 < share["purchase"] < 0.014 and share["remove_from_cart"] == 0
        assert 3.2 < n / len(set(day["user_session"])) < 3.6
        assert 0.06 < day["brand"].count("") / n < 0.22 and 0.25 < day["category_code"].count("") / n < 0.45
        assert day["event_time"] == sorted(day["event_time"])


def test_generation_streams_a_day_in_slices_whose_memory_does_not_grow_with_the_events():
    """A day made and written a slice of sessions at a time (``chunk_sessions``, small here):
    tracemalloc's peak (numpy's arrays) while it is generated."""
    import tracemalloc

    import numpy as np

    from recsys_tools.generate_events import generate_day
    from recsys_tools.generated_store import SHAPES, build_store

    def peak_and_rows(events):
        rng = np.random.default_rng(4)
        store = build_store(rng, 5000, 1000, 10, SHAPES["demo"])
        tracemalloc.start()
        rows = [t.num_rows for t in generate_day(rng, store, SHAPES["demo"], date(2019, 10, 1), events,
                                                 chunk_sessions=500)]
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak, rows

    small, small_rows = peak_and_rows(80_000)
    large, large_rows = peak_and_rows(320_000)
    assert abs(sum(large_rows) - 320_000) / 320_000 < 0.05 and len(large_rows) > 2 * len(small_rows)
    # Four times the events, in more slices: what is held at once (a slice's sessions and those still
    # running at its end) grows far less (measured: 1.2 times the rows, 1.4 times the memory).
    assert max(large_rows) < 1.5 * max(small_rows) and large < 1.6 * small
