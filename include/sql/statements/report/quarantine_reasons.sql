SELECT ingest_date, reason, rows_quarantined
FROM report_quarantine_reasons WHERE ingest_date BETWEEN %(start)s AND %(end)s ORDER BY ingest_date, reason
