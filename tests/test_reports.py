"""The reports Spark jobs hand to the load tasks: typed, round-tripped, built from known inputs."""

import json
from dataclasses import replace
from datetime import date

import pytest

from recsys.params import Settings
from recsys.reports import CleaningReport, ModelRunReport, ReportError, model_run_report
from tests.helpers import SIZES, cleaning_report, evaluated_run

D1 = date(2019, 10, 1)


def test_each_report_round_trips_through_its_json():
    report = cleaning_report()
    assert CleaningReport.from_json(report.to_json()) == report
    run = evaluated_run(Settings())
    again = ModelRunReport.from_json(run.to_json())
    assert again == replace(run, evaluation_json={**run.evaluation_json, "split_date": "2019-10-01"})
    assert again.row() == run.row()  # what reaches MySQL is the same either way


def test_a_document_that_drifted_from_the_definition_is_refused():
    document = json.loads(cleaning_report().to_json())
    with pytest.raises(ReportError, match=r"\['quarantine_reasons'\] are not defined, \['quarantine_reasons_json'\]"):
        CleaningReport.from_json(json.dumps({**{k: v for k, v in document.items() if k != "quarantine_reasons_json"},
                                             "quarantine_reasons": {}}))


def test_the_model_run_report_takes_the_chosen_model_metrics_and_untimed_trials():
    settings = Settings(eval_days=1, top_k=5, quality_margin=0.2)
    run = evaluated_run(settings)
    assert (run.als_rank, run.als_reg_param, run.als_alpha, run.als_max_iter) == (15, 0.005, 10.0, 10)
    assert (run.top_k, run.eval_days, run.window_days, run.quality_margin) == (5, 1, 30, 0.2)
    assert (run.tuning_trials, run.tuning_seconds, run.eval_users) == (2, 7.5, 4)
    assert (run.als_ndcg_at_k, run.popularity_ndcg_at_k, run.als_coverage) == (0.2, 0.1, 0.03)
    assert run.category_popularity_ndcg_at_k is None  # a baseline that was not measured stays NULL
    assert all("seconds" not in t for t in run.evaluation_json["tuning"])
    # The Params with the date the run was for, however it was asked for (a rerun records the same).
    assert run.params_json == {**settings.as_params(), "run_date": run.run_date.isoformat()}
    assert settings.run_date is None and run.params_json["als_ranks"] == [15, 30]
    assert run.status == "published" and run.interaction_pairs == 30


def test_an_unevaluated_run_reports_the_untuned_model():
    run = model_run_report(D1, Settings(eval_days=0), {"status": "skipped: eval_days is 0"}, "unjudged",
                           "unjudged: skipped: eval_days is 0", SIZES, seconds=1.0)
    assert (run.als_rank, run.als_alpha, run.tuning_trials, run.eval_users, run.als_ndcg_at_k) == (
        15, 1.0, 0, None, None)
    assert run.evaluation_json == {"status": "skipped: eval_days is 0"}


def test_long_verdicts_are_cut_to_their_columns():
    run = model_run_report(D1, Settings(), {"status": "x" * 300}, "withheld", "withheld: " + "y" * 600, SIZES, 1.0)
    assert len(run.evaluation_status) == 255 and len(run.quality_gate) == 512 and run.status == "withheld"


def test_the_largest_grid_allowed_keeps_the_model_run_within_its_text_columns():
    """Every trial is kept in evaluation_json (a TEXT column: 65,535 bytes); the grid's bound
    keeps it there, long statuses and all."""
    settings = Settings(als_ranks=tuple(range(491, 501)), als_reg_params=(98.123456789,),
                        als_alphas=tuple(990.123456789 + i for i in range(10)))
    trials = [{"rank": c.rank, "reg_param": c.reg_param, "alpha": c.alpha, "status": "skipped: time budget spent",
               "ndcg": 0.123456789012345} for c in settings.als_candidates()]
    evaluation = {"status": "evaluated", "tuning": trials, "chosen": settings.als_params().as_dict(),
                  "split_date": D1, "test_users": 10**9}
    row = model_run_report(D1, settings, evaluation, "withheld", "withheld", SIZES, 1.0).row()
    assert len(trials) == 100
    assert len(row["evaluation_json"].encode()) < 65_535 and len(row["params_json"].encode()) < 65_535
