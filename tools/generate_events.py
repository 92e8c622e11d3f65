"""Generate sample raw event files in exactly the store export's format, one file per day.

    recsys-generate-events --out .local/raw --start-date 2019-10-01 --days 3 \
        --users 20000 --products 5000 --events 300000 --seed 7

writes ``<out>/2019-10-01/events.csv`` ... (and each day's ``_SUCCESS`` marker) with the
export's header, ' UTC' timestamps, empty category codes and brands, 19-digit category ids and
UUID sessions.

The store behaves like a real one, so that recommendations are learnable and checkable:
- a catalogue of categories (dotted codes, some empty), brands and log-normal prices, with
  Zipf-skewed product popularity;
- users in taste segments (favourite categories, brands and price band) plus a personal set of
  favourite products, all fixed for the whole period, so later behaviour follows earlier;
- sessions of views, some carted, some of those purchased (views the vast majority, purchases
  one to two percent), a few removals from the cart and repeated cart clicks;
- an evening peak in the hour of day and a weekend lift in the day of week.
Everything is drawn from one seeded generator: the same arguments write the same bytes.
"""

import argparse
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from recsys.raw_format import COMPLETE_MARKER, RAW_HEADER

CATEGORY_CODES = [
    "electronics.smartphone", "electronics.audio.headphone", "electronics.video.tv",
    "electronics.clocks", "electronics.tablet", "electronics.camera.photo",
    "computers.notebook", "computers.desktop", "computers.peripherals.mouse",
    "computers.components.videocards", "appliances.kitchen.washer",
    "appliances.kitchen.refrigerators", "appliances.kitchen.microwave",
    "appliances.environment.vacuum", "appliances.environment.air_heater",
    "appliances.personal.hair_cutter", "apparel.shoes", "apparel.shoes.sandals",
    "apparel.trousers", "apparel.costume", "furniture.living_room.sofa",
    "furniture.bedroom.bed", "furniture.kitchen.table", "auto.accessories.player",
    "auto.accessories.videoregister", "kids.toys", "kids.carriage", "sport.bicycle",
    "sport.trainer", "construction.tools.drill", "construction.tools.saw",
    "accessories.bag", "country_yard.lawn_mower", "medicine.tools.tonometer",
]
BRANDS = [
    "samsung", "apple", "xiaomi", "huawei", "lucente", "sony", "lg", "bosch", "philips",
    "acer", "lenovo", "asus", "hp", "indesit", "beko", "redmond", "tefal", "polaris",
    "respect", "nike", "adidas", "puma", "cordiant", "janome", "elenberg", "casio",
    "canon", "nikon", "jbl", "sv", "makita", "dewalt", "vitek", "moulinex", "braun",
]
HOUR_WEIGHTS = np.array(
    [2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 9, 9, 9, 10, 11, 12, 14, 16, 17, 15, 10, 5], float
)
WEEKDAY_WEIGHTS = np.array([0.95, 0.92, 0.93, 0.97, 1.03, 1.12, 1.08])  # Monday first
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Store:
    product_ids: np.ndarray
    product_category: np.ndarray  # index into category tables
    product_brand: np.ndarray  # index into BRANDS, -1 for an empty brand
    product_price: np.ndarray
    category_ids: np.ndarray
    category_codes: list[str]
    user_ids: np.ndarray
    user_activity: np.ndarray  # probability of a session belonging to the user
    user_segment: np.ndarray
    user_favourites: np.ndarray  # (users, n_fav) product indices
    segment_cdf: np.ndarray  # (segments, products) cumulative product choice
    global_cdf: np.ndarray


