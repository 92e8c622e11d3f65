"""The MySQL rows of the reports the Spark jobs write (``recsys.reports``).

A report's fields carry their columns' names, so a report's own row is the report itself
(``Report.row``) plus the time it was loaded; the data-quality breakdowns are one row per reason
and per raw column.
"""

from datetime import UTC, datetime

from recsys.reports import CleaningReport, ModelRunReport


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def model_run_rows(report: ModelRunReport) -> dict[str, list[dict]]:
    return {report.TABLE: [{**report.row(), "loaded_at": _utc_now()}]}


def data_quality_rows(report: CleaningReport) -> dict[str, list[dict]]:
    day = report.ingest_date
    return {
        report.TABLE: [{**report.row(), "loaded_at": _utc_now()}],
        "data_quality_reasons": [
            {"ingest_date": day, "reason": reason, "rows_quarantined": n}
            for reason, n in sorted(report.quarantine_reasons_json.items())
        ],
        "data_quality_missing_values": [
            {"ingest_date": day, "column_name": column, "empty_values": n}
            for column, n in sorted(report.missing_values_json.items())
        ],
    }
