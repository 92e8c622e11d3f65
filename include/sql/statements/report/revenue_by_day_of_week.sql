-- A weekday's average revenue: its revenue over the number of the store's dates on that weekday
-- that had events. Days of week are the store's and run_date is UTC, so one UTC date holds hours
-- of two store dates: each row's store date is its UTC date moved by -1, 0 or 1 day to land on
-- its day_of_week (1 = Monday; WEEKDAY() counts from 0 = Monday; day_of_week is unsigned, hence
-- + 6 rather than - 1). At the window's edges a store date may be partly outside it.
SELECT active.day_of_week,
       ELT(active.day_of_week, 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday')
         AS day_name,
       COALESCE(sold.revenue, 0) / active.days AS average_revenue, COALESCE(sold.revenue, 0) AS revenue, active.days
FROM (SELECT day_of_week,
             COUNT(DISTINCT run_date + INTERVAL CASE MOD(day_of_week + 6 - WEEKDAY(run_date), 7)
                                                 WHEN 0 THEN 0 WHEN 1 THEN 1 ELSE -1 END DAY) AS days
      FROM hourly_event_facts WHERE run_date BETWEEN %(start)s AND %(end)s AND events > 0
      GROUP BY day_of_week) AS active
LEFT JOIN (SELECT day_of_week, SUM(revenue) AS revenue FROM chart_revenue_by_day_of_week
           WHERE run_date BETWEEN %(start)s AND %(end)s GROUP BY day_of_week) AS sold
  ON sold.day_of_week = active.day_of_week
ORDER BY active.day_of_week