def build_store(rng: np.random.Generator, n_users: int, n_products: int, n_segments: int) -> Store:
    n_categories = len(CATEGORY_CODES) + 8  # a few categories carry no code, as in the export
    category_ids = 2053013552226107603 + np.sort(rng.choice(10**15, n_categories, replace=False))
    category_codes = CATEGORY_CODES + [""] * (n_categories - len(CATEGORY_CODES))
    category_size = rng.dirichlet(np.full(n_categories, 2.0))
    product_category = rng.choice(n_categories, n_products, p=category_size)
    product_brand = rng.integers(0, len(BRANDS), n_products)
    product_brand[rng.random(n_products) < 0.15] = -1
    category_price = np.exp(rng.uniform(np.log(8), np.log(900), n_categories))
    product_price = np.round(category_price[product_category] * rng.lognormal(0, 0.45, n_products), 2)
    product_price = np.maximum(product_price, 0.5)
    product_ids = 1000000 + np.sort(rng.choice(99_000_000, n_products, replace=False))
    popularity = 1.0 / np.arange(1, n_products + 1) ** 0.9
    popularity = popularity[rng.permutation(n_products)]

    # A segment likes 2-3 categories, a few brands and a price band within each category.
    segment_weights = np.empty((n_segments, n_products))
    price_rank = np.argsort(np.argsort(product_price / category_price[product_category]))
    price_band = price_rank * 3 // n_products
    for s in range(n_segments):
        liked_categories = rng.choice(n_categories, rng.integers(2, 4), replace=False)
        liked_brands = rng.choice(len(BRANDS), 4, replace=False)
        band = rng.integers(0, 3)
        w = popularity * np.where(np.isin(product_category, liked_categories), 1.0, 0.004)
        w = w * np.where(np.isin(product_brand, liked_brands), 4.0, 1.0)
        w = w * np.where(price_band == band, 3.0, 1.0)
        segment_weights[s] = w / w.sum()
    segment_cdf = np.cumsum(segment_weights, axis=1)
    global_cdf = np.cumsum(popularity / popularity.sum())

    user_ids = 500000000 + np.sort(rng.choice(99_000_000, n_users, replace=False))
    activity = rng.lognormal(0, 1.0, n_users)
    user_segment = rng.integers(0, n_segments, n_users)
    n_fav = 8
    user_favourites = np.empty((n_users, n_fav), dtype=np.int64)
    for s in range(n_segments):
        members = np.flatnonzero(user_segment == s)
        user_favourites[members] = _draw(rng, segment_cdf[s], (len(members), n_fav))
    return Store(
        product_ids, product_category, product_brand, product_price, category_ids,
        category_codes, user_ids, activity / activity.sum(), user_segment, user_favourites,
        segment_cdf, global_cdf,
    )


def _draw(rng: np.random.Generator, cdf: np.ndarray, size) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, rng.random(size) * cdf[-1]), len(cdf) - 1)


def _uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    raw = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hexchars = np.frombuffer(raw.tobytes().hex().encode(), np.uint8).reshape(n, 32)
    text = np.full((n, 36), ord("-"), np.uint8)
    for dst, src in ((0, 0), (9, 8), (14, 12), (19, 16), (24, 20)):
        width = 12 if dst == 24 else (8 if dst == 0 else 4)
        text[:, dst:dst + width] = hexchars[:, src:src + width]
    return text.view("S36").ravel().astype(str)


