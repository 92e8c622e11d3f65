"""The daily benchmark's whole-pipeline peer does the pipeline's work: on a hand-made window its
DuckDB interaction matrix, training subset and popularity lists equal the Spark job's."""

from datetime import date, datetime, timedelta

import numpy as np
import pytest
from pyspark.sql import functions as F

from recsys.interactions import interaction_matrix, training_subset
from recsys.params import Settings
from recsys.ranking import popular_products, recommend_popular

DAY = date(2019, 10, 3)
# (user, product, type, hours after 2019-10-01 00:00): three days, views, carts and purchases.
EVENTS = [(1, 10, "view", 1), (1, 10, "cart", 2), (1, 10, "purchase", 3), (1, 11, "view", 30),
          (2, 10, "view", 5), (2, 12, "view", 50), (2, 12, "view", 51), (2, 12, "purchase", 52),
          (3, 11, "view", 26), (3, 12, "cart", 60), (3, 13, "view", 70), (4, 13, "view", 71),
          (4, 10, "purchase", 40), (5, 14, "view", 10), (2, 11, "view", 20), (3, 10, "view", 65),
          (6, 99, "view", -30)]  # the day before the window: left out


@pytest.fixture
def window(spark, tmp_path):
    start = datetime(2019, 10, 1)
    rows = [(u, p, t, start + timedelta(hours=h)) for u, p, t, h in EVENTS]
    events = spark.createDataFrame(rows, "user_id long, product_id long, event_type string, event_time timestamp")
    events = events.withColumn("event_date", F.to_date("event_time"))
    events.write.partitionBy("event_date").parquet(str(tmp_path / "events"))
    return events, str(tmp_path / "events")


def test_the_peer_scores_pairs_chooses_the_training_subset_and_ranks_popularity_as_the_pipeline(spark, window):
    import duckdb

    from benchmarks.pipeline_peer import popular_lists, training_mask, window_matrix

    events, path = window
    settings = Settings(window_days=3, eval_days=1)
    in_window = events.where(F.col("event_date") >= F.lit(date(2019, 10, 1)))
    ours = interaction_matrix(in_window, settings, in_window.agg(F.max("event_time")).first()[0])
    con = duckdb.connect()
    con.execute(f"CREATE VIEW ev AS SELECT * FROM read_parquet('{path}/**/*.parquet', hive_partitioning = true)")
    peer = window_matrix(con, "ev", date(2019, 10, 1), DAY, settings)

    expected = sorted((r.user_id, r.product_id, r.purchases, r.score) for r in ours.collect())
    got = list(zip(peer["user_id"].tolist(), peer["product_id"].tolist(), peer["purchases"].tolist(),
                   peer["score"].tolist(), strict=True))
    assert [g[:3] for g in got] == [e[:3] for e in expected] and len(got) == 12  # user 6's day is outside
    # Ours adds each decay rounded to 2^-32 (recsys.exact.fraction_sum), the peer in doubles.
    assert np.allclose([g[3] for g in got], [e[3] for e in expected], rtol=1e-9)

    subset = sorted((r.user_id, r.product_id) for r in training_subset(ours, 2, 2).collect())
    mask = training_mask(peer, 2, 2)
    assert list(zip(peer["user_id"][mask].tolist(), peer["product_id"][mask].tolist(), strict=True)) == subset

    users = np.array([1, 2, 3, 4, 5, 7])
    bought = (peer["user_id"][peer["purchases"] > 0], peer["product_id"][peer["purchases"] > 0])
    lists = popular_lists(peer, users, bought, 3)
    exclude = ours.where("purchases > 0").select("user_id", "product_id")
    spark_lists = recommend_popular(spark.createDataFrame([(int(u),) for u in users], "user_id long"),
                                    popular_products(ours), 3, exclude)
    assert sorted(zip(*(column.tolist() for column in lists), strict=True)) == sorted(
        (r.user_id, r.product_id, r.rank) for r in spark_lists.collect())
