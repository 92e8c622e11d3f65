"""Sums that do not depend on the order rows arrive in.

Spark adds partial sums in whatever order partitions and files come, and floating-point addition
is not associative: the same events read in another file order (a rerun rewrites the files) would
give scores and metrics that differ in the last bits, and so different tables. Adding fixed-point
decimals is exact, so the result is the same in any order.
"""

from pyspark.sql import Column
from pyspark.sql import functions as F

# 20 integer digits and 18 decimals: the decayed weights and metrics summed here are far smaller.
EXACT = "decimal(38,18)"


def exact_sum(value: Column | str) -> Column:
    value = F.col(value) if isinstance(value, str) else value
    return F.sum(value.cast(EXACT)).cast("double")


def exact_avg(value: Column | str) -> Column:
    value = F.col(value) if isinstance(value, str) else value
    return exact_sum(value) / F.count(value)
