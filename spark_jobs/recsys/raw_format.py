"""The raw export's format: what the store's exporter writes, one CSV row per event.

Plain Python (no pyspark): the input check on the Airflow worker, the sample-data generator and
the tests read it too.
"""

RAW_HEADER = (
    "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session"
)
RAW_COLUMNS = tuple(RAW_HEADER.split(","))
# Some exporters (Excel, PowerShell) start a UTF-8 file with it; it is not part of the header.
BYTE_ORDER_MARK = "\ufeff"
RAW_SUFFIXES = (".csv", ".csv.gz")
# An exporter's marker that the day's files are complete (as Hadoop and Spark writers do).
COMPLETE_MARKER = "_SUCCESS"


def is_raw_file(name: str) -> bool:
    """An export file of the day (hidden and _-prefixed files are an exporter's work in progress)."""
    return name.endswith(RAW_SUFFIXES) and not name.startswith((".", "_"))
# Spark's datetime pattern of `event_time` ('2019-10-01 00:00:00 UTC').
RAW_TIME_FORMAT = "yyyy-MM-dd HH:mm:ss 'UTC'"
EVENT_TYPES = ("view", "cart", "remove_from_cart", "purchase")
# What an empty category code or brand becomes in the clean events.
UNKNOWN = "unknown"
# Prices above this are data errors in a retail export (the real one tops out near 2,600).
MAX_PRICE = 100_000
