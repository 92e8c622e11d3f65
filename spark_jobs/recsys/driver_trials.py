"""Tuning trials of the implicit engine, on the driver: the evaluation's data collected once, then
each trial is a fit, a top-K for the test users and the metrics, in numpy.

Scored the Spark way (``recommender.fit_and_recommend``, then ``ranking.ranking_metrics``), a trial
runs some twenty Spark jobs that rebuild what no trial changes: the training subset, the id maps,
the exclusions, the popularity fallback, the relevant items. At 6 million non-zeros that was 80 to
100 s a trial for a fit of 10 s. Here those are collected once; a trial's lists are the same lists
(the same fit, the same top-K rule, the same fallback) and its metrics the same definitions as
``ranking_metrics``, which a test holds them to.
"""

import math
import time
from dataclasses import dataclass

import numpy as np
from pyspark.sql import functions as F

from recsys.als import Trials
from recsys.als_implicit import implicit_factors
from recsys.collect import arrow_columns_of
from recsys.interactions import in_training_subset
from recsys.params import AlsParams
from recsys.topk import ranks_in_rows, rows_of, top_k_for


@dataclass
class DriverTrials:
    """What every trial of one evaluation shares, as arrays (store ids are int64)."""
    user_ids: np.ndarray  # the ALS users' ids, sorted: user_idx i is user_ids[i]
    item_ids: np.ndarray  # the ALS products' ids, sorted: item_idx j is item_ids[j]
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray]  # (user_idx, item_idx, score) of the training subset
    test_rows: np.ndarray  # user_idx of the test users ALS serves
    excluded: list[np.ndarray]  # per test_rows entry, the item_idx it must not be recommended
    fallback: tuple[np.ndarray, np.ndarray, np.ndarray]  # (user_id, product_id, rank) for the other test users
    relevant: tuple[np.ndarray, np.ndarray]  # (user_id, product_id), distinct
    baseline_scores: dict[str, dict]  # ``list_metrics`` of each baseline's lists, by name (the lists are not kept)
    k: int
    catalogue: int

    @classmethod
    def collect(cls, data: Trials) -> "DriverTrials":
        """The evaluation's data of ``data`` (a ``recommender.SparkWayTrials``): its training
        matrix, the relevant pairs, the baselines' lists (the trials serve the ``popularity`` lists
        to the test users ALS does not know, as ``recommender.fit_and_recommend`` does) and the
        excluded pairs, collected side by side; of the baselines only their metrics are kept."""
        train, settings, baselines, catalogue = data.train, data.settings, data.baselines, data.catalogue
        relevant = data.relevant.select("user_id", "product_id").distinct()
        wanted = [(train.select("user_id", "product_id", F.col("score").cast("float")),
                   ("user_id", "product_id", "score")),
                  (relevant, ("user_id", "product_id"))]
        wanted += [(lists, ("user_id", "product_id", "rank")) for lists in baselines.values()]
        if data.excluded is not None:
            wanted.append((data.excluded.join(relevant.select("user_id").distinct(), "user_id"),
                           ("user_id", "product_id")))
        (users, items, scores), relevant_pairs, *collected = arrow_columns_of(*wanted)
        # The training subset worked out here: Spark's way shuffles the 22 million rees46 pairs twice.
        kept = in_training_subset(users, items, settings.min_user_products, settings.min_product_users)
        users, items, scores = users[kept], items[kept], scores[kept]
        baseline_lists = dict(zip(baselines, collected[:len(baselines)], strict=True))
        user_ids, user_idx = np.unique(users, return_inverse=True)
        item_ids, item_idx = np.unique(items, return_inverse=True)
        tests = np.unique(relevant_pairs[0])
        served = np.isin(tests, user_ids)
        test_rows = np.searchsorted(user_ids, tests[served])
        if data.excluded is not None:
            bought_users, bought_items = collected[len(baselines)]
            # Each served test user's purchases, as item indices, in test_rows' order.
            served_users = tests[served]
            mine = np.isin(bought_users, served_users) & np.isin(bought_items, item_ids)
            excluded = rows_of(np.searchsorted(served_users, bought_users[mine]),
                                   np.searchsorted(item_ids, bought_items[mine]), len(test_rows))
        else:
            excluded = [np.empty(0, np.int64)] * len(test_rows)
        popular = baseline_lists["popularity"]
        unserved = ~np.isin(popular[0], user_ids)
        order = np.lexsort((item_idx, user_idx))  # one order, whatever order the rows came in
        return cls(user_ids, item_ids,
                   (user_idx[order].astype(np.int32), item_idx[order].astype(np.int32), scores[order]),
                   test_rows, excluded, tuple(column[unserved] for column in popular), tuple(relevant_pairs),
                   {name: list_metrics(tuple(columns), tuple(relevant_pairs), settings.top_k, catalogue)
                    for name, columns in baseline_lists.items()},
                   settings.top_k, catalogue)

    def lists(self, params: AlsParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(user_id, product_id, rank) of every test user's list from a model fitted with
        ``params``: ALS for the users it serves, popularity for the rest."""
        started = time.monotonic()
        user_factors, item_factors = implicit_factors(*self.pairs, params)
        fitted = time.monotonic()
        rows, cols, _ = top_k_for(user_factors[self.test_rows], item_factors, self.excluded, self.k)
        print(f"  on the driver: fit {fitted - started:.1f} s ({len(self.pairs[0]):,} pairs), top-{self.k} for "
              f"{len(self.test_rows):,} users {time.monotonic() - fitted:.1f} s", flush=True)
        return (np.concatenate([self.user_ids[self.test_rows][rows], self.fallback[0]]),
                np.concatenate([self.item_ids[cols], self.fallback[1]]),
                np.concatenate([ranks_in_rows(rows, len(self.test_rows)), self.fallback[2]]))

    def score(self, params: AlsParams) -> dict:
        """``list_metrics`` of the test users' lists from a model fitted with ``params``."""
        return list_metrics(self.lists(params), self.relevant, self.k, self.catalogue)

    def baseline_metrics(self) -> dict[str, dict]:
        return self.baseline_scores


def list_metrics(recs: tuple[np.ndarray, np.ndarray, np.ndarray], relevant: tuple[np.ndarray, np.ndarray],
                 k: int, catalogue: int) -> dict:
    """``ranking_metrics`` of (user_id, product_id, rank) lists against distinct (user_id,
    product_id) relevant pairs: per user with a relevant item, precision, recall, NDCG, average
    precision and hit at ``k``, averaged; coverage is the share of the catalogue recommended.
    Sums are exactly rounded (``math.fsum``), so no order of the users changes a bit."""
    rec_users, rec_items, ranks = recs
    keep = ranks <= k
    rec_users, rec_items, ranks = rec_users[keep], rec_items[keep], ranks[keep]
    rel_users, rel_items = relevant
    users = np.unique(rel_users)
    if len(users) == 0:
        return {"users": 0, "precision": 0.0, "recall": 0.0, "ndcg": 0.0, "map": 0.0, "hit_rate": 0.0,
                "coverage": len(np.unique(rec_items)) / catalogue if catalogue else 0.0}
    products = np.unique(np.concatenate([rec_items, rel_items]))
    width = np.int64(len(products))

    def keys(u, p):
        return np.searchsorted(users, u).astype(np.int64) * width + np.searchsorted(products, p)

    listed = np.isin(rec_users, users)  # a list for a user with nothing relevant scores nothing
    order = np.lexsort((ranks[listed], rec_users[listed]))
    u = np.searchsorted(users, rec_users[listed][order])
    rank = ranks[listed][order].astype(np.float64)
    hit = np.isin(keys(rec_users[listed][order], rec_items[listed][order]), keys(rel_users, rel_items))
    counted = np.cumsum(hit)
    first = np.searchsorted(u, u)  # the index of each user's first recommendation
    so_far = counted - np.where(first > 0, counted[first - 1], 0)
    n = len(users)
    n_rel = np.bincount(np.searchsorted(users, rel_users), minlength=n)
    hits = np.bincount(u, weights=hit, minlength=n)
    dcg = np.bincount(u, weights=np.where(hit, 1.0 / np.log2(rank + 1.0), 0.0), minlength=n)
    precision_sum = np.bincount(u, weights=np.where(hit, so_far / rank, 0.0), minlength=n)
    ideal = np.cumsum(1.0 / np.log2(np.arange(k) + 2.0))[np.minimum(n_rel, k) - 1]
    cut = np.minimum(n_rel, k)

    def average(values: np.ndarray) -> float:
        return math.fsum(values) / n

    return {
        "users": int(n),
        "precision": average(hits / k),
        "recall": average(hits / n_rel),
        "ndcg": average(dcg / ideal),
        "map": average(precision_sum / cut),
        "hit_rate": average((hits > 0).astype(np.float64)),
        "coverage": len(np.unique(rec_items)) / catalogue if catalogue else 0.0,
    }
