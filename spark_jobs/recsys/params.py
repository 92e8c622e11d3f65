"""The run's settings: every knob of the pipeline, typed and validated, declared once.

Each field of ``Settings`` is one of the DAG's Params, under the same name, with its trigger-form
title, section, description and bounds beside it. The DAG builds its Params from
``param_schemas()``; every Spark task receives the run's Params as one JSON document and reads it
back with ``Settings.from_json``. So a new knob is one field here, the code that uses it, and a
row in the README's Params table (a test checks all three).

Plain Python on purpose: the DAG imports this module when it is parsed (where pyspark must not be
imported), and the Spark drivers import it from the shipped package (where Airflow is absent).
"""

import json
import os
import re
import typing
import zoneinfo
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from pathlib import Path

INPUT, SCORING, MODEL, GATE, RESOURCES, TABLEAU = (
    "Input", "Scoring", "Model and tuning", "Quality gate", "Resources", "Tableau")
SECTIONS = (INPUT, SCORING, MODEL, GATE, RESOURCES, TABLEAU)
# Grid points tried at most in one run (each list may hold 10 values, but not all three at once).
MAX_GRID_POINTS = 100
# A memory size that may be left empty: null, as the trigger form sends an empty field, or "", as
# earlier runs' confs held it (a cleared task of such a run must still validate).
OPTIONAL_MEMORY = "^([0-9]+[kmgt])?$"


class SettingsError(ValueError):
    """The run's Params are unknown, of the wrong type, out of bounds or contradict each other."""


def _param(default, section: str, title: str, description: str, **schema):
    """A field that is also a Param: ``schema`` holds its JSON-schema bounds (the type comes from
    the field's annotation)."""
    meta = {"section": section, "title": title, "description": description, "schema": schema}
    if isinstance(default, DeploymentDefault):
        return field(default_factory=default, metadata={**meta, "environment": default.variable})
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class DeploymentDefault:
    """A default from the deployment's environment (read when the DAG is parsed), else the
    checkout's .local folder (a source checkout without scripts/env.sh)."""

    variable: str
    folder: str

    def __call__(self) -> str:
        return os.environ.get(self.variable) or str(Path(__file__).resolve().parents[2] / ".local" / self.folder)


