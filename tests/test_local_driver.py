"""A local driver's speed-ups are the deployment's: the quick JIT by RECSYS_QUICK_JIT_MAX_MB."""

from datetime import date, timedelta

import pytest

from recsys_pipeline.local_driver import QUICK_JIT, days_read, submit_env

RUN_DATE = date(2019, 10, 30)


def lake_with_cleaned_days(tmp_path, *days: date) -> str:
    for day in days:
        (tmp_path / "reports" / "cleaning" / f"ingest_date={day.isoformat()}").mkdir(parents=True)
    return str(tmp_path)


def test_the_window_jobs_read_the_windows_days_the_lake_holds(tmp_path):
    assert days_read("train_als", str(tmp_path / "no lake yet"), RUN_DATE, 30) == 1
    young = lake_with_cleaned_days(tmp_path, RUN_DATE - timedelta(days=40), RUN_DATE - timedelta(days=29),
                                   RUN_DATE - timedelta(days=1), RUN_DATE, RUN_DATE + timedelta(days=1))
    assert days_read("build_interactions", young, RUN_DATE, 30) == 3  # the 40th day back and the next are outside
    assert days_read("train_als", young, RUN_DATE, 7) == 2
    assert days_read("clean_events", young, RUN_DATE, 30) == 1  # a day's job reads its day
    assert days_read("eda_summaries", young, RUN_DATE, 30) == 1


def test_a_small_local_job_gets_the_quick_jit_and_keeps_the_options_it_had(monkeypatch, tmp_path):
    monkeypatch.setenv("SPARK_SUBMIT_OPTS", "-XX:SharedArchiveFile=a.jsa")
    monkeypatch.delenv("RECSYS_QUICK_JIT_MAX_MB", raising=False)  # the default: 100 MB
    young = lake_with_cleaned_days(tmp_path / "young", RUN_DATE - timedelta(days=2), RUN_DATE - timedelta(days=1),
                                   RUN_DATE)
    full = lake_with_cleaned_days(tmp_path / "full", *(RUN_DATE - timedelta(days=n) for n in range(30)))

    def env(job, megabytes, lake=young, master="local[*]"):
        return submit_env(job, megabytes, master, lake, RUN_DATE, 30)

    assert env("clean_events", 8.5) == {"SPARK_SUBMIT_OPTS": f"-XX:SharedArchiveFile=a.jsa {QUICK_JIT}"}
    assert env("clean_events", 100) and env("clean_events", 100.1) == {}  # a day above 100 MB: both compilers
    assert env("train_als", 33.3) and env("train_als", 33.4) == {}  # 3 days of the window so far
    assert env("build_interactions", 3.3, full) and env("build_interactions", 3.4, full) == {}  # 30 days
    assert env("eda_summaries", 43.1, full)  # a 10m day: one day's events, whatever the lake holds
    assert env("clean_events", 8.5, master="spark://master") == {}  # a cluster's driver: as it is
    assert env("clean_events", 8.5, master="local")
    assert env("clean_events", 8.5, master="local[4,2]")
    assert env("clean_events", 8.5, master="local-cluster[2,1,1024]") == {}
    assert env("clean_events", 8.5, master="localhost") == {}  # the hook makes it spark://localhost
    assert env("clean_events", None) == {}  # size unknown
    monkeypatch.delenv("SPARK_SUBMIT_OPTS")
    assert env("clean_events", 8.5) == {"SPARK_SUBMIT_OPTS": QUICK_JIT}


def test_the_limit_is_a_deployment_setting(monkeypatch, tmp_path):
    monkeypatch.delenv("SPARK_SUBMIT_OPTS", raising=False)
    monkeypatch.setenv("RECSYS_QUICK_JIT_MAX_MB", "0")
    lake = lake_with_cleaned_days(tmp_path, *(RUN_DATE - timedelta(days=n) for n in range(30)))
    assert submit_env("clean_events", 0.1, "local[*]", lake, RUN_DATE, 30) == {}  # 0: never
    monkeypatch.setenv("RECSYS_QUICK_JIT_MAX_MB", "5000")
    assert submit_env("build_interactions", 43.1, "local[*]", lake, RUN_DATE, 30) == {"SPARK_SUBMIT_OPTS": QUICK_JIT}
    monkeypatch.setenv("RECSYS_QUICK_JIT_MAX_MB", "lots")
    with pytest.raises(ValueError, match="RECSYS_QUICK_JIT_MAX_MB='lots' is not a number of megabytes"):
        submit_env("clean_events", 0.1, "local[*]", lake, RUN_DATE, 30)
