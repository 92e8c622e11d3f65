"""Choosing ALS parameters by NDCG within a time budget, and the quality gate."""

from dataclasses import replace
from datetime import date

import pytest

from recsys.params import Settings
from recsys.tuning import KEPT, InUse, quality_gate, search_space, tune


def grid(ranks) -> Settings:
    return Settings(als_ranks=ranks, als_reg_params=[0.005], als_alphas=[1.0])


def test_grid_walks_the_first_values_first():
    settings = Settings(als_ranks=[10, 20], als_reg_params=[0.01], als_alphas=[1.0, 5.0], als_max_iter=7)
    got = [(c.rank, c.reg_param, c.alpha, c.max_iter) for c in settings.als_candidates()]
    assert got == [(10, 0.01, 1.0, 7), (10, 0.01, 5.0, 7), (20, 0.01, 1.0, 7), (20, 0.01, 5.0, 7)]
    assert settings.als_params() == settings.als_candidates()[0]


def test_the_best_ndcg_wins_and_the_earliest_wins_a_tie():
    candidates = grid([5, 10, 20, 40]).als_candidates()
    ndcg = {5: 0.1, 10: 0.3, 20: 0.3, 40: 0.2}
    best, metrics, trials = tune(candidates, lambda c: {"ndcg": ndcg[c.rank]}, budget_seconds=60)
    assert best.rank == 10 and metrics == {"ndcg": 0.3}
    assert [t["ndcg"] for t in trials] == [0.1, 0.3, 0.3, 0.2]
    assert all(t["status"] == "scored" for t in trials)


def test_the_budget_stops_the_search_but_one_candidate_is_always_scored():
    now = [0.0]

    def slow_score(candidate):
        now[0] += 100.0  # every fit takes 100 s on this clock
        return {"ndcg": candidate.rank / 100}

    candidates = grid([5, 10, 20]).als_candidates()
    lines = []
    best, _, trials = tune(candidates, slow_score, budget_seconds=150, clock=lambda: now[0], progress=lines.append)
    assert [t["status"] for t in trials] == ["scored", "scored", "skipped: time budget spent"]
    assert best.rank == 10 and trials[1]["seconds"] == 100.0
    # The task's log says where the search is: each trial with its NDCG and the budget left.
    assert lines == [
        "tuning trial 1 of 3: rank 5, regParam 0.005, alpha 1.0: NDCG@K 0.0500 in 100.0 s (best so far 0.0500); "
        "50 s of the budget left",
        "tuning trial 2 of 3: rank 10, regParam 0.005, alpha 1.0: NDCG@K 0.1000 in 100.0 s (best so far 0.1000); "
        "0 s of the budget left",
        "tuning: the 150 s budget is spent after trial 2 of 3; the rest are skipped"]
    now[0] = 0.0
    best, _, trials = tune(candidates, slow_score, budget_seconds=0, clock=lambda: now[0])
    assert best.rank == 5 and [t["status"] for t in trials].count("scored") == 1


def evaluation(als, popularity):
    return {"status": "evaluated", "als": {"ndcg": als}, "popularity": {"ndcg": popularity}}


@pytest.mark.parametrize("als, popularity, margin, publish", [
    (0.20, 0.10, 0.1, True),     # twice as good
    (0.105, 0.10, 0.1, False),   # better, but not by 10 %
    (0.111, 0.10, 0.1, True),
    (0.10, 0.10, 0.0, False),    # a tie does not beat
    (0.30, 0.10, 2.0, False),    # three times as good is not enough for a 200 % margin
    (0.0, 0.0, 0.0, False),
])
def test_quality_gate_needs_als_to_beat_popularity_by_the_margin(als, popularity, margin, publish):
    status, reason = quality_gate(evaluation(als, popularity), margin)
    assert status == ("published" if publish else "withheld")
    assert reason.startswith("passed" if publish else "withheld")
    assert f"{als:.4f}" in reason and f"{popularity:.4f}" in reason


