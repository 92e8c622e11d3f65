-- The headline figures of every date.
SELECT run_date, events, active_users, purchases, revenue FROM daily_kpis ORDER BY run_date
