"""The raw export's format and the clean events' schema."""

from pyspark.sql import types as T

RAW_HEADER = (
    "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session"
)
RAW_COLUMNS = tuple(RAW_HEADER.split(","))
RAW_TIME_FORMAT = "yyyy-MM-dd HH:mm:ss 'UTC'"
EVENT_TYPES = ("view", "cart", "remove_from_cart", "purchase")
UNKNOWN = "unknown"
PRICE_TYPE = T.DecimalType(12, 2)
# Prices above this are data errors in a retail export (the real one tops out near 2,600).
MAX_PRICE = 100_000

CLEAN_EVENTS = T.StructType(
    [
        T.StructField("event_time", T.TimestampType(), False),
        T.StructField("event_type", T.StringType(), False),
        T.StructField("product_id", T.LongType(), False),
        T.StructField("category_id", T.LongType(), False),
        T.StructField("category_code", T.StringType(), False),
        T.StructField("category_code_missing", T.BooleanType(), False),
        T.StructField("category", T.StringType(), False),
        T.StructField("sub_category", T.StringType(), False),
        T.StructField("product_type", T.StringType(), False),
        T.StructField("brand", T.StringType(), False),
        T.StructField("brand_missing", T.BooleanType(), False),
        T.StructField("price", PRICE_TYPE, False),
        T.StructField("user_id", T.LongType(), False),
        T.StructField("user_session", T.StringType(), False),
        T.StructField("user_session_generated", T.BooleanType(), False),
        T.StructField("event_date", T.DateType(), False),
    ]
)
