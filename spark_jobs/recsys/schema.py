"""The clean events' Spark schema (the raw export's format is in ``recsys.raw_format``)."""

from pyspark.sql import types as T

PRICE_TYPE = T.DecimalType(12, 2)

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

# The lake's events as read back: the clean events and the partition they were ingested into.
LAKE_EVENTS = T.StructType([*CLEAN_EVENTS.fields, T.StructField("ingest_date", T.DateType(), True)])
