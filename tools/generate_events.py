"""Generate sample raw event files in exactly the store export's format, one file per day.

    recsys-generate-events --out .local/raw --start-date 2019-10-01 --days 3 \
        --users 20000 --products 5000 --events 300000 --seed 7 [--shape rees46] [--sale-days 1]

writes ``<out>/2019-10-01/events.csv`` ... (and each day's ``_SUCCESS`` marker) with the
export's header, ' UTC' timestamps, empty category codes and brands, 19-digit category ids and
UUID sessions, each file sorted by event time.

The store (``recsys_tools.generated_store``) behaves like a real one, so that recommendations are
learnable and checkable: sessions of views, from the user's favourites, their segment's taste or
the global best sellers; some carted, some bought; an evening peak in the hour of day, a weekend
lift in the day of week and, with ``--sale-days``, last days with 3 times a day's events.

Generation streams: a day is made and written a slice of about ``chunk_sessions`` sessions at a
time (the events a session runs on past its slice wait for the next one, so the file stays
sorted): what is held at once is a slice and the sessions still running at its end, however many
events the day has. Everything is drawn from one seeded generator: the same arguments write the
same bytes.
"""

import argparse
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from recsys.raw_format import COMPLETE_MARKER, RAW_HEADER
from recsys_tools.generated_store import BRANDS, FAVOURITE_SHARE, SEGMENT_SHARE, SHAPES, Shape, Store, build_store, draw

HOUR_WEIGHTS = np.array(
    [2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 9, 9, 9, 10, 11, 12, 14, 16, 17, 15, 10, 5], float
)
WEEKDAY_WEIGHTS = np.array([0.95, 0.92, 0.93, 0.97, 1.03, 1.12, 1.08])  # Monday first
SALE_FACTOR = 3.0
CHUNK_SESSIONS = 100_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
VIEW, CART, REMOVE, PURCHASE = range(4)
EVENT_TYPES = np.array(["view", "cart", "remove_from_cart", "purchase"])


def _uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    raw = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hexchars = np.frombuffer(raw.tobytes().hex().encode(), np.uint8).reshape(n, 32)
    text = np.full((n, 36), ord("-"), np.uint8)
    for dst, src in ((0, 0), (9, 8), (14, 12), (19, 16), (24, 20)):
        width = 12 if dst == 24 else (8 if dst == 0 else 4)
        text[:, dst:dst + width] = hexchars[:, src:src + width]
    return text.view("S36").ravel()


def _sessions(rng: np.random.Generator, store: Store, shape: Shape, starts: np.ndarray, day_end: int) -> dict:
    """The events of sessions starting at ``starts`` (epoch seconds): columns by name."""
    n = len(starts)
    session_user = draw(rng, store.user_cdf, n)
    views_per_session = rng.geometric(1 / shape.views_per_session, n)
    session_ids = _uuids(rng, n)
    session_ids[rng.random(n) < 0.0005] = b""  # the export's rare empty session

    v_session = np.repeat(np.arange(n), views_per_session)
    n_views = len(v_session)
    v_user = session_user[v_session]
    source = rng.random(n_views)
    product = np.empty(n_views, dtype=np.int64)
    fav = source < FAVOURITE_SHARE
    product[fav] = store.user_favourites[v_user[fav], rng.integers(0, store.user_favourites.shape[1], fav.sum())]
    seg = (source >= FAVOURITE_SHARE) & (source < FAVOURITE_SHARE + SEGMENT_SHARE)
    seg_users = store.user_segment[v_user[seg]]
    seg_products = np.empty(seg.sum(), dtype=np.int64)
    for s in np.unique(seg_users):
        members = seg_users == s
        seg_products[members] = draw(rng, store.segment_cdf[s], members.sum())
    product[seg] = seg_products
    glob = source >= FAVOURITE_SHARE + SEGMENT_SHARE
    product[glob] = draw(rng, store.global_cdf, glob.sum())
    gap = rng.exponential(45, n_views).astype(np.int64) + 1
    # a view's time: the session's start plus the gaps so far within the session
    first = np.r_[0, np.cumsum(views_per_session)[:-1]]
    cum = np.cumsum(gap)
    v_time = starts[v_session] + cum - np.repeat(cum[first] - gap[first], views_per_session)

    # Carts follow views (more often for favourites); purchases follow carts or, as the export
    # often has them, a view directly.
    carted = rng.random(n_views) < np.where(fav, shape.cart_per_favourite_view, shape.cart_per_other_view)
    c_idx = np.flatnonzero(carted)
    c_time = v_time[c_idx] + rng.integers(5, 120, len(c_idx))
    repeat = rng.random(len(c_idx)) < shape.repeat_cart
    bought = rng.random(len(c_idx)) < shape.purchase_per_cart
    removed = (~bought) & (rng.random(len(c_idx)) < shape.removal_per_unbought_cart)
    direct = np.flatnonzero(~carted & (rng.random(n_views) < shape.purchase_per_uncarted_view))
    p_idx = np.concatenate([c_idx[bought], direct])
    p_time = np.concatenate([c_time[bought], v_time[direct]]) + rng.integers(30, 900, len(p_idx))

    idx = np.concatenate([np.arange(n_views), c_idx, c_idx[repeat], p_idx, c_idx[removed]])
    counts = (n_views, len(c_idx) + repeat.sum(), len(p_idx), removed.sum())
    etype = np.repeat(np.array([VIEW, CART, PURCHASE, REMOVE], np.int8), counts)
    etime = np.concatenate([v_time, c_time, c_time[repeat] + rng.integers(1, 30, repeat.sum()), p_time,
                            c_time[removed] + rng.integers(10, 600, removed.sum())])
    return {"time": np.minimum(etime, day_end),  # the day's file holds the day's events
            "type": etype, "product": product[idx], "user": session_user[v_session[idx]],
            "session": session_ids[v_session[idx]]}


