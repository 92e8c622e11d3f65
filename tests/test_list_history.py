"""Users' lists a row per user: the per-date history (a row per user and date, the list a JSON
array in rank order; V014 moved the rows of a row per entry over) and the current lists (their
scores too; V016), which views give back a row per entry."""

import json
import shutil

from recsys_pipeline.migrations import _execute_ddl, apply_migrations, statements
from recsys_pipeline.publish import publish_current
from recsys_pipeline.sql_files import MIGRATIONS_DIR
from tests.helpers import stage_rows
from tests.test_publish import D1, D2, RECS, current, history, recs


def test_the_history_keeps_each_users_list_in_rank_order_and_the_current_lists_every_entry(mysql_hook):
    apply_migrations(mysql_hook)
    assert stage_rows(mysql_hook, "user_recommendations", D1, recs(D1, 2, 1000)[::-1]) == 4  # any file order
    assert [(r[0], r[1], json.loads(r[2]), r[3]) for r in history(mysql_hook)] == [
        (D1, 1, [1011, 1012], "als"), (D1, 2, [1021, 1022], "als")]
    publish_current(mysql_hook, D1, RECS)
    assert current(mysql_hook) == [(D1, 1, 1, 1011), (D1, 1, 2, 1012), (D1, 2, 1, 1021), (D1, 2, 2, 1022)]


def test_the_list_history_moves_to_a_row_per_user_and_date_and_reads_back_a_row_per_entry(mysql_hook, tmp_path):
    """V014 on a database that holds lists a row per entry: each user's list of each date becomes
    one row, its products in rank order, whatever order the rows were stored in; the view gives
    the entries back; the old table goes; run again after it finished, V014 changes nothing."""
    for path in sorted(MIGRATIONS_DIR.glob("V*.sql")):
        if path.stem < "V014":
            shutil.copy(path, tmp_path)
    apply_migrations(mysql_hook, tmp_path)
    d1, d2 = D1, D2
    entries = [(d1, 7, 2, 102, "als"), (d1, 7, 1, 101, "als"), (d1, 7, 3, 103, "als"), (d1, 8, 1, 201, "popular"),
               (d2, 7, 1, 103, "als"), *((d2, 9, r, 1000 + r, "als") for r in range(1, 501))]  # 500: top_k's largest
    mysql_hook.insert_rows("user_recommendations", [(*e[:4], 0.5, e[4]) for e in entries],
                           target_fields=["run_date", "user_id", "rec_rank", "product_id", "score", "source"])
    assert apply_migrations(mysql_hook) == ["V014__compact_list_history", "V015__current_lists_without_a_date_key",
                                           "V016__compact_current_lists", "V017__default_lists"]

    def history():
        return [(r[0], r[1], json.loads(r[2]), r[3]) for r in mysql_hook.get_records(
            "SELECT run_date, user_id, product_ids, source FROM user_recommendation_history ORDER BY 1, 2")]

    moved = history()
    assert moved == [(d1, 7, [101, 102, 103], "als"), (d1, 8, [201], "popular"), (d2, 7, [103], "als"),
                     (d2, 9, list(range(1001, 1501)), "als")]
    read_back = mysql_hook.get_records(
        "SELECT run_date, user_id, rec_rank, product_id, source FROM user_recommendation_history_entries")
    assert sorted(tuple(r) for r in read_back) == sorted(entries)
    assert mysql_hook.get_first("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() "
                                "AND table_name = 'user_recommendations'")[0] == 0
    conn = mysql_hook.get_conn()
    for statement in statements((MIGRATIONS_DIR / "V014__compact_list_history.sql").read_text()):
        _execute_ddl(conn.cursor(), statement, "V014__compact_list_history")
    conn.commit()
    conn.close()
    assert history() == moved


def test_the_current_lists_move_to_a_row_per_user_and_the_views_read_back_every_entry(mysql_hook, tmp_path):
    """V016 on a database whose current and previous lists are a row per entry: each user's list
    becomes one row (product ids and scores in rank order, whatever order the rows were stored in);
    the views of the old names give the same entries, scores included; the old tables go; run
    again after it finished, V016 changes nothing."""
    for path in sorted(MIGRATIONS_DIR.glob("V*.sql")):
        if path.stem < "V016":
            shutil.copy(path, tmp_path)
    apply_migrations(mysql_hook, tmp_path)
    entries = {"current": [(7, 2, 102, 0.5, "als"), (7, 1, 101, 1e-20, "als"), (7, 3, 103, 1 / 3, "als"),
                           (8, 1, 201, 2.0, "popular")],
               "previous": [(7, 1, 99, 0.25, "als"), *((9, r, 1000 + r, 1 / r, "als") for r in range(1, 501))]}
    for generation, day in (("current", D2), ("previous", D1)):
        mysql_hook.insert_rows(f"user_recommendations_{generation}", [(*e, day) for e in entries[generation]],
                               target_fields=["user_id", "rec_rank", "product_id", "score", "source", "run_date"])
    assert apply_migrations(mysql_hook) == ["V016__compact_current_lists", "V017__default_lists"]

    def lists():
        return {g: [(r[0], json.loads(r[1]), json.loads(r[2]), r[3], r[4]) for r in mysql_hook.get_records(
            "SELECT user_id, product_ids, scores, source, run_date "
            f"FROM user_recommendation_lists_{g} ORDER BY user_id")] for g in ("current", "previous")}

    moved = lists()
    assert moved["current"] == [(7, [101, 102, 103], [1e-20, 0.5, 1 / 3], "als", D2), (8, [201], [2.0], "popular", D2)]
    assert moved["previous"] == [(7, [99], [0.25], "als", D1),
                                 (9, list(range(1001, 1501)), [1 / r for r in range(1, 501)], "als", D1)]
    for generation, day in (("current", D2), ("previous", D1)):
        read_back = mysql_hook.get_records("SELECT user_id, rec_rank, product_id, score, source, run_date "
                                           f"FROM user_recommendations_{generation}")
        assert sorted(tuple(r) for r in read_back) == sorted((*e, day) for e in entries[generation])
    assert {r[0]: r[1] for r in mysql_hook.get_records(
        "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = DATABASE() "
        "AND table_name LIKE 'user_recommendations%'")} == {
        "user_recommendations_current": "VIEW", "user_recommendations_previous": "VIEW"}
    conn = mysql_hook.get_conn()
    for statement in statements((MIGRATIONS_DIR / "V016__compact_current_lists.sql").read_text()):
        _execute_ddl(conn.cursor(), statement, "V016__compact_current_lists")
    conn.commit()
    conn.close()
    assert lists() == moved
