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
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date

from recsys.param_types import (
    DeploymentDefault,
    SettingsError,
    carries_uri_credentials,
    field_schema,
    is_time_zone,
    param_field,
    schema_problems,
    typed,
)

INPUT, SCORING, MODEL, GATE, RESOURCES, TABLEAU = (
    "Input", "Scoring", "Model and tuning", "Quality gate", "Resources", "Tableau")
SECTIONS = (INPUT, SCORING, MODEL, GATE, RESOURCES, TABLEAU)
# Grid points tried at most in one run (each list may hold 10 values, but not all three at once).
MAX_GRID_POINTS = 100
# Params of earlier versions, and where their knob went: earlier runs' confs may still hold them.
RETIRED = {"quick_jit_max_mb": "the deployment setting RECSYS_QUICK_JIT_MAX_MB"}
# A memory size that may be left empty: null, as the trigger form sends an empty field, or "", as
# earlier runs' confs held it (a cleared task of such a run must still validate).
OPTIONAL_MEMORY = "^([0-9]+[kmgt])?$"


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
    run_date: str | None = param_field(
        None, INPUT, "Run date",
        "Date to process (YYYY-MM-DD); empty: the day the run's data interval starts.",
        format="date")
    raw_root: str = param_field(
        DeploymentDefault("RECSYS_RAW_ROOT", "raw"), INPUT, "Raw export root",
        "Folder or URI of the raw export, one sub-folder per day (default: $RECSYS_RAW_ROOT).", minLength=1)
    lake_root: str = param_field(
        DeploymentDefault("RECSYS_LAKE_ROOT", "lake"), INPUT, "Data lake root",
        "Folder or URI of the Parquet data lake (default: $RECSYS_LAKE_ROOT).", minLength=1)
    allow_future_run_date: bool = param_field(
        False, INPUT, "Allow a future run date",
        "Accept a run_date after the run's data interval. Refused by default: that run's lists would "
        "become current and every later run's would be kept out as older.")
    allow_window_gaps: bool = param_field(
        False, INPUT, "Allow gaps in the window",
        "Train although days of the window were never cleaned into the lake (from its first day on); "
        "they are named in the log and in model_runs.evaluation_json. Refused by default.")
    input_wait_minutes: float = param_field(
        360.0, INPUT, "Wait for late input (minutes)",
        "How long check_raw_input waits for the day's complete files before it fails.", minimum=0, maximum=2880)
    input_settle_seconds: float = param_field(
        60.0, INPUT, "Unchanged for (seconds)",
        "Without a _SUCCESS marker in the day's folder, a file must be this long unchanged before it is "
        "read (a file still being written never is).", minimum=0, maximum=3600)
    event_time_window_days: int = param_field(
        1, INPUT, "Event dates around the file's (days)",
        "Rows dated more than this many days before or after their file's date are quarantined as "
        "event_time_out_of_range (a clock or export fault, not a late row).", minimum=0, maximum=366)
    store_time_zone: str = param_field(
        "UTC", INPUT, "Store time zone",
        "IANA time zone of the store (e.g. Asia/Kolkata): the summaries' hour of day and day of week are "
        "its wall clock; dates stay UTC.", minLength=1, maxLength=64)
    max_quarantine_share: float = param_field(
        0.05, INPUT, "Quarantine limit",
        "Fail cleaning when a larger share of the day's rows is quarantined.", minimum=0, maximum=1)
    window_days: int = param_field(
        30, SCORING, "Window (days)",
        "Days of history, ending at the run date, in the interaction matrix.", minimum=1, maximum=366)
    half_life_days: float = param_field(
        20.0, SCORING, "Half-life (days)",
        "Recency decay: an event this many days old counts half.", exclusiveMinimum=0, maximum=3650)
    weight_view: float = param_field(0.1, SCORING, "Weight of a view", "Weight of a view.", minimum=0, maximum=100)
    weight_cart: float = param_field(
        0.3, SCORING, "Weight of a cart", "Weight of a cart event.", minimum=0, maximum=100)
    weight_purchase: float = param_field(
        1.0, SCORING, "Weight of a purchase", "Weight of a purchase.", minimum=0, maximum=100)
    score_cap: float = param_field(
        2.0, SCORING, "Score cap", "Cap on log10(1 + weighted count).", exclusiveMinimum=0, maximum=100)
    min_user_products: int = param_field(
        2, MODEL, "Products per ALS user",
        "Users with fewer products get the popularity fallback.", minimum=1, maximum=1000)
    min_product_users: int = param_field(
        2, MODEL, "Users per ALS product",
        "Products with fewer users are left out of ALS training.", minimum=1, maximum=1000)
    top_k: int = param_field(10, MODEL, "Recommendations per user", "Length of each user's list (K).",
                        minimum=1, maximum=500)
    exclude_purchased: bool = param_field(
        True, MODEL, "Exclude purchased", "Never recommend what the user bought in the window.")
    als_ranks: tuple[int, ...] = param_field(
        (15, 30), MODEL, "ALS ranks to try",
        "Latent factors to try; the first is used when nothing can be tuned.",
        minItems=1, maxItems=10, items={"minimum": 1, "maximum": 500})
    als_reg_params: tuple[float, ...] = param_field(
        (0.005, 0.05), MODEL, "ALS regularisations to try",
        "Regularisation values to try (the first: the untuned default).",
        minItems=1, maxItems=10, items={"minimum": 0, "maximum": 100})
    als_alphas: tuple[float, ...] = param_field(
        (1.0, 10.0), MODEL, "ALS alphas to try",
        "Implicit-feedback confidence scales to try (the first: the untuned default).",
        minItems=1, maxItems=10, items={"minimum": 0, "maximum": 1000})
    als_max_iter: int = param_field(10, MODEL, "ALS iterations", "ALS iterations per fit.", minimum=1, maximum=100)
    als_engine: str = param_field(
        "auto", MODEL, "ALS engine",
        "Who fits ALS: spark (MLlib, on the executors), implicit (the implicit library on the Spark driver, "
        "several times faster while the matrix fits there) or auto (implicit while its pairs, factors and lists fit "
        "half the driver machine's memory beside the JVM; Spark above).", enum=["auto", "spark", "implicit"])
    tuning_search: str = param_field(
        "neighbours", MODEL, "Tuning search",
        "neighbours: the last published run's parameters and the grid points one step from them (one list "
        "at a time), a few fits a day; full_grid: every grid point in order (the first run, or on demand).",
        enum=["neighbours", "full_grid"])
    tuning_budget_minutes: float = param_field(
        30.0, MODEL, "Tuning budget (minutes)",
        "Stop trying grid points after this long (the first is always tried).", minimum=0, maximum=1440)
    retune_days: int = param_field(
        7, MODEL, "Retune after (days)",
        "neighbours: keep the parameters in use (one fit, not about four) until this many days after the run "
        "that searched them to the end, unless they fail the quality gate; then search again. 1: every day.",
        minimum=1, maximum=365)
    eval_days: int = param_field(
        7, GATE, "Held-out days",
        "Last days of the window held out to tune and judge ALS (fewer than window_days); 0 skips both.",
        minimum=0, maximum=365)
    quality_margin: float = param_field(
        0.1, GATE, "Quality margin",
        "Publish only if ALS NDCG@K > popularity NDCG@K x (1 + margin).", minimum=0, maximum=1000)
    max_list_age_days: int = param_field(
        3, GATE, "Oldest current lists (days)",
        "Fail the run when the lists served now are more days older than the run date than this "
        "(runs withheld by the quality gate keep older lists current).", minimum=0, maximum=365)
    als_blocks: int = param_field(
        2, RESOURCES, "ALS blocks",
        "ALS user/item blocks. 2 keeps reruns bit-identical; more spread training over a big cluster "
        "but scores may differ in the last bits.", minimum=1, maximum=1000)
    spark_driver_memory: str = param_field(
        "2g", RESOURCES, "Spark driver memory", "Memory of each Spark job's driver (e.g. 2g, 512m).",
        pattern="^[0-9]+[kmgt]$")
    als_driver_memory: str | None = param_field(
        None, RESOURCES, "train_als driver memory",
        "Driver memory of train_als alone, which holds up to 256 MB of item factors at a time for top-K "
        "(a larger catalogue is scored in chunks; empty: spark_driver_memory).", pattern=OPTIONAL_MEMORY)
    spark_executor_memory: str | None = param_field(
        None, RESOURCES, "Executor memory",
        "Memory of each executor on a cluster (empty: the cluster's default; local mode has none).",
        pattern=OPTIONAL_MEMORY)
    spark_executor_cores: int = param_field(
        0, RESOURCES, "Cores per executor",
        "Cores of each executor on a cluster (0: the cluster's default).", minimum=0, maximum=64)
    spark_shuffle_partitions: int = param_field(
        0, RESOURCES, "Shuffle partitions",
        "Partitions of every shuffle (0: 4 x the cores Spark grants the job).", minimum=0, maximum=100000)
    tableau_datasources: tuple[str, ...] | None = param_field(
        (), TABLEAU, "Data sources to refresh",
        "Names of published Tableau data sources whose extracts are refreshed once the checks pass, as "
        "project/name where a name is in several projects (needs the recsys_tableau_server connection; "
        "empty: none).",
        minItems=0, maxItems=50, items={"minLength": 1, "maxLength": 255})
    tableau_workbooks: tuple[str, ...] | None = param_field(
        (), TABLEAU, "Workbooks to refresh",
        "Names of Tableau workbooks whose embedded extracts are refreshed once the checks pass, as "
        "project/name where a name is in several projects (empty: none).",
        minItems=0, maxItems=50, items={"minLength": 1, "maxLength": 255})
    tableau_timeout_minutes: float = param_field(
        60.0, TABLEAU, "Refresh timeout (minutes)",
        "How long each refresh job may stay pending on Tableau before its task fails.", minimum=1, maximum=1440)
    tableau_hyper_extract: bool = param_field(
        False, TABLEAU, "Write a .hyper extract",
        "Once the checks pass, write every chart_, sheet_ and report_ view into "
        "<lake_root>/tableau/recsys_views.hyper for Tableau Desktop (Desktop 2022.4.1 or later).")

    def __post_init__(self):
        problems = []
        for f in fields(self):  # typed once here, whoever builds the settings (JSON gives lists)
            try:
                object.__setattr__(self, f.name, typed(f, getattr(self, f.name)))
            except SettingsError as exc:
                problems.append(str(exc))
        if not problems:
            problems = [p for f in fields(self)
                        for p in schema_problems(f.name, getattr(self, f.name), field_schema(f))]
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
        if not is_time_zone(self.store_time_zone):
            found.append(f"store_time_zone {self.store_time_zone!r} is not an IANA time zone (e.g. Asia/Kolkata)")
        if self.weight_view + self.weight_cart + self.weight_purchase <= 0:
            found.append("weight_view, weight_cart and weight_purchase are all 0: every score would be 0")
        for name in ("raw_root", "lake_root"):
            # The value is not repeated: the message reaches the task's log.
            if carries_uri_credentials(getattr(self, name)):
                found.append(f"{name} carries credentials in its URI (before '@'): give them to the storage's "
                             "configuration (Spark's Hadoop settings, the workers' credentials), never a Param")
        if self.run_date is not None:
            try:
                date.fromisoformat(self.run_date)
            except ValueError:
                found.append(f"run_date {self.run_date!r} is not a YYYY-MM-DD date")
        return found

    @classmethod
    def from_params(cls, params: Mapping) -> "Settings":
        """Settings from the run's Params (a Param left out takes its default); unknown names and
        wrong types are refused, naming the Param. A retired Param (``RETIRED``) is ignored, so a
        run made before it was retired can still be cleared and rerun."""
        known = {f.name: f for f in fields(cls)}
        params = {name: value for name, value in params.items() if name not in RETIRED}
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
                 "description": f.metadata["description"], "$schema": JSON_SCHEMA_DRAFT, **field_schema(f)}
        for f in fields(Settings)
    }