@dataclass(frozen=True)
class AlsParams:
    """One ALS fit's hyperparameters: a point of the tuning grid."""

    rank: int
    reg_param: float
    alpha: float
    max_iter: int
    blocks: int
    seed: int = 42
    # Cholesky, not the original notebook's non-negative least squares: measured both faster and
    # better by NDCG@10 on generated data (benchmarks/bench_als.py).
    nonnegative: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Settings:
    run_date: str | None = _param(
        None, INPUT, "Run date",
        "Date to process (YYYY-MM-DD); empty: the day the run's data interval starts.",
        format="date")
    raw_root: str = _param(
        DeploymentDefault("RECSYS_RAW_ROOT", "raw"), INPUT, "Raw export root",
        "Folder or URI of the raw export, one sub-folder per day (default: $RECSYS_RAW_ROOT).", minLength=1)
    lake_root: str = _param(
        DeploymentDefault("RECSYS_LAKE_ROOT", "lake"), INPUT, "Data lake root",
        "Folder or URI of the Parquet data lake (default: $RECSYS_LAKE_ROOT).", minLength=1)
    allow_future_run_date: bool = _param(
        False, INPUT, "Allow a future run date",
        "Accept a run_date after the run's data interval. Refused by default: that run's lists would "
        "become current and every later run's would be kept out as older.")
    input_wait_minutes: float = _param(
        360.0, INPUT, "Wait for late input (minutes)",
        "How long check_raw_input waits for the day's complete files before it fails.", minimum=0, maximum=2880)
    input_settle_seconds: float = _param(
        60.0, INPUT, "Unchanged for (seconds)",
        "Without a _SUCCESS marker in the day's folder, a file must be this long unchanged before it is "
        "read (a file still being written never is).", minimum=0, maximum=3600)
    event_time_window_days: int = _param(
        1, INPUT, "Event dates around the file's (days)",
        "Rows dated more than this many days before or after their file's date are quarantined as "
        "event_time_out_of_range (a clock or export fault, not a late row).", minimum=0, maximum=366)
    store_time_zone: str = _param(
        "UTC", INPUT, "Store time zone",
        "IANA time zone of the store (e.g. Asia/Kolkata): the summaries' hour of day and day of week are "
        "its wall clock; dates stay UTC.", minLength=1, maxLength=64)
    max_quarantine_share: float = _param(
        0.05, INPUT, "Quarantine limit",
        "Fail cleaning when a larger share of the day's rows is quarantined.", minimum=0, maximum=1)
    window_days: int = _param(
        30, SCORING, "Window (days)",
        "Days of history, ending at the run date, in the interaction matrix.", minimum=1, maximum=366)
    half_life_days: float = _param(
        20.0, SCORING, "Half-life (days)",
        "Recency decay: an event this many days old counts half.", exclusiveMinimum=0, maximum=3650)
    weight_view: float = _param(0.1, SCORING, "Weight of a view", "Weight of a view.", minimum=0, maximum=100)
    weight_cart: float = _param(0.3, SCORING, "Weight of a cart", "Weight of a cart event.", minimum=0, maximum=100)
    weight_purchase: float = _param(
        1.0, SCORING, "Weight of a purchase", "Weight of a purchase.", minimum=0, maximum=100)
    score_cap: float = _param(
        2.0, SCORING, "Score cap", "Cap on log10(1 + weighted count).", exclusiveMinimum=0, maximum=100)
    min_user_products: int = _param(
        2, MODEL, "Products per ALS user",
        "Users with fewer products get the popularity fallback.", minimum=1, maximum=1000)
    min_product_users: int = _param(
        2, MODEL, "Users per ALS product",
        "Products with fewer users are left out of ALS training.", minimum=1, maximum=1000)
    top_k: int = _param(10, MODEL, "Recommendations per user", "Length of each user's list (K).",
                        minimum=1, maximum=500)
    exclude_purchased: bool = _param(
        True, MODEL, "Exclude purchased", "Never recommend what the user bought in the window.")
    als_ranks: tuple[int, ...] = _param(
        (15, 30), MODEL, "ALS ranks to try",
        "Latent factors to try; the first is used when nothing can be tuned.",
        minItems=1, maxItems=10, items={"minimum": 1, "maximum": 500})
    als_reg_params: tuple[float, ...] = _param(
        (0.005, 0.05), MODEL, "ALS regularisations to try",
        "Regularisation values to try (the first: the untuned default).",
        minItems=1, maxItems=10, items={"minimum": 0, "maximum": 100})
    als_alphas: tuple[float, ...] = _param(
        (1.0, 10.0), MODEL, "ALS alphas to try",
        "Implicit-feedback confidence scales to try (the first: the untuned default).",
        minItems=1, maxItems=10, items={"minimum": 0, "maximum": 1000})
    als_max_iter: int = _param(10, MODEL, "ALS iterations", "ALS iterations per fit.", minimum=1, maximum=100)
    als_engine: str = _param(
        "auto", MODEL, "ALS engine",
        "Who fits ALS: spark (MLlib, on the executors), implicit (the implicit library on the Spark driver, "
        "several times faster while the matrix fits there) or auto (implicit while the matrix has at most 20 million "
        "non-zeros, which fit the driver; Spark above).", enum=["auto", "spark", "implicit"])
    tuning_search: str = _param(
        "neighbours", MODEL, "Tuning search",
        "neighbours: the last published run's parameters and the grid points one step from them (one list "
        "at a time), a few fits a day; full_grid: every grid point in order (the first run, or on demand).",
        enum=["neighbours", "full_grid"])
    tuning_budget_minutes: float = _param(
        30.0, MODEL, "Tuning budget (minutes)",
        "Stop trying grid points after this long (the first is always tried).", minimum=0, maximum=1440)
    eval_days: int = _param(
        7, GATE, "Held-out days",
        "Last days of the window held out to tune and judge ALS (fewer than window_days); 0 skips both.",
        minimum=0, maximum=365)
    quality_margin: float = _param(
        0.1, GATE, "Quality margin",
        "Publish only if ALS NDCG@K > popularity NDCG@K x (1 + margin).", minimum=0, maximum=1000)
    max_list_age_days: int = _param(
        3, GATE, "Oldest current lists (days)",
        "Fail the run when the lists served now are more days older than the run date than this "
        "(runs withheld by the quality gate keep older lists current).", minimum=0, maximum=365)
    als_blocks: int = _param(
        2, RESOURCES, "ALS blocks",
        "ALS user/item blocks. 2 keeps reruns bit-identical; more spread training over a big cluster "
        "but scores may differ in the last bits.", minimum=1, maximum=1000)
    spark_driver_memory: str = _param(
        "2g", RESOURCES, "Spark driver memory", "Memory of each Spark job's driver (e.g. 2g, 512m).",
        pattern="^[0-9]+[kmgt]$")
    als_driver_memory: str | None = _param(
        None, RESOURCES, "train_als driver memory",
        "Driver memory of train_als alone, which holds up to 256 MB of item factors at a time for top-K "
        "(a larger catalogue is scored in chunks; empty: spark_driver_memory).", pattern=OPTIONAL_MEMORY)
    spark_executor_memory: str | None = _param(
        None, RESOURCES, "Executor memory",
        "Memory of each executor on a cluster (empty: the cluster's default; local mode has none).",
        pattern=OPTIONAL_MEMORY)
    spark_executor_cores: int = _param(
        0, RESOURCES, "Cores per executor",
        "Cores of each executor on a cluster (0: the cluster's default).", minimum=0, maximum=64)
    spark_shuffle_partitions: int = _param(
        0, RESOURCES, "Shuffle partitions",
        "Partitions of every shuffle (0: 4 x the cores Spark grants the job).", minimum=0, maximum=100000)
    quick_jit_max_mb: int = _param(
        500, RESOURCES, "Quick JIT up to (MB)",
        "A local[*] job whose input is at most this many MB of raw events (the day's files; the window's "
        "jobs count them window_days times) runs its JVM with the JIT's quick compiler alone: less time "
        "compiling, slower code (0: never).", minimum=0, maximum=1000000)
    tableau_datasources: tuple[str, ...] | None = _param(
        (), TABLEAU, "Data sources to refresh",
        "Names of published Tableau data sources whose extracts are refreshed once the checks pass "
        "(needs the recsys_tableau_server connection; empty: none).",
        minItems=0, maxItems=50, items={"minLength": 1, "maxLength": 255})
    tableau_workbooks: tuple[str, ...] | None = _param(
        (), TABLEAU, "Workbooks to refresh",
        "Names of Tableau workbooks whose embedded extracts are refreshed once the checks pass (empty: none).",
        minItems=0, maxItems=50, items={"minLength": 1, "maxLength": 255})
    tableau_timeout_minutes: float = _param(
        60.0, TABLEAU, "Refresh timeout (minutes)",
        "How long each refresh job may stay pending on Tableau before its task fails.", minimum=1, maximum=1440)
    tableau_hyper_extract: bool = _param(
        False, TABLEAU, "Write a .hyper extract",
        "Once the checks pass, write every chart_, sheet_ and report_ view into "
        "<lake_root>/tableau/recsys_views.hyper for Tableau Desktop (Desktop 2022.4.1 or later).")

    def __post_init__(self):
        problems = []
        for f in fields(self):  # typed once here, whoever builds the settings (JSON gives lists)
            try:
                object.__setattr__(self, f.name, _typed(f, getattr(self, f.name)))
            except SettingsError as exc:
                problems.append(str(exc))
        if not problems:
            problems = [p for f in fields(self) for p in _schema_problems(f.name, getattr(self, f.name), _schema(f))]
            problems += self._contradictions()
        if problems:
            raise SettingsError("invalid Params: " + "; ".join(problems))

    def _contradictions(self) -> list[str]:
        found = []
        if self.eval_days >= self.window_days:
            found.append(f"eval_days ({self.eval_days}) must be less than window_days ({self.window_days}): "
                         "ALS needs days to train on before the held-out ones")
        grid = len(self.als_ranks) * len(self.als_reg_params) * len(self.als_alphas)
        if grid > MAX_GRID_POINTS:
            found.append(f"the tuning grid als_ranks x als_reg_params x als_alphas has {grid} points, more than "
                         f"{MAX_GRID_POINTS}: every trial is kept in model_runs.evaluation_json, kept bounded")
        if not _is_time_zone(self.store_time_zone):
            found.append(f"store_time_zone {self.store_time_zone!r} is not an IANA time zone (e.g. Asia/Kolkata)")
        if self.weight_view + self.weight_cart + self.weight_purchase <= 0:
            found.append("weight_view, weight_cart and weight_purchase are all 0: every score would be 0")
        if self.run_date is not None:
            try:
                date.fromisoformat(self.run_date)
            except ValueError:
                found.append(f"run_date {self.run_date!r} is not a YYYY-MM-DD date")
        return found

    @classmethod
    def from_params(cls, params: Mapping) -> "Settings":
        """Settings from the run's Params (a Param left out takes its default); unknown names and
        wrong types are refused, naming the Param."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise SettingsError(f"unknown Params {unknown}; known: {sorted(known)}")
        return cls(**params)

    @classmethod
    def from_json(cls, text: str) -> "Settings":
        try:
            params = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"the Params are not a JSON document: {exc}") from exc
        if not isinstance(params, dict):
            raise SettingsError(f"the Params must be a JSON object, got {type(params).__name__}")
        return cls.from_params(params)

    def as_params(self) -> dict:
        """The settings as the DAG's Params (JSON types: lists, not tuples)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def to_json(self) -> str:
        return json.dumps(self.as_params(), sort_keys=True)

    @property
    def tuning_budget_seconds(self) -> float:
        return self.tuning_budget_minutes * 60.0

    def als_params(self) -> AlsParams:
        """The untuned model: the first value of each grid list."""
        return AlsParams(self.als_ranks[0], self.als_reg_params[0], self.als_alphas[0], self.als_max_iter,
                         self.als_blocks)

    def als_candidates(self) -> list[AlsParams]:
        """The tuning grid, walked with the first values first, so a tight budget tries the defaults."""
        return [AlsParams(rank, reg_param, alpha, self.als_max_iter, self.als_blocks)
                for rank in self.als_ranks for reg_param in self.als_reg_params for alpha in self.als_alphas]