def test_an_unevaluated_run_is_unjudged_never_passed():
    """The gate fails closed: a run it cannot judge is not 'published' (the publish task lets it
    stand only where no lists exist), whatever the Params that kept it from being judged."""
    status, reason = quality_gate({"status": "skipped: no training events before 2019-10-01"}, 0.1)
    assert status == "unjudged"
    assert reason == "unjudged: skipped: no training events before 2019-10-01; published only if no lists exist yet"
    assert quality_gate({"status": "skipped: eval_days is 0"}, 0.0)[0] == "unjudged"


def points(candidates) -> list[tuple]:
    return [(c.rank, c.reg_param, c.alpha) for c in candidates]


def test_tuning_starts_from_the_last_published_run_and_tries_its_neighbours_one_list_at_a_time():
    settings = Settings(als_ranks=[20, 10, 30, 30], als_reg_params=[0.01, 0.1], als_alphas=[1.0, 10.0])
    last = InUse(replace(settings.als_params(), rank=20, reg_param=0.1, alpha=1.0), date(2019, 10, 1))
    candidates, search, kept = search_space(settings, last, date(2019, 10, 8))
    assert points(candidates) == [(20, 0.1, 1.0), (10, 0.1, 1.0), (30, 0.1, 1.0), (20, 0.01, 1.0), (20, 0.1, 10.0)]
    # Neighbours by value: ranks are listed 20, 10, 30, 30 (the first is the default), not sorted.
    assert search == ("neighbours of the last published run's rank 20, regParam 0.1, alpha 1.0: "
                      "5 of the grid's 12 points")
    assert not kept  # searched 7 days before, retune_days 7
    # The whole grid, in order: on demand, before any published run, or when the grid moved away.
    grid = list(dict.fromkeys(points(settings.als_candidates())))
    assert len(grid) == 12  # 30 is listed twice and tried once
    off_grid = "the last published run's (25, 0.1, 1.0) is off the grid"
    moved = InUse(replace(last.params, rank=25), date(2019, 10, 7))
    for wanted, run, why in [(replace(settings, tuning_search="full_grid"), last, "Param tuning_search"),
                             (settings, None, "no published run before"), (settings, moved, off_grid)]:
        candidates, search, kept = search_space(wanted, run, date(2019, 10, 8))
        assert (points(candidates), search, kept) == (grid, f"full grid ({why})", False)


def test_the_parameters_in_use_are_kept_until_retune_days_after_their_search():
    settings = Settings(als_ranks=[15, 30], als_reg_params=[0.005, 0.05], als_alphas=[1.0, 10.0], retune_days=3)
    last = InUse(replace(settings.als_params(), rank=30), date(2019, 10, 5))
    neighbours = [(30, 0.005, 1.0), (15, 0.005, 1.0), (30, 0.05, 1.0), (30, 0.005, 10.0)]
    for day, kept in [(date(2019, 10, 6), True), (date(2019, 10, 7), True), (date(2019, 10, 8), False)]:
        candidates, search, keep = search_space(settings, last, day)
        assert (points(candidates), keep) == (neighbours, kept), day
    assert search_space(settings, last, date(2019, 10, 7))[1] == (
        "the parameters in use, rank 30, regParam 0.005, alpha 1.0, searched on 2019-10-05 (2 of retune_days 3); "
        "their 3 neighbours only if they fail the quality gate")
    assert not search_space(replace(settings, retune_days=1), last, date(2019, 10, 6))[2]


