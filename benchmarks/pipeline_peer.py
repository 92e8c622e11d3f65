"""The daily benchmark's whole-pipeline peer: the day's model work as a careful engineer would script
it on one machine without Spark, measured end to end beside ours (benchmarks/bench_daily.py).

1. clean: the day's raw files by DuckDB with the cleaning's rules (``clean_duckdb.sql``) into Parquet;
2. interactions: DuckDB over the window (the lake's earlier clean days and the day just cleaned):
   the same decayed, weighted, capped scores, and the training subset (no event of the benchmark's
   stores sits under two ingest dates, so the lake's deduplication across them is not repeated);
3. tuning: the grid points our run scored, each an ``implicit`` fit on the days before the held-out
   ones and the test users' top-K (purchases left out, popularity for users ALS does not know),
   judged by NDCG@K (``driver_trials.list_metrics``: the same definition), and global popularity;
4. the refit on the window with our run's chosen parameters, everyone's top-K (popularity for the
   rest) and each product's similar products, by ``implicit``;
5. the lists and similar products written as CSV and loaded by ``LOAD DATA LOCAL INFILE`` into
   tables of their own, then dropped.

It is compared with our clean_events, build_interactions, train_als and publish_recommendations:
the summaries, checks, report and run record have no counterpart here. Left out of the peer and
so to its advantage: the category-popularity baseline, the quarantine's reconciliation report, the
crash-safe staging of every output and the per-date history of the lists.
"""

import os
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

COMPARED_TASKS = ("clean_events", "build_interactions", "train_als", "publish_recommendations")


def window_matrix(con, sources: str, start: date, end: date, settings) -> dict[str, np.ndarray]:
    """(user_id, product_id, purchases, views_d, carts_d, purchases_d, score) of the events dated
    ``start``..``end`` in the DuckDB relation ``sources``, as interactions.interaction_matrix makes them."""
    return con.execute(f"""
        WITH ev AS (SELECT user_id, product_id, event_type, event_time FROM {sources}
                    WHERE event_date BETWEEN ? AND ? AND event_type IN ('view', 'cart', 'purchase')),
        decayed AS (SELECT *, pow(0.5, greatest(epoch((SELECT max(event_time) FROM ev)) - epoch(event_time), 0)
                                  / 86400.0 / {settings.half_life_days}) AS d FROM ev),
        m AS (SELECT user_id, product_id, count_if(event_type = 'purchase') AS purchases,
                     sum(CASE WHEN event_type = 'view' THEN d ELSE 0 END) AS views_d,
                     sum(CASE WHEN event_type = 'cart' THEN d ELSE 0 END) AS carts_d,
                     sum(CASE WHEN event_type = 'purchase' THEN d ELSE 0 END) AS purchases_d
              FROM decayed GROUP BY ALL)
        SELECT *, least(log10(1 + {settings.weight_view} * views_d + {settings.weight_cart} * carts_d
                              + {settings.weight_purchase} * purchases_d), {settings.score_cap}) AS score
        FROM m ORDER BY user_id, product_id""", [start, end]).fetchnumpy()


def training_mask(m: dict, min_user_products: int, min_product_users: int) -> np.ndarray:
    users, user_counts = np.unique(m["user_id"], return_counts=True)
    products, product_counts = np.unique(m["product_id"], return_counts=True)
    return (np.isin(m["user_id"], users[user_counts >= min_user_products])
            & np.isin(m["product_id"], products[product_counts >= min_product_users]))


class Fit:
    """implicit's ALS on the training subset of a matrix, with its id maps."""

    def __init__(self, m: dict, mask: np.ndarray, rank: int, reg_param: float, alpha: float, iterations: int):
        from implicit.cpu.als import AlternatingLeastSquares
        from scipy.sparse import csr_matrix
        from threadpoolctl import threadpool_limits

        self.user_ids, rows = np.unique(m["user_id"][mask], return_inverse=True)
        self.item_ids, cols = np.unique(m["product_id"][mask], return_inverse=True)
        score = m["score"][mask]
        positive = score > 0
        self.user_items = csr_matrix(((1 + alpha * score[positive]).astype(np.float32),
                                      (rows[positive], cols[positive])), shape=(len(self.user_ids), len(self.item_ids)))
        with threadpool_limits(1, "blas"):
            self.model = AlternatingLeastSquares(factors=rank, regularization=reg_param, alpha=1.0,
                                                 iterations=iterations, use_cg=True, random_state=42,
                                                 num_threads=len(os.sched_getaffinity(0)))
            self.model.fit(self.user_items, show_progress=False)

    def lists(self, user_ids: np.ndarray, bought: tuple[np.ndarray, np.ndarray], k: int):
        """(user_id, product_id, rank, score) of the known ones of ``user_ids``, without what each bought."""
        from scipy.sparse import csr_matrix

        known = user_ids[np.isin(user_ids, self.user_ids)]
        rows = np.searchsorted(self.user_ids, known)
        mine = np.isin(bought[0], known) & np.isin(bought[1], self.item_ids)
        liked = csr_matrix((np.ones(mine.sum(), np.float32),
                            (np.searchsorted(known, bought[0][mine]), np.searchsorted(self.item_ids, bought[1][mine]))),
                           shape=(len(known), len(self.item_ids)))
        ids, scores = self.model.recommend(rows, liked, N=k, filter_already_liked_items=True)
        keep = ids >= 0
        return (np.repeat(known, k).reshape(-1, k)[keep], self.item_ids[ids[keep]],
                np.tile(np.arange(1, k + 1), (len(known), 1))[keep], scores[keep])


