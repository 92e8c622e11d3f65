"""The run's settings as every task reads them: the DAG's Params, validated (``recsys.params``),
with the storage roots a run may name held to the deployment's prefixes.

``raw_root`` and ``lake_root`` stay Params (a store's team points a run at another store's folder
of the same deployment), but whoever may trigger a run must not choose where the jobs read, write
and delete beyond what the deployment allows: ``RECSYS_ALLOWED_ROOTS``, comma-separated folders or
URIs, by default the deployment's own ``RECSYS_RAW_ROOT`` and ``RECSYS_LAKE_ROOT``. A root is
allowed when it is one of them or lies below one.
"""

import os
import re
from collections.abc import Mapping

from recsys.param_types import SettingsError
from recsys.params import Settings

ROOT_PARAMS = ("raw_root", "lake_root")


def allowed_roots() -> list[str]:
    listed = [root.strip() for root in os.environ.get("RECSYS_ALLOWED_ROOTS", "").split(",") if root.strip()]
    defaults = Settings()
    return [_normal(root) for root in listed or [getattr(defaults, name) for name in ROOT_PARAMS]]


def _normal(root: str) -> str:
    return (root if "://" in root else os.path.abspath(root)).rstrip("/")


# Refused in a root outright: ".." (a prefix test on the text must not be walked out of), and a
# URI's query, fragment, user part or blanks (options such as an S3 endpoint ride in a query).
REFUSED_IN_ROOT = re.compile(r"(^|/)\.\.(/|$)|[?#@\s]")


def root_problems(settings: Settings, allowed: list[str]) -> list[str]:
    problems = []
    for name in ROOT_PARAMS:
        value = getattr(settings, name)
        inside = not REFUSED_IN_ROOT.search(value) and any(
            _normal(value) == prefix or _normal(value).startswith(f"{prefix}/") for prefix in allowed)
        if not inside:  # the value is not repeated: the message reaches the task's log
            problems.append(f"{name} is not one of, or below, the deployment's allowed roots {allowed} "
                            "(RECSYS_ALLOWED_ROOTS), or holds '..', '?', '#', '@' or a blank")
    return problems


def run_settings(params: Mapping) -> Settings:
    """The run's Settings; raises SettingsError, naming the Param, for a root outside the allowed."""
    settings = Settings.from_params(params)
    problems = root_problems(settings, allowed_roots())
    if problems:
        raise SettingsError("invalid Params: " + "; ".join(problems))
    return settings
