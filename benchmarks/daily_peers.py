"""The daily benchmark's peers (benchmarks/bench_daily.py), each measured in the same run as ours:
the day's cleaning in DuckDB with the same rules, ALS training and top-K with `implicit` alone on
the run's own matrix and parameters, and the run's recommendations loaded with insert_rows."""

import os
from datetime import date
from pathlib import Path

from benchmarks.measure import timed


def peer_cleaning(raw: Path, day: date, ours_s: float, workdir: Path) -> dict:
    from benchmarks import bench_cleaning

    duck_s, counts = bench_cleaning.run_duckdb(raw, workdir / "duckdb", os.cpu_count(), day)
    return {"name": f"cleaning one day ({counts['rows_read']:,} rows) vs DuckDB, same rules", "ours_s": ours_s,
            "peer_s": round(duck_s, 2)}


def peers_als(spark, lake_root: Path, day: date, sizes: dict) -> list[dict]:
    """Our ALS fit and top-K against implicit's, on the run's matrix with the run's parameters."""
    import numpy as np
    from implicit.als import AlternatingLeastSquares
    from scipy.sparse import csr_matrix
    from threadpoolctl import threadpool_limits

    from recsys import als, lake
    from recsys.als_spark import canonical_order
    from recsys.interactions import training_subset, window_part
    from recsys.params import AlsParams, Settings

    settings = Settings()
    matrix = window_part(spark.read.parquet(lake.interactions(str(lake_root), day)))
    train = training_subset(matrix, settings.min_user_products, settings.min_product_users).cache()
    users = als.dense_index(train, "user_id", "user_idx").cache()
    items = als.dense_index(train, "product_id", "item_idx").cache()
    ratings = canonical_order(train.join(users, "user_id").join(items, "product_id")
                                  .select("user_idx", "item_idx", "score")).cache()
    local = ratings.toPandas()
    params = AlsParams(**sizes["als"], blocks=settings.als_blocks)
    model, fit_s = timed(lambda: als.fit(ratings, params, sizes["als_engine"]))
    # Everyone's lists as the pipeline makes them for this engine (on the driver for implicit),
    # ids mapped back, as a DataFrame; nothing excluded, as the peer excludes nothing.
    _, top_s = timed(lambda: model.recommend(users, items, settings.top_k, None)
                     .write.format("noop").mode("overwrite").save())
    n_users, n_items = int(local.user_idx.max()) + 1, int(local.item_idx.max()) + 1
    # The same model as ours (confidence 1 + alpha x score, implicit's alpha 1): the peer is the
    # library alone, fed a matrix already on the driver; ours includes getting it there and back.
    confidence = (1.0 + params.alpha * local.score.to_numpy()).astype(np.float32)
    user_items = csr_matrix((confidence, (local.user_idx, local.item_idx)), shape=(n_users, n_items))
    with threadpool_limits(1, "blas"):
        peer = AlternatingLeastSquares(factors=params.rank, regularization=params.reg_param, alpha=1.0,
                                       iterations=params.max_iter, random_state=42, num_threads=os.cpu_count())
        _, peer_fit_s = timed(lambda: peer.fit(user_items, show_progress=False))
        _, peer_top_s = timed(lambda: peer.recommend(np.arange(n_users), user_items, N=settings.top_k,
                                                     filter_already_liked_items=False))
    shape = f"{n_users:,} x {n_items:,}, {len(local):,} non-zeros, rank {params.rank}, {params.max_iter} iterations"
    return [{"name": f"ALS training, engine {sizes['als_engine']} from and to Spark DataFrames ({shape}) vs "
                     f"implicit alone on a matrix in memory", "ours_s": round(fit_s, 2),
             "peer_s": round(peer_fit_s, 2)},
            {"name": f"top-{settings.top_k} for {n_users:,} users vs implicit recommend", "ours_s": round(top_s, 2),
             "peer_s": round(peer_top_s, 2)}]


def peer_load(lake_root: Path, day: date, max_peer_rows: int) -> dict:
    """The run's lists loaded again by the pipeline's path, and by insert_rows."""
    from benchmarks.bench_load import COLUMNS, read_load_rows
    from recsys import lake
    from recsys_pipeline.bulk_load import replace_date_from_files
    from recsys_pipeline.mysql import mysql_hook
    from recsys_pipeline.publish import names

    hook, folder = mysql_hook(loads_files=True), lake.recommendations(str(lake_root), day)
    ours, theirs = "peer_load_ours", "peer_load_insert_rows"  # tables of their own, shaped as served
    for table in (ours, theirs):
        hook.run(f"DROP TABLE IF EXISTS {table}")
        hook.run(f"CREATE TABLE {table} LIKE {names('user_recommendations')['current']}")
    rows_loaded, ours_s = timed(lambda: replace_date_from_files(hook, ours, "run_date", day, folder))
    rows = read_load_rows(Path(folder), max_peer_rows)
    _, peer_s = timed(lambda: hook.insert_rows(theirs, rows, target_fields=COLUMNS))
    for table in (ours, theirs):
        hook.run(f"DROP TABLE {table}")
    # The peer's time scaled to the same rows (it is linear in rows: with its defaults insert_rows
    # sends one INSERT a row and commits every 1,000).
    return {"name": f"MySQL load of {rows_loaded:,} users' lists vs insert_rows "
                    f"(measured on {len(rows):,} rows, scaled)",
            "ours_s": round(ours_s, 2), "peer_s": round(peer_s * rows_loaded / len(rows), 2)}