def _table(store: Store, events: dict) -> pa.Table:
    """The events as the export's columns (all strings)."""
    prod = events["product"]
    cat = store.product_category[prod]
    brands = np.array(BRANDS + [""])
    return pa.table({
        "event_time": pc.strftime(pa.array(events["time"], pa.timestamp("s", "UTC")), "%Y-%m-%d %H:%M:%S UTC"),
        "event_type": pa.array(EVENT_TYPES[events["type"]]),
        "product_id": pa.array(store.product_ids[prod]),
        "category_id": pa.array(store.category_ids[cat]),
        "category_code": pa.array(np.array(store.category_codes)[cat]),
        "brand": pa.array(brands[store.product_brand[prod]]),
        "price": pa.array(store.product_price[prod]).cast(pa.decimal128(12, 2)).cast(pa.string()),
        "user_id": pa.array(store.user_ids[events["user"]]),
        "user_session": pa.array(events["session"]).cast(pa.string()),
    })


def generate_day(rng: np.random.Generator, store: Store, shape: Shape, day: date, n_events: int,
                 chunk_sessions: int = CHUNK_SESSIONS):
    """One day's events in time order, as tables of at most about ``chunk_sessions`` sessions'
    events: each hour's sessions in slices, a slice's events written up to the next slice's start."""
    n_sessions = max(1, int(n_events / (shape.views_per_session * shape.events_per_view())))
    day_start = int((datetime(day.year, day.month, day.day, tzinfo=UTC) - EPOCH).total_seconds())
    pending = None
    per_hour = rng.multinomial(n_sessions, HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    slices = []
    for hour, count in enumerate(per_hour):
        pieces = min(3600, max(1, -(-count // chunk_sessions)))
        bounds = np.linspace(0, 3600, pieces + 1).astype(np.int64)
        slices += [(day_start + hour * 3600 + lo, hi - lo, c)
                   for lo, hi, c in zip(bounds[:-1], bounds[1:], rng.multinomial(count, np.diff(bounds) / 3600),
                                        strict=True)]
    for i, (start, seconds, count) in enumerate(slices):
        events = _sessions(rng, store, shape, start + rng.integers(0, seconds, count), day_start + 86399)
        if pending is not None:
            events = {k: np.concatenate([pending[k], events[k]]) for k in events}
        order = np.lexsort((events["type"], events["time"]))
        events = {k: v[order] for k, v in events.items()}
        ready = events["time"] < (slices[i + 1][0] if i + 1 < len(slices) else day_start + 86400)
        pending = {k: v[~ready] for k, v in events.items()}
        yield _table(store, {k: v[ready] for k, v in events.items()})


def write_day(tables, path: Path) -> None:
    """The day's tables, in order, as one file, under a temporary name until whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    with open(tmp, "wb") as out:
        out.write((RAW_HEADER + "\n").encode())
        for table in tables:
            pacsv.write_csv(table, out, write_options=options)
    tmp.replace(path)


def generate(out: Path, start: date, days: int, users: int, products: int, events: int, seed: int,
             segments: int = 40, shape: str = "demo", sale_days: int = 0,
             chunk_sessions: int = CHUNK_SESSIONS) -> list[Path]:
    """``events`` over ``days`` days from ``start`` (the last ``sale_days`` of them with
    ``SALE_FACTOR`` times a day's events), one file a day: their paths."""
    rng = np.random.default_rng(seed)
    store = build_store(rng, users, products, segments, SHAPES[shape])
    dates = [start + timedelta(days=i) for i in range(days)]
    weights = np.array([WEEKDAY_WEIGHTS[d.weekday()] * (SALE_FACTOR if i >= days - sale_days else 1.0)
                        for i, d in enumerate(dates)])
    per_day = np.round(events * weights / weights.sum()).astype(int)
    written = []
    for day, n in zip(dates, per_day, strict=True):
        path = out / day.isoformat() / "events.csv"
        write_day(generate_day(rng, store, SHAPES[shape], day, int(n), chunk_sessions), path)
        (path.parent / COMPLETE_MARKER).touch()  # as an exporter marks a finished day
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="raw root; one folder per day")
    parser.add_argument("--start-date", type=date.fromisoformat, default=date(2019, 10, 1))
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--events", type=int, default=300_000, help="total over all days")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--shape", choices=SHAPES, default="demo", help="how the shoppers behave")
    parser.add_argument("--sale-days", type=int, default=0, help=f"last days with {SALE_FACTOR:g}x the events")
    args = parser.parse_args(argv)
    for path in generate(args.out, args.start_date, args.days, args.users, args.products, args.events,
                         args.seed, shape=args.shape, sale_days=args.sale_days):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