def _is_time_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return False
    return True


_JSON_TYPES = {int: "integer", float: "number", bool: "boolean", str: "string"}


def _unwrapped(annotation) -> tuple[typing.Any, bool]:
    """The field's own type, and whether it may be null (``X | None``: the Param may be left empty)."""
    args = typing.get_args(annotation)
    if type(None) in args:
        return next(a for a in args if a is not type(None)), True
    return annotation, False


def _json_type(annotation) -> str | list[str]:
    base, nullable = _unwrapped(annotation)
    name = "array" if typing.get_origin(base) is tuple else _JSON_TYPES[base]
    # "null" first: the trigger form shows a field typed so as optional (no "required" mark).
    return ["null", name] if nullable else name


def _schema(f) -> dict:
    """The field's full JSON schema (type from the annotation, bounds from its declaration)."""
    base, _ = _unwrapped(f.type)
    schema = {"type": _json_type(f.type), **f.metadata["schema"]}
    if typing.get_origin(base) is tuple:
        item_type = _JSON_TYPES[typing.get_args(base)[0]]
        schema["items"] = {"type": item_type, **schema.get("items", {})}
    return schema


# The JSON Schema draft the Params declare. Airflow validates every Param, meta-schema first, each
# time it serialises a task (40 tasks x 40 Params per DAG parse) and when a task starts: draft 7's
# meta-schema checks in a quarter of the time of the default draft 2020-12's (the DAG's
# serialisation 2.2 s to 1.7 s), and it has every keyword used here.
JSON_SCHEMA_DRAFT = "http://json-schema.org/draft-07/schema#"


