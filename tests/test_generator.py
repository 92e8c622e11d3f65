"""The sample data generator writes the export's exact format, deterministically, with a
store's proportions."""

import csv
import re
import uuid
from datetime import date

from recsys.raw_format import RAW_HEADER
from recsys_tools.generate_events import generate


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
