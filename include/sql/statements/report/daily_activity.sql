SELECT run_date, active_users, revenue, orders, sessions_viewed, sessions_carted, sessions_abandoned
FROM chart_daily_activity WHERE run_date BETWEEN %(start)s AND %(end)s ORDER BY run_date