def popular_lists(m: dict, user_ids: np.ndarray, bought: tuple[np.ndarray, np.ndarray], k: int):
    """Each user's k most popular products (decayed purchases, carts, views, product id), without
    what each bought: (user_id, product_id, rank)."""
    products, inverse = np.unique(m["product_id"], return_inverse=True)
    sums = [np.bincount(inverse, weights=m[c]) for c in ("purchases_d", "carts_d", "views_d")]
    ranked = products[np.lexsort((products, -sums[2], -sums[1], -sums[0]))]
    users, products_out, ranks = [], [], []
    head, candidates = ranked[:k], ranked[:k + 100]
    mine = np.isin(bought[0], user_ids) & np.isin(bought[1], head)
    special = np.unique(bought[0][mine])  # users who bought one of the head: a list of their own
    plain = user_ids[~np.isin(user_ids, special)]
    users.append(np.repeat(plain, len(head)))
    products_out.append(np.tile(head, len(plain)))
    ranks.append(np.tile(np.arange(1, len(head) + 1), len(plain)))
    order = np.argsort(bought[0], kind="stable")
    bought_users, bought_products = bought[0][order], bought[1][order]
    for user in special:
        lo, hi = np.searchsorted(bought_users, user), np.searchsorted(bought_users, user, "right")
        own = candidates[~np.isin(candidates, bought_products[lo:hi])][:k]
        users.append(np.full(len(own), user))
        products_out.append(own)
        ranks.append(np.arange(1, len(own) + 1))
    return np.concatenate(users), np.concatenate(products_out), np.concatenate(ranks)