def generate_day(rng: np.random.Generator, store: Store, day: date, n_events: int) -> pa.Table:
    """One day's events, sorted by time, as the export's columns (all strings)."""
    mean_views = 6.0
    n_sessions = max(1, int(n_events / (mean_views * 1.08)))
    session_user = _draw(rng, np.cumsum(store.user_activity), n_sessions)
    hours = rng.choice(24, n_sessions, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    day_start = int((datetime(day.year, day.month, day.day, tzinfo=UTC) - EPOCH).total_seconds())
    session_start = day_start + hours * 3600 + rng.integers(0, 3600, n_sessions)
    views_per_session = rng.geometric(1 / mean_views, n_sessions)
    session_ids = _uuids(rng, n_sessions)
    session_ids[rng.random(n_sessions) < 0.0005] = ""  # the export's rare empty session

    # Views: from the user's favourites, their segment's taste, or the global best sellers.
    v_session = np.repeat(np.arange(n_sessions), views_per_session)
    n_views = len(v_session)
    v_user = session_user[v_session]
    source = rng.random(n_views)
    product = np.empty(n_views, dtype=np.int64)
    fav = source < 0.35
    product[fav] = store.user_favourites[v_user[fav], rng.integers(0, store.user_favourites.shape[1], fav.sum())]
    seg = (source >= 0.35) & (source < 0.85)
    seg_users = store.user_segment[v_user[seg]]
    seg_products = np.empty(seg.sum(), dtype=np.int64)
    for s in np.unique(seg_users):
        members = seg_users == s
        seg_products[members] = _draw(rng, store.segment_cdf[s], members.sum())
    product[seg] = seg_products
    glob = source >= 0.85
    product[glob] = _draw(rng, store.global_cdf, glob.sum())
    gap = rng.exponential(45, n_views).astype(np.int64) + 1
    # a view's time: the session's start plus the gaps so far within the session
    starts = np.r_[0, np.cumsum(views_per_session)[:-1]]
    cum = np.cumsum(gap)
    offset = cum - np.repeat(cum[starts] - gap[starts], views_per_session)
    v_time = session_start[v_session] + offset

    # Carts follow views (more often for favourites); purchases follow carts.
    p_cart = np.where(fav, 0.085, 0.04)
    carted = rng.random(n_views) < p_cart
    c_idx = np.flatnonzero(carted)
    c_time = v_time[c_idx] + rng.integers(5, 120, len(c_idx))
    repeat = rng.random(len(c_idx)) < 0.12  # a double click on "add to cart"
    r_idx = c_idx[repeat]
    r_time = c_time[repeat] + rng.integers(1, 30, len(r_idx))
    bought = rng.random(len(c_idx)) < 0.36
    p_idx = c_idx[bought]
    p_time = c_time[bought] + rng.integers(30, 900, len(p_idx))
    removed = (~bought) & (rng.random(len(c_idx)) < 0.25)
    x_idx = c_idx[removed]
    x_time = c_time[removed] + rng.integers(10, 600, len(x_idx))

    idx = np.concatenate([np.arange(n_views), c_idx, r_idx, p_idx, x_idx])
    etype = np.concatenate([
        np.zeros(n_views, np.int8), np.ones(len(c_idx) + len(r_idx), np.int8),
        np.full(len(p_idx), 3, np.int8), np.full(len(x_idx), 2, np.int8),
    ])
    etime = np.concatenate([v_time, c_time, r_time, p_time, x_time])
    etime = np.minimum(etime, day_start + 86399)  # the day's file holds the day's events
    order = np.lexsort((etype, etime))
    idx, etype, etime = idx[order], etype[order], etime[order]
    prod = product[idx]
    cat = store.product_category[prod]
    brand = store.product_brand[prod]

    types = np.array(["view", "cart", "remove_from_cart", "purchase"])
    brands = np.array(BRANDS + [""])
    codes = np.array(store.category_codes)
    times = pc.strftime(pa.array(etime, pa.timestamp("s", "UTC")), "%Y-%m-%d %H:%M:%S UTC")
    prices = pa.array(store.product_price[prod]).cast(pa.decimal128(12, 2)).cast(pa.string())
    return pa.table({
        "event_time": times,
        "event_type": pa.array(types[etype]),
        "product_id": pa.array(store.product_ids[prod]),
        "category_id": pa.array(store.category_ids[cat]),
        "category_code": pa.array(codes[cat]),
        "brand": pa.array(brands[brand]),
        "price": prices,
        "user_id": pa.array(store.user_ids[session_user[v_session[idx]]]),
        "user_session": pa.array(session_ids[v_session[idx]]),
    })


def write_day(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    with open(tmp, "wb") as out:
        out.write((RAW_HEADER + "\n").encode())
        pacsv.write_csv(table, out, write_options=options)
    tmp.replace(path)


def generate(out: Path, start: date, days: int, users: int, products: int, events: int,
             seed: int, segments: int = 40) -> list[Path]:
    rng = np.random.default_rng(seed)
    store = build_store(rng, users, products, segments)
    dates = [start + timedelta(days=i) for i in range(days)]
    weights = np.array([WEEKDAY_WEIGHTS[d.weekday()] for d in dates])
    per_day = np.round(events * weights / weights.sum()).astype(int)
    written = []
    for day, n in zip(dates, per_day, strict=True):
        path = out / day.isoformat() / "events.csv"
        write_day(generate_day(rng, store, day, int(n)), path)
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
    args = parser.parse_args(argv)
    for path in generate(args.out, args.start_date, args.days, args.users, args.products,
                         args.events, args.seed):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
