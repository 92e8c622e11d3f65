"""What the job scripts share: their arguments, and Spark actions run side by side."""

import threading
import time
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


def test_a_failure_is_raised_at_once_and_the_spark_jobs_beside_it_are_cancelled(spark):
    def failing():
        time.sleep(1)  # the other action's job is running by then
        raise ValueError("no such table")

    started = time.monotonic()
    with pytest.raises(ValueError, match="no such table") as failure:
        # Some 7 minutes of work on 2 cores unless cancelled.
        side_by_side(lambda: spark.range(0, 10**12).selectExpr("sum(id % 2)").collect(), failing)
    assert time.monotonic() - started < 60
    assert [note for note in failure.value.__notes__ if "cancel" in note], failure.value.__notes__


def test_a_param_left_out_of_the_json_takes_its_default():
    job = job_arguments("a job", ["--run-date", "2019-10-03", "--params", '{"top_k": 5}'])
    assert job.run_date == date(2019, 10, 3)
    assert job.settings.top_k == 5 and job.settings.window_days == 30
