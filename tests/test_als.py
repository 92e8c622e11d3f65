"""ALS: id maps, exact top-K over factors, and recommendations on an obvious structure."""

import numpy as np
import pytest

from recsys.als import choose_engine, dense_index
from recsys.als_spark import top_k
from recsys.params import AlsParams, Settings
from recsys.recommender import fit_and_recommend
from recsys.topk import popular_rows


def test_dense_index_maps_64_bit_ids_in_order(spark):
    ids = spark.createDataFrame([(2053013555631882655,), (7,), (2053013555631882655,)], "user_id long")
    rows = sorted((r.user_id, r.user_idx) for r in dense_index(ids, "user_id", "user_idx").collect())
    assert rows == [(7, 0), (2053013555631882655, 1)]


def test_top_k_equals_brute_force_and_skips_exclusions(spark):
    rng = np.random.default_rng(0)
    users, items = rng.random((30, 4)).astype(np.float32), rng.random((50, 4)).astype(np.float32)
    exclude = {u: list(rng.choice(50, 3, replace=False)) for u in range(0, 30, 2)}
    df = spark.createDataFrame(
        [(u, users[u].tolist(), [int(i) for i in exclude.get(u, [])]) for u in range(30)],
        "user_idx int, features array<float>, exclude array<int>",
    )
    got = {}
    for r in top_k(df, items, 5).collect():
        got.setdefault(r.user_idx, []).append((r.rank, r.item_idx, r.score))
    for u in range(30):
        scores = users[u] @ items.T
        scores[exclude.get(u, [])] = -np.inf
        expected = list(np.argsort(-scores, kind="stable")[:5])
        ranked = [item for _, item, _ in sorted(got[u])]
        assert ranked == expected
        assert [s for _, _, s in sorted(got[u])] == sorted((s for _, _, s in got[u]), reverse=True)


