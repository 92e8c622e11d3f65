"""Whoever may trigger a run chooses its storage roots only within the deployment's prefixes, and
never with credentials in them."""

import pytest

from recsys.param_types import SettingsError
from recsys.params import Settings
from recsys_pipeline.run_settings import run_settings


@pytest.fixture
def allowed(monkeypatch, tmp_path):
    monkeypatch.setenv("RECSYS_ALLOWED_ROOTS", f"{tmp_path}/stores, s3a://shop-lake/recsys")
    return tmp_path


@pytest.mark.parametrize("raw_root, lake_root", [
    ("{tmp}/stores", "{tmp}/stores/lake"),
    ("{tmp}/stores/shop-2/raw/", "s3a://shop-lake/recsys/lake"),
    ("s3a://shop-lake/recsys", "{tmp}/stores/./lake"),
])
def test_roots_at_or_below_an_allowed_one_are_accepted(allowed, raw_root, lake_root):
    settings = run_settings({"raw_root": raw_root.format(tmp=allowed), "lake_root": lake_root.format(tmp=allowed)})
    assert settings.raw_root == raw_root.format(tmp=allowed)


@pytest.mark.parametrize("lake_root", [
    "/etc",
    "{tmp}/stores-other",  # a prefix of the text, not of the folder
    "{tmp}/stores/../elsewhere",
    "s3a://shop-lake/recsys-other",
    "s3a://shop-lake/recsys/../../other-bucket",
    "relative/lake",
    "s3a://shop-lake/recsys/lake?endpoint_override=elsewhere.example",
    "{tmp}/stores/lake#x",
    " {tmp}/stores/lake",
])
def test_roots_outside_the_allowed_ones_are_refused_naming_the_param(allowed, lake_root):
    with pytest.raises(SettingsError, match=r"lake_root is not one of, or below, the deployment's allowed roots") \
            as refused:
        run_settings({"raw_root": f"{allowed}/stores", "lake_root": lake_root.format(tmp=allowed)})
    assert lake_root.format(tmp=allowed) not in str(refused.value)


def test_without_the_setting_only_the_deployments_own_roots_are_allowed(monkeypatch, tmp_path):
    monkeypatch.delenv("RECSYS_ALLOWED_ROOTS")
    monkeypatch.setenv("RECSYS_RAW_ROOT", str(tmp_path / "raw"))
    monkeypatch.setenv("RECSYS_LAKE_ROOT", str(tmp_path / "lake"))
    assert run_settings({}).lake_root == str(tmp_path / "lake")
    assert run_settings({"lake_root": str(tmp_path / "lake" / "shop-2")}).lake_root.endswith("shop-2")
    with pytest.raises(SettingsError, match="raw_root"):
        run_settings({"raw_root": str(tmp_path / "lake2")})


@pytest.mark.parametrize("root", ["s3a://AKIAEXAMPLE:s3cr3t-value@shop-lake/recsys", "hdfs://etl@namenode:8020/raw"])
def test_a_root_with_credentials_is_refused_without_repeating_them(root):
    with pytest.raises(SettingsError, match="raw_root carries credentials in its URI") as refused:
        Settings(raw_root=root)
    assert "s3cr3t" not in str(refused.value) and "etl@" not in str(refused.value)
