"""The per-date history of users' lists: a row per user and date, the list a JSON array in rank
order; the current lists keep a row per entry; lists kept a row per entry move over (V014)."""

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
    assert apply_migrations(mysql_hook) == ["V014__compact_list_history", "V015__current_lists_without_a_date_key"]

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
