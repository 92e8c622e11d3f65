-- Whether the run date's summaries are in MySQL (the report is drawn only then).
SELECT 1 FROM daily_kpis WHERE run_date = %s
