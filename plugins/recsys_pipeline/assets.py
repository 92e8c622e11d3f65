"""What this DAG publishes, as Airflow Assets: another DAG (a Tableau refresh, a report) can be
scheduled on them (``schedule=[DAILY_SUMMARIES]``) instead of on a clock.

Each is updated by the check that proves its data landed whole, so a downstream run never
starts on rows the checks would have failed.
"""

from airflow.sdk import Asset

# daily_kpis, hourly_activity, brand_daily, category_daily, top_customers of the run date.
DAILY_SUMMARIES = Asset(name="recsys_daily_summaries", uri="recsys://mysql/daily_summaries")
# user_recommendations_current and similar_products_current (a run that publishes).
CURRENT_RECOMMENDATIONS = Asset(name="recsys_current_recommendations",
                                uri="recsys://mysql/current_recommendations")
