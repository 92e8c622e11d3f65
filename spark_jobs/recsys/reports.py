"""The reports Spark jobs hand to the Airflow tasks that load them into MySQL, defined once.

A report's fields are named and typed as the MySQL columns they fill (a dict field is stored as
JSON text in its ``*_json`` column); fields marked ``lake_only`` stay in the lake's copy. The Spark
job writes a report with ``to_json``; the load task reads it back with ``from_json``, which refuses
a document whose fields differ from the definition, so writer and loader cannot drift apart.

Plain Python: the Spark drivers and the Airflow workers both import it.
"""

import json
import typing
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import ClassVar

from recsys.params import Settings

LAKE_ONLY = {"lake_only": True}
METRIC_MODELS = ("als", "popularity", "category_popularity")
METRIC_NAMES = ("ndcg", "precision", "recall", "map", "hit_rate", "coverage")


class ReportError(ValueError):
    """A report document does not match its definition."""


class Report:
    """JSON in and out, and the MySQL row, for the dataclass reports below."""

    TABLE: ClassVar[str]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str):
        document = json.loads(text)
        names = {f.name for f in fields(cls)}
        if set(document) != names:
            raise ReportError(f"{cls.__name__}: fields {sorted(set(document) - names)} are not defined, "
                              f"{sorted(names - set(document))} are missing")
        return cls(**{f.name: _from_json_value(f.type, document[f.name]) for f in fields(cls)})

    def row(self) -> dict:
        """The report's row for its table: every field not lake-only, under its own name."""
        return {f.name: json.dumps(getattr(self, f.name), sort_keys=True, default=str) if _is_dict(f.type)
                else getattr(self, f.name)
                for f in fields(self) if not f.metadata.get("lake_only")}


def _is_dict(kind) -> bool:
    return typing.get_origin(kind) is dict or kind is dict


def _from_json_value(kind, value):
    return date.fromisoformat(value) if kind is date else value


@dataclass(frozen=True)
class CleaningReport(Report):
    """What the clean_events job did with one ingest date's files; the rows, each count measured
    on its own (``recsys.cleaning.reconciliation_problems``), reconcile:
    rows_read = rows_clean + rows_quarantined + duplicates_removed + carts_collapsed."""

    TABLE: ClassVar[str] = "data_quality_daily"
    ingest_date: date
    files: int
    rows_read: int
    rows_clean: int
    rows_quarantined: int
    duplicates_removed: int
    carts_collapsed: int
    quarantine_reasons_json: dict[str, int]  # reason -> rows
    missing_values_json: dict[str, int]  # raw column -> empty fields
    normalisations_json: dict[str, int]  # what cleaning changed -> rows passing the rules it changed
    source_files: list[str] = field(metadata=LAKE_ONLY)
    quarantined_by_file: dict[str, int] = field(metadata=LAKE_ONLY)
    clean_rows_by_event_date: dict[str, int] = field(metadata=LAKE_ONLY)


@dataclass(frozen=True)
class SummariesReport(Report):
    """Which event dates the eda_summaries job of a run date summarised (lake only): its own and
    those its files brought late or early rows of, each recomputed whole."""

    run_date: date
    event_dates: list[str]


@dataclass(frozen=True)
class ModelRunReport(Report):
    """What the train_als job chose, measured and decided for one run date."""

    TABLE: ClassVar[str] = "model_runs"
    run_date: date
    status: str  # published | withheld | unjudged (recsys.tuning.quality_gate)
    quality_gate: str  # the verdict, with its figures
    evaluation_status: str
    als_rank: int
    als_reg_param: float
    als_alpha: float
    als_max_iter: int
    top_k: int
    window_days: int
    eval_days: int
    quality_margin: float
    users: int
    products: int
    interaction_pairs: int
    als_users: int
    recommendation_rows: int
    similar_rows: int
    tuning_trials: int  # grid points scored
    tuning_seconds: float
    eval_users: int | None
    train_seconds: float
    als_ndcg_at_k: float | None
    als_precision_at_k: float | None
    als_recall_at_k: float | None
    als_map_at_k: float | None
    als_hit_rate_at_k: float | None
    als_coverage: float | None
    popularity_ndcg_at_k: float | None
    popularity_precision_at_k: float | None
    popularity_recall_at_k: float | None
    popularity_map_at_k: float | None
    popularity_hit_rate_at_k: float | None
    popularity_coverage: float | None
    category_popularity_ndcg_at_k: float | None
    category_popularity_precision_at_k: float | None
    category_popularity_recall_at_k: float | None
    category_popularity_map_at_k: float | None
    category_popularity_hit_rate_at_k: float | None
    category_popularity_coverage: float | None
    params_json: dict  # the run's Params, by their names
    evaluation_json: dict  # the time-split evaluation and every tuning trial, without timings
    als_products: int = field(metadata=LAKE_ONLY)
    recommendation_rows_by_source: dict[str, int] = field(metadata=LAKE_ONLY)
    default_lists: int = field(default=0, metadata=LAKE_ONLY)  # best sellers' lists: 1 + one per category


def metric_column(model: str, metric: str) -> str:
    return f"{model}_{metric}" if metric == "coverage" else f"{model}_{metric}_at_k"


def model_run_report(run_date: date, settings: Settings, evaluation: dict, status: str, verdict: str,
                     sizes: dict, seconds: float) -> ModelRunReport:
    """The report of a train_als run: ``evaluation`` as ``recommender.evaluate`` returns it,
    ``sizes`` the matrix's and the outputs' counts (users, products, interaction_pairs, als_users,
    als_products, recommendation_rows, recommendation_rows_by_source, similar_rows, default_lists)."""
    chosen = evaluation.get("chosen") or settings.als_params().as_dict()
    trials = evaluation.get("tuning", [])
    metrics = {metric_column(model, name): evaluation.get(model, {}).get(name)
               for model in METRIC_MODELS for name in METRIC_NAMES}
    # Timings live in their own columns: the same run on the same data gives the same JSON.
    untimed = {**evaluation, "tuning": [{k: v for k, v in t.items() if k != "seconds"} for t in trials]}
    return ModelRunReport(
        run_date=run_date,
        status=status,
        quality_gate=verdict[:512],
        evaluation_status=evaluation["status"][:255],
        als_rank=chosen["rank"], als_reg_param=chosen["reg_param"], als_alpha=chosen["alpha"],
        als_max_iter=chosen["max_iter"],
        top_k=settings.top_k, window_days=settings.window_days, eval_days=settings.eval_days,
        quality_margin=settings.quality_margin,
        tuning_trials=sum(t["status"] == "scored" for t in trials),
        tuning_seconds=sum(t.get("seconds", 0.0) for t in trials),
        eval_users=evaluation.get("test_users"),
        train_seconds=seconds,
        # The date it ran for, not how it was asked for: a scheduled run and a rerun of the same date
        # with run_date set record the same Params.
        params_json={**settings.as_params(), "run_date": run_date.isoformat()},
        evaluation_json=untimed if trials else evaluation,
        **metrics,
        **sizes,
    )
