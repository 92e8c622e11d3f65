"""What the job scripts share: their arguments, and Spark actions run side by side."""

import threading
from datetime import date

import pytest

from recsys.jobs import job_arguments, side_by_side

pytestmark = pytest.mark.unit


def test_side_by_side_runs_the_actions_at_once_and_returns_their_results_in_order():
    both_started = threading.Barrier(2, timeout=10)  # broken (an error) unless both run at once

    def action(result):
        both_started.wait()
        return result

    assert side_by_side(lambda: action("first"), lambda: action("second")) == ["first", "second"]


def test_side_by_side_raises_an_actions_failure():
    def failing():
        raise ValueError("no such table")

    with pytest.raises(ValueError, match="no such table"):
        side_by_side(lambda: 1, failing)


def test_a_param_left_out_of_the_json_takes_its_default():
    job = job_arguments("a job", ["--run-date", "2019-10-03", "--params", '{"top_k": 5}'])
    assert job.run_date == date(2019, 10, 3)
    assert job.settings.top_k == 5 and job.settings.window_days == 30