def run(raw: Path, lake_root: Path, day: date, workdir: Path, trials: list[dict], chosen: dict, hook) -> dict:
    """The peer's day, each stage timed: {"stages": {name: seconds}, "seconds", "rows"}."""
    import duckdb
    import pyarrow as pa
    from pyarrow import csv

    from benchmarks import bench_cleaning
    from recsys.driver_tables import compact_list_table
    from recsys.driver_trials import list_metrics
    from recsys.params import Settings
    from recsys_pipeline.bulk_load import replace_date_from_files
    from recsys_pipeline.publish import names

    settings, stages, started = Settings(), {}, time.perf_counter()

    def stage(name: str) -> None:
        stages[name] = round(time.perf_counter() - started - sum(stages.values()), 1)

    out = workdir / "pipeline_peer"
    bench_cleaning.run_duckdb(raw, out / "clean", len(os.sched_getaffinity(0)), day)
    stage("clean the day (DuckDB)")
    con = duckdb.connect()
    start = day - timedelta(days=settings.window_days - 1)
    earlier = [str(p) for p in sorted((lake_root / "events").glob("ingest_date=*"))
               if start - timedelta(days=2) <= date.fromisoformat(p.name[12:]) < day]
    con.execute(f"""CREATE VIEW window_events AS
        SELECT user_id, product_id, event_type, event_time, CAST(event_date AS DATE) AS event_date
        FROM read_parquet({[f"{p}/**/*.parquet" for p in earlier]}, hive_partitioning = true)
        UNION ALL SELECT user_id, product_id, event_type, event_time, CAST(event_date AS DATE)
        FROM read_parquet('{out}/clean/events/**/*.parquet', hive_partitioning = true)""")
    window = window_matrix(con, "window_events", start, day, settings)
    window_mask = training_mask(window, settings.min_user_products, settings.min_product_users)
    stage("interactions over the window (DuckDB)")

    split = day - timedelta(days=settings.eval_days - 1)
    train = window_matrix(con, "window_events", start, split - timedelta(days=1), settings)
    relevant = con.execute("""SELECT DISTINCT user_id, product_id FROM window_events
        WHERE event_date BETWEEN ? AND ? AND event_type IN ('cart', 'purchase')""", [split, day]).fetchnumpy()
    known = np.isin(relevant["user_id"], train["user_id"])
    relevant = (relevant["user_id"][known], relevant["product_id"][known])
    tests = np.unique(relevant[0])
    bought = (train["user_id"][train["purchases"] > 0], train["product_id"][train["purchases"] > 0])
    catalogue = len(np.unique(train["product_id"]))
    mask = training_mask(train, settings.min_user_products, settings.min_product_users)
    popular = popular_lists(train, tests, bought, settings.top_k)
    scores = {"popularity": list_metrics(popular, relevant, settings.top_k, catalogue)["ndcg"]}
    for t in trials:
        fit = Fit(train, mask, t["rank"], t["reg_param"], t["alpha"], settings.als_max_iter)
        als_users, als_items, als_ranks, _ = fit.lists(tests, bought, settings.top_k)
        rest = ~np.isin(popular[0], fit.user_ids)
        lists = (np.concatenate([als_users, popular[0][rest]]), np.concatenate([als_items, popular[1][rest]]),
                 np.concatenate([als_ranks, popular[2][rest]]))
        scores[f"als rank {t['rank']} reg {t['reg_param']} alpha {t['alpha']}"] = list_metrics(
            lists, relevant, settings.top_k, catalogue)["ndcg"]
    stage(f"tuning: {len(trials)} trials (implicit)")

    fit = Fit(window, window_mask, chosen["rank"], chosen["reg_param"], chosen["alpha"], chosen["max_iter"])
    everyone = np.unique(window["user_id"])
    window_bought = (window["user_id"][window["purchases"] > 0], window["product_id"][window["purchases"] > 0])
    als_users, als_items, als_ranks, als_scores = fit.lists(everyone, window_bought, settings.top_k)
    others = everyone[~np.isin(everyone, fit.user_ids)]
    pop_users, pop_items, pop_ranks = popular_lists(window, others, window_bought, settings.top_k)
    similar_ids, similarity = fit.model.similar_items(np.arange(len(fit.item_ids)), N=settings.top_k + 1)
    stage("refit, everyone's top-K and similar products (implicit)")

    n_als, n_pop = len(als_users), len(pop_users)
    # Published as ours are: a row per user, the list and its scores JSON arrays.
    recommendations = compact_list_table(pa.table({
        "user_id": np.concatenate([als_users, pop_users]), "rank": np.concatenate([als_ranks, pop_ranks]),
        "product_id": np.concatenate([als_items, pop_items]),
        "score": np.concatenate([als_scores.astype(np.float64), 1.0 / pop_ranks]),
        "source": pa.array(["als"] * n_als + ["popular"] * n_pop)}), day)
    not_self = similar_ids != np.arange(len(fit.item_ids))[:, None]
    rows, cols = np.nonzero(not_self)
    ranks = np.arange(len(rows)) - np.searchsorted(rows, rows) + 1  # rank within the row (rows are sorted)
    take = ranks <= settings.top_k
    similar = pa.table({"run_date": pa.array([day] * int(take.sum()), pa.date32()),
                        "product_id": fit.item_ids[rows[take]], "similar_rank": ranks[take].astype(np.int32),
                        "similar_product_id": fit.item_ids[similar_ids[rows[take], cols[take]]],
                        "similarity": similarity[rows[take], cols[take]].astype(np.float64)})
    loaded = {}
    for table, data in (("user_recommendations", recommendations), ("similar_products", similar)):
        folder = out / table
        folder.mkdir(parents=True, exist_ok=True)
        # LOAD DATA's format as the lake's load files have it: a header, tab-separated, unquoted.
        with open(folder / "part-0.csv", "wb") as part:
            part.write(("\t".join(data.column_names) + "\n").encode())
            csv.write_csv(data, part, csv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none"))
        hook.run(f"DROP TABLE IF EXISTS peer_{table}")
        hook.run(f"CREATE TABLE peer_{table} LIKE {names(table)['current']}")  # as the lists are served
        loaded[table] = replace_date_from_files(hook, f"peer_{table}", "run_date", day, str(folder))
        hook.run(f"DROP TABLE peer_{table}")
    stage("CSV and LOAD DATA into MySQL")
    return {"stages": stages, "seconds": round(time.perf_counter() - started, 1), "ndcg": scores,
            "rows": {"pairs": len(window["user_id"]), "als_users": len(fit.user_ids), **loaded}}