@pytest.mark.parametrize("first, searched", [(0.3, False), (0.1, True)])
def test_kept_parameters_are_fitted_alone_unless_they_fail_the_gate(first, searched):
    candidates = grid([5, 10, 20]).als_candidates()
    ndcg = {5: first, 10: 0.25, 20: 0.2}
    lines = []
    best, metrics, trials = tune(candidates, lambda c: {"ndcg": ndcg[c.rank]}, budget_seconds=60,
                                 progress=lines.append, enough=lambda m: m["ndcg"] > 0.2)
    if searched:  # the first fails: its neighbours are searched, the best wins
        assert [t["status"] for t in trials] == ["scored"] * 3 and best.rank == 10 and metrics == {"ndcg": 0.25}
    else:
        assert [t["status"] for t in trials] == ["scored", KEPT, KEPT] and best.rank == 5
        assert lines[-1] == "tuning: the parameters in use pass the quality gate; the rest are not tried"


def test_the_last_published_run_is_read_from_the_lake_before_the_run_date_only(spark, tmp_path):
    from recsys import lake
    from recsys.jobs import train_als
    from tests.helpers import evaluated_run

    lake_root = str(tmp_path / "lake")
    settings = Settings(lake_root=lake_root)
    runs = {date(2019, 10, 1): ("published", 30), date(2019, 10, 2): ("withheld", 15),
            date(2019, 10, 3): ("published", 15)}
    for day, (status, rank) in runs.items():
        run = replace(evaluated_run(settings), run_date=day, status=status, als_rank=rank)
        lake.write_report(spark, lake.model_run(lake_root, day), run)
    kept = replace(evaluated_run(settings), run_date=date(2019, 10, 4), als_rank=15,
                   evaluation_json={**evaluated_run(settings).evaluation_json, "searched_on": "2019-10-03"})
    lake.write_report(spark, lake.model_run(lake_root, date(2019, 10, 4)), kept)
    found = {day: train_als.last_published(spark, settings, day) for day in
             (date(2019, 10, 1), date(2019, 10, 3), date(2019, 10, 4), date(2019, 10, 5))}
    assert found[date(2019, 10, 1)] is None  # nothing before the first
    # 2 October was withheld; 3 October is the run itself; a report without searched_on searched that day
    assert found[date(2019, 10, 3)] == InUse(replace(settings.als_params(), rank=30, alpha=10.0), date(2019, 10, 1))
    assert (found[date(2019, 10, 4)].params.rank, found[date(2019, 10, 4)].params.alpha) == (15, 10.0)
    # 4 October kept the parameters 3 October searched
    assert found[date(2019, 10, 5)].searched_on == found[date(2019, 10, 4)].searched_on == date(2019, 10, 3)
    # A published run of the other engine: its regParam meant another model, so the whole grid.
    assert train_als.last_published(spark, replace(settings, als_engine="spark"), date(2019, 10, 4)) is None
    # A report that cannot be read (an older version's, a folder without a file) is skipped.
    (tmp_path / "lake" / "model_runs" / "run_date=2019-10-05").mkdir()
    (tmp_path / "lake" / "model_runs" / "run_date=2019-10-05" / "part-0").write_text("not json\n")
    (tmp_path / "lake" / "model_runs" / "run_date=notadate").mkdir()
    assert train_als.last_published(spark, settings, date(2019, 10, 6)).params.rank == 15


def test_the_search_date_moves_only_when_a_search_ran_to_the_end():
    from recsys.jobs.train_als import searched_on

    today, kept = date(2019, 10, 9), InUse(grid([5]).als_params(), date(2019, 10, 5))
    scored, cut = {"status": "scored"}, {"status": "skipped: time budget spent"}
    assert searched_on([scored, scored, scored], today, None) == "2019-10-09"
    assert searched_on([scored, scored, cut], today, None) is None  # cut short: tomorrow searches again
    assert searched_on([scored, {"status": KEPT}, {"status": KEPT}], today, kept) == "2019-10-05"
    assert searched_on([scored, scored, scored], today, kept) == "2019-10-09"  # they failed the gate: searched
    assert searched_on([scored, scored, cut], today, kept) is None
    assert searched_on([scored], today, None) == "2019-10-09"
    never = InUse(kept.params, None)  # kept parameters never searched to the end: searched today
    assert search_space(grid([5, 10]), never, today)[2] is False
