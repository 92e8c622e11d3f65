-- A weekday's average revenue: its revenue over the dates that had events on it (a day without
-- purchases counts as 0, not as missing).
SELECT active.day_of_week,
       ELT(active.day_of_week, 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday')
         AS day_name,
       COALESCE(sold.revenue, 0) / active.days AS average_revenue, COALESCE(sold.revenue, 0) AS revenue, active.days
FROM (SELECT day_of_week, COUNT(DISTINCT run_date) AS days FROM hourly_event_facts
      WHERE run_date BETWEEN %(start)s AND %(end)s GROUP BY day_of_week) AS active
LEFT JOIN (SELECT day_of_week, SUM(revenue) AS revenue FROM chart_revenue_by_day_of_week
           WHERE run_date BETWEEN %(start)s AND %(end)s GROUP BY day_of_week) AS sold
  ON sold.day_of_week = active.day_of_week
ORDER BY active.day_of_week
