"""A local driver's speed-ups are the deployment's: the quick JIT by RECSYS_QUICK_JIT_MAX_MB."""

import pytest

from recsys_pipeline.local_driver import QUICK_JIT, submit_env


def test_a_small_local_job_gets_the_quick_jit_and_keeps_the_options_it_had(monkeypatch):
    monkeypatch.setenv("SPARK_SUBMIT_OPTS", "-XX:SharedArchiveFile=a.jsa")
    monkeypatch.delenv("RECSYS_QUICK_JIT_MAX_MB", raising=False)  # the default: 500 MB
    window = 30
    assert submit_env("clean_events", 8.5, window, "local[*]") == {
        "SPARK_SUBMIT_OPTS": f"-XX:SharedArchiveFile=a.jsa {QUICK_JIT}"}
    assert submit_env("train_als", 16.6, window, "local[2]")  # 30 x 16.6 = 498 MB
    assert submit_env("train_als", 16.7, window, "local[2]") == {}  # 501 MB of window
    assert submit_env("eda_summaries", 43.1, window, "local[*]")  # a 10m day: one day's events
    assert submit_env("build_interactions", 43.1, window, "local[*]") == {}  # its window: 1.3 GB
    assert submit_env("clean_events", 8.5, window, "spark://master") == {}  # a cluster's driver: as it is
    assert submit_env("clean_events", 8.5, window, "local")
    assert submit_env("clean_events", 8.5, window, "local[4,2]")
    assert submit_env("clean_events", 8.5, window, "local-cluster[2,1,1024]") == {}
    assert submit_env("clean_events", 8.5, window, "localhost") == {}  # the hook makes it spark://localhost
    assert submit_env("clean_events", None, window, "local[*]") == {}  # size unknown
    monkeypatch.delenv("SPARK_SUBMIT_OPTS")
    assert submit_env("clean_events", 8.5, window, "local[*]") == {"SPARK_SUBMIT_OPTS": QUICK_JIT}


def test_the_limit_is_a_deployment_setting(monkeypatch):
    monkeypatch.delenv("SPARK_SUBMIT_OPTS", raising=False)
    monkeypatch.setenv("RECSYS_QUICK_JIT_MAX_MB", "0")
    assert submit_env("clean_events", 0.1, 30, "local[*]") == {}  # 0: never
    monkeypatch.setenv("RECSYS_QUICK_JIT_MAX_MB", "5000")
    assert submit_env("build_interactions", 43.1, 30, "local[*]") == {"SPARK_SUBMIT_OPTS": QUICK_JIT}
    monkeypatch.setenv("RECSYS_QUICK_JIT_MAX_MB", "lots")
    with pytest.raises(ValueError, match="RECSYS_QUICK_JIT_MAX_MB='lots' is not a number of megabytes"):
        submit_env("clean_events", 0.1, 30, "local[*]")
