SELECT ingest_date, files, rows_read, rows_clean, rows_quarantined, duplicates_removed, carts_collapsed
FROM report_data_quality WHERE ingest_date BETWEEN %(start)s AND %(end)s ORDER BY ingest_date