def test_the_top_k_kernel_imports_no_pyspark():
    import subprocess
    import sys

    probe = "import sys, recsys.topk; print(sorted(m for m in sys.modules if m.split('.')[0] == 'pyspark'))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_no_model_type_is_told_apart_by_isinstance():
    """The engines differ by their classes' methods, behind one interface (recsys.als)."""
    import ast

    from recsys_pipeline.config import PROJECT_ROOT

    for path in sorted((PROJECT_ROOT / "spark_jobs" / "recsys").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
                assert "Model" not in ast.unparse(node) and "Factors" not in ast.unparse(node), path


def test_top_k_rows_equals_a_full_sort_with_ties_exclusions_and_odd_shapes():
    from recsys.topk import top_k_rows

    rng = np.random.default_rng(3)
    for n_rows, n_cols, k in [(50, 37, 5), (200, 1000, 10), (30, 7, 7), (40, 12, 10), (60, 10007, 10), (5, 1, 1)]:
        scores = rng.random((n_rows, n_cols)).astype(np.float32)
        scores[rng.random(scores.shape) < 0.2] = -np.inf  # excluded items
        if n_cols > 4:
            scores[:, 3] = scores[:, 4]  # ties go to the lower column
        rows, cols, values = top_k_rows(scores, k)
        for r in range(n_rows):
            expected = np.argsort(-scores[r], kind="stable")[:k]
            assert list(cols[rows == r]) == list(expected)
            assert np.array_equal(values[rows == r], scores[r, expected])


@pytest.mark.parametrize("head", [4, 16, 64])
def test_top_k_scored_against_the_largest_norms_first_equals_scoring_every_item(monkeypatch, head):
    """The norm bound saves work, never changes a list: the same columns and the same scores, bit
    for bit, as scoring every item, with exclusions among the largest items, ties, users of norm 0,
    users whose scores are all negative and a k beyond the head."""
    from recsys import topk

    monkeypatch.setattr(topk, "HEAD_ITEMS", head)
    rng = np.random.default_rng(7)
    items = (rng.standard_normal((300, 6)) * rng.pareto(1.0, (300, 1))).astype(np.float32)  # long-tailed norms
    items[17] = items[3]  # a tie: the lower column first
    users = rng.standard_normal((500, 6)).astype(np.float32)
    users[5] = 0.0
    users[6] = -items[np.argmax(np.linalg.norm(items, axis=1))]  # the largest items score worst
    largest = np.argsort(-np.linalg.norm(items, axis=1))[:5]
    excluded = [np.sort(rng.choice(300, rng.integers(0, 4), replace=False)) for _ in range(500)]
    excluded[::3] = [np.sort(largest)] * len(excluded[::3])
    for k in (1, 10, 2 * head):
        got = topk.top_k_for(users, items, excluded, k)
        exact = topk._exact_top_k(users, items, *topk._pairs(excluded), k)
        assert all(np.array_equal(a, b) for a, b in zip(got, exact, strict=True))
        scores = users @ items.T
        for row in (0, 3, 5, 6, 499):
            scores[row, excluded[row]] = -np.inf
            expected = np.argsort(-scores[row], kind="stable")[:k]
            assert list(got[1][got[0] == row]) == list(expected)


@pytest.mark.parametrize("engine", ["spark", "implicit"])
def test_each_user_gets_the_missing_item_of_their_group_and_thin_users_get_popularity(spark, engine):
    rows = []
    groups = {range(1, 9): [101, 102, 103], range(11, 19): [201, 202, 203]}
    for users, products in groups.items():
        for u in users:
            for j, p in enumerate(products):
                if j != u % 3:  # each user knows two of the group's three products
                    rows.append((u, p, 1, 1.0, 1.0))
    rows.append((99, 101, 1, 1.0, 1.0))  # one product only: below min_user_products
    matrix = spark.createDataFrame(
        rows, "user_id long, product_id long, purchases int, purchases_decayed double, score double"
    ).selectExpr("*", "0.0 AS carts_decayed", "0.0 AS views_decayed")
    # implicit's regularisation is not scaled by each user's and item's ratings as MLlib's is: at
    # MLlib's 0.01 it learns the seen pairs by heart, and its few conjugate-gradient steps a sweep
    # need 0.5 to settle in 10 iterations here.
    model = AlsParams(rank=4, reg_param={"spark": 0.01, "implicit": 0.5}[engine], alpha=10.0, max_iter=10, blocks=2)
    fitted = fit_and_recommend(matrix, Settings(top_k=1, als_engine=engine), model)
    assert type(fitted.model).__name__ == {"spark": "SparkAlsModel", "implicit": "DriverAlsModel"}[engine]
    recs = {r.user_id: (r.product_id, r.source) for r in fitted.recommendations.collect()}
    for users, products in groups.items():
        for u in users:
            assert recs[u] == (products[u % 3], "als")
    assert recs[99][1] == "popular" and recs[99][0] != 101


@pytest.mark.parametrize("engine", ["spark", "implicit"])
def test_similar_products_are_the_nearest_by_cosine_never_the_product_itself(spark, engine):
    from recsys.als import fit

    rng = np.random.default_rng(1)
    rows = [(u, int(i), float(rng.random()) + 0.5) for u in range(40) for i in rng.choice(30, 6, replace=False)]
    model = fit(spark.createDataFrame(rows, "user_idx int, item_idx int, score double"),
                AlsParams(rank=5, reg_param=0.005, alpha=1.0, max_iter=5, blocks=2), engine)
    items = spark.createDataFrame([(1000 + i, i) for i in range(30)], "product_id long, item_idx int")
    got = {}
    for r in model.similar_products(items, 3).collect():
        got.setdefault(r.product_id, []).append((r.similar_rank, r.similar_product_id, r.similarity))
    factors = model.item_matrix()
    unit = factors / np.linalg.norm(factors, axis=1, keepdims=True)
    for i in range(30):
        cosine = unit @ unit[i]
        cosine[i] = -np.inf
        expected = [1000 + int(j) for j in np.argsort(-cosine, kind="stable")[:3]]
        ranked = sorted(got[1000 + i])
        assert [p for _, p, _ in ranked] == expected
        assert np.allclose([s for _, _, s in ranked], np.sort(cosine)[::-1][:3], atol=1e-5)


def test_a_catalogue_above_the_driver_bound_is_scored_in_chunks_and_gives_the_same_lists(spark, monkeypatch):
    """No more than the bound of item factors reaches the driver at once; the lists are those
    of scoring the whole catalogue together (exclusions in every chunk honoured)."""
    from recsys import als_spark as als

    rng = np.random.default_rng(3)
    items, users = rng.standard_normal((30, 4)).astype(np.float32), rng.standard_normal((12, 4)).astype(np.float32)
    excluded = {u: [int(i) for i in rng.choice(30, 5, replace=False)] for u in range(12)}
    factors = spark.createDataFrame([(i, items[i].tolist()) for i in range(30)], "id int, features array<float>")
    queries = spark.createDataFrame([(u, users[u].tolist(), excluded[u]) for u in range(12)],
                                    "user_idx int, features array<float>, exclude array<int>")
    collected = []
    real = als.factor_matrix
    monkeypatch.setattr(als, "factor_matrix", lambda *a: collected.append(real(*a).shape[0]) or real(*a))
    whole = sorted((r.user_idx, r.rank, r.item_idx) for r in als.top_k_over_items(queries, factors, 4, 5).collect())
    assert collected == [30]
    collected.clear()
    chunked = als.top_k_over_items(queries, factors, 4, 5, max_bytes=7 * 4 * 4)  # 7 products' factors
    assert sorted((r.user_idx, r.rank, r.item_idx) for r in chunked.collect()) == whole
    assert collected == [7, 7, 7, 7, 2]
    scores = users @ items.T
    for u, products in excluded.items():
        scores[u, products] = -np.inf
    expected = sorted((u, rank + 1, int(i)) for u in range(12)
                      for rank, i in enumerate(np.argsort(-scores[u], kind="stable")[:5]))
    assert whole == expected


def test_auto_fits_on_the_driver_while_what_it_needs_there_fits_the_drivers_memory():
    gb = 1024 ** 3
    # The rees46 window on this 24 GB machine with a 2g driver: 27.5 million pairs, 3 million users.
    rees46 = (27_500_000, 3_000_000, 167_000)
    engine, why = choose_engine("auto", *rees46, 30, 10, "2g", machine=24 * gb)
    assert engine == "implicit"
    assert why == "auto: the driver engine needs about 3,891 MB of the 11,264 MB the driver may give it"
    # The same window in an 8 GB container with a 2g driver: 3 GB for the engine, too little.
    assert choose_engine("auto", *rees46, 30, 10, "2g", machine=8 * gb)[0] == "spark"
    # The bound is the need: the driver may give half of what its JVM leaves; a byte short goes to Spark.
    need = 400 * 2**20 + 40 * 1_000_000 + (100_000 + 10_000) * 30 * 8 + 100_000 * 10 * 60
    assert choose_engine("auto", 1_000_000, 100_000, 10_000, 30, 10, "2g", machine=2 * need + 2 * gb)[0] == "implicit"
    assert choose_engine("auto", 1_000_000, 100_000, 10_000, 30, 10, "2g",
                         machine=2 * need + 2 * gb - 2)[0] == "spark"
    # A Param that names an engine is obeyed, whatever the sizes.
    assert choose_engine("spark", 10, 1, 1, 30, 10, "2g", machine=24 * gb) == ("spark", "Param als_engine spark")
    assert choose_engine("implicit", 10**12, 10**9, 10**6, 30, 10, "2g", machine=gb)[0] == "implicit"


def test_the_drivers_memory_is_the_machines_or_its_containers_when_lower(tmp_path):
    from recsys.driver_memory import machine_memory, memory_bytes

    proc, cgroup = tmp_path / "proc", tmp_path / "cgroup"
    proc.mkdir()
    (proc / "meminfo").write_text("MemTotal:       24576000 kB\nMemFree:         1000000 kB\n")
    assert machine_memory(str(proc), str(cgroup)) == 24_576_000 * 1024  # no cgroup files: the machine's
    cgroup.mkdir()
    (cgroup / "memory.max").write_text("max\n")  # cgroup v2 without a limit
    assert machine_memory(str(proc), str(cgroup)) == 24_576_000 * 1024
    (cgroup / "memory.max").write_text("8589934592\n")  # an 8 GiB container
    assert machine_memory(str(proc), str(cgroup)) == 8 * 1024 ** 3
    (cgroup / "memory.max").unlink()
    (cgroup / "memory").mkdir()
    (cgroup / "memory" / "memory.limit_in_bytes").write_text("4294967296\n")  # cgroup v1
    assert machine_memory(str(proc), str(cgroup)) == 4 * 1024 ** 3
    assert [memory_bytes(s) for s in ("2g", "512m", "1536k", "2048", "1G", "3gb")] == [
        2 * 1024 ** 3, 512 * 1024 ** 2, 1536 * 1024, 2048 * 1024 ** 2, 1024 ** 3, 3 * 1024 ** 3]
    with pytest.raises(ValueError, match="'lots' is not a memory size such as 2g or 512m"):
        memory_bytes("lots")


def test_the_driver_engine_saves_its_factors_as_mllib_lays_them_out(spark, tmp_path):
    from recsys.als import fit

    ratings = spark.createDataFrame([(u, i, 1.0) for u in range(5) for i in range(4) if (u + i) % 2],
                                    "user_idx int, item_idx int, score double")
    model = fit(ratings, AlsParams(rank=3, reg_param=0.01, alpha=1.0, max_iter=3, blocks=2), "implicit")
    model.save(str(tmp_path / "als"))
    saved = spark.read.parquet(str(tmp_path / "als" / "userFactors"))
    model.user_factors.write.parquet(str(tmp_path / "spark_written"))  # the factors as Spark writes them
    assert saved.schema == spark.read.parquet(str(tmp_path / "spark_written")).schema
    users = saved.orderBy("id").collect()
    assert [r.id for r in users] == [0, 1, 2, 3, 4] and all(len(r.features) == 3 for r in users)
    assert [list(r.features) for r in users] == [list(map(float, f)) for f in model.user_array]
    assert spark.read.parquet(str(tmp_path / "als" / "itemFactors")).count() == 4


@pytest.mark.parametrize("rows_per_part", [2_000_000, 7])
def test_a_model_fitted_on_the_driver_scores_there_the_lists_spark_scores(spark, monkeypatch, rows_per_part):
    """recommend and similar_products of a model fitted on the driver run in numpy there; fed the
    same factors, Spark's block-wise top-K gives the same lists (exclusions honoured on both),
    whether the driver's rows reach Spark in one part or in many (as the store's millions do)."""
    from recsys import driver_tables
    from recsys.als import fit
    from recsys.als_spark import SparkAlsModel

    monkeypatch.setattr(driver_tables, "ROWS_PER_PART", rows_per_part)

    rng = np.random.default_rng(5)
    rows = [(u, int(i), float(rng.random()) + 0.1) for u in range(60) for i in rng.choice(40, 8, replace=False)]
    model = fit(spark.createDataFrame(rows, "user_idx int, item_idx int, score double"),
                AlsParams(rank=5, reg_param=0.05, alpha=10.0, max_iter=5, blocks=2), "implicit")
    users = spark.createDataFrame([(7000 + u, u) for u in range(0, 60, 3)], "user_id long, user_idx int")
    items = spark.createDataFrame([(500 + i, i) for i in range(40)], "product_id long, item_idx int")
    exclude = spark.createDataFrame([(7000 + u, 500 + i) for u, i, _ in rows[::4]], "user_id long, product_id long")
    as_spark = SparkAlsModel(model.rank, model.user_factors, model.item_factors)
    for call in (lambda m: m.recommend(users, items, 5, exclude), lambda m: m.recommend(users, items, 5, None),
                 lambda m: m.similar_products(items, 4)):
        driver, spark_way = (sorted(tuple(r) for r in call(m).collect()) for m in (model, as_spark))
        assert [r[:3] for r in driver] == [r[:3] for r in spark_way] and len(driver) > 50
        assert np.allclose([r[3] for r in driver], [r[3] for r in spark_way], rtol=1e-5)
    listed = {(r.user_id, r.product_id) for r in model.recommend(users, items, 5, exclude).collect()}
    assert not listed & {(r.user_id, r.product_id) for r in exclude.collect()}
    served = {r.user_id for r in model.recommend(users, items, 5, exclude).collect()}
    assert served == {7000 + u for u in range(0, 60, 3)}


def test_popular_rows_are_each_rows_first_k_of_the_order_it_has_not_excluded():
    rng = np.random.default_rng(5)
    n_rows, n_items, k = 50, 12, 4
    pairs = {(int(r), int(p)) for r, p in zip(rng.integers(0, n_rows, 120), rng.integers(0, n_items, 120), strict=True)}
    pairs = {pair for pair in pairs if pair[0] != 7} | {(7, p) for p in range(n_items - 2)}  # all but two: short
    ex_rows, ex_positions = (np.array(sorted(pairs))[:, i] for i in (0, 1))
    rows, positions = popular_rows(n_rows, ex_rows, ex_positions, n_items, k)
    got = {r: list(positions[rows == r]) for r in range(n_rows)}
    for r in range(n_rows):
        assert got[r] == [p for p in range(n_items) if (r, p) not in pairs][:k], r
    assert got[7] == [n_items - 2, n_items - 1]
    rows, positions = popular_rows(3, np.empty(0, np.int64), np.empty(0, np.int64), 2, k)
    assert (list(rows), list(positions)) == ([0, 0, 1, 1, 2, 2], [0, 1, 0, 1, 0, 1])


def test_lists_are_written_a_row_per_user_in_rank_order_the_same_by_spark_and_on_the_driver(spark):
    """Entries in any order become a row per user: product ids and scores JSON arrays by rank,
    which read back to the same numbers whichever way they were made; the scores as the float32
    numbers ALS computes, in their shortest text on the driver."""
    import json
    from datetime import date

    import pyarrow as pa

    from recsys.driver_tables import LIST_SCHEMA, compact_list_table
    from recsys.recommender import compact_lists

    entries = [(7, 3, 103, 1 / 3, "als"), (9, 1, 2**40, 2.0, "popular"), (7, 1, 101, 1e-20, "als"),
               (7, 2, 102, 0.5, "als")]  # (user_id, rank, product_id, score, source)
    day = date(2019, 10, 2)
    expected = [(day, 7, [101, 102, 103], [1e-20, 0.5, 1 / 3], "als"), (day, 9, [2**40], [2.0], "popular")]
    expected = [(*e[:3], list(np.float32(e[3])), e[4]) for e in expected]
    table = pa.table({name: [e[i] for e in entries] for i, name in
                      enumerate(("user_id", "rank", "product_id", "score", "source"))})
    driver = compact_list_table(table, day)
    assert driver.column_names == ["run_date", "user_id", "product_ids", "scores", "source"]
    assert driver["scores"].to_pylist() == ["[1e-20,0.5,0.33333334]", "[2]"]

    def read(run_date, user_id, product_ids, scores, source):
        return run_date, user_id, json.loads(product_ids), list(np.float32(json.loads(scores))), source

    assert [read(**r) for r in driver.to_pylist()] == expected
    frame = spark.createDataFrame(entries, LIST_SCHEMA)
    assert sorted(read(**r.asDict()) for r in compact_lists(frame, day).collect()) == expected