def param_schemas() -> dict[str, dict]:
    """Every Param's default, title, section, description and JSON schema, in form order: what
    ``airflow.sdk.Param(**spec)`` takes."""
    defaults = Settings().as_params()
    return {
        f.name: {"default": defaults[f.name], "title": f.metadata["title"], "section": f.metadata["section"],
                 "description": f.metadata["description"], "$schema": JSON_SCHEMA_DRAFT, **_schema(f)}
        for f in fields(Settings)
    }


def _typed(f, value):
    """``value`` as the field's type (an int is a fine float, a bool is no number), or
    SettingsError naming the Param. Null, where the Param may be left empty, is "not set": None,
    or no values for a list."""
    base, nullable = _unwrapped(f.type)
    is_list = typing.get_origin(base) is tuple
    if value is None and nullable:
        return () if is_list else None
    if is_list:
        if not isinstance(value, list | tuple):
            raise SettingsError(f"{f.name} must be a list, got {value!r}")
        item = typing.get_args(base)[0]
        return tuple(_scalar(f"{f.name}[{i}]", item, v) for i, v in enumerate(value))
    return _scalar(f.name, base, value)


def _scalar(name: str, kind: type, value):
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    raise SettingsError(f"{name} must be {_JSON_TYPES[kind]}, got {value!r}")


def _schema_problems(name: str, value, schema: dict) -> list[str]:
    """The JSON-schema bounds this module uses, checked without jsonschema (absent on clusters)."""
    if value is None:
        return []
    if isinstance(value, tuple):
        problems = []
        if len(value) < schema.get("minItems", 0):
            problems.append(f"{name} needs at least {schema['minItems']} value(s), got none")
        if len(value) > schema.get("maxItems", len(value)):
            problems.append(f"{name} takes at most {schema['maxItems']} values, got {len(value)}")
        for i, item in enumerate(value):
            problems += _schema_problems(f"{name}[{i}]", item, schema.get("items", {}))
        return problems
    checks = {
        "minimum": (lambda v, b: v >= b, "at least"),
        "maximum": (lambda v, b: v <= b, "at most"),
        "exclusiveMinimum": (lambda v, b: v > b, "more than"),
        "exclusiveMaximum": (lambda v, b: v < b, "less than"),
    }
    problems = [f"{name} must be {words} {schema[key]}, got {value}"
                for key, (holds, words) in checks.items() if key in schema and not holds(value, schema[key])]
    if "minLength" in schema and len(value) < schema["minLength"]:
        problems.append(f"{name} must not be empty")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        problems.append(f"{name} is longer than {schema['maxLength']} characters")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        problems.append(f"{name} {value!r} does not match {schema['pattern']}")
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{name} must be one of {', '.join(schema['enum'])}, got {value!r}")
    return problems
