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
# The number forms the export writes. Anything else (1e3, +12, 007, 1.005, -0.004) is quarantined
# rather than reinterpreted: a cast would read 007 as 7 and round 1.005 to 1.01 without a word.
ID_PATTERN = r"^[1-9][0-9]*$"  # and within 64 bits, which the cast checks
PRICE_PATTERN = r"^-?(0|[1-9][0-9]*)(\.[0-9]{1,2})?$"
# The longest text the MySQL tables hold, in characters (their VARCHAR lengths; a test compares):
# a longer value is quarantined rather than failing its day's load on every rerun.
MAX_CHARS = {"category_code": 191, "brand": 191}
MAX_CATEGORY_LEVEL_CHARS = 64  # category, sub_category and product_type
