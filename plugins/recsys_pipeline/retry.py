"""Retrying a MySQL unit of work after a transient fault.

Every unit retried here is idempotent on its own (a per-date replace in one transaction, a
staging load and swap that starts by dropping its staging table), so after a dropped connection,
a restarted server, a lock wait timeout or a deadlock, running it again from the start gives
exactly what a clean run gives. Anything else fails at once with MySQL's own message.
"""

import logging
import os
import time
from collections.abc import Callable
from typing import TypeVar

import MySQLdb

log = logging.getLogger(__name__)
T = TypeVar("T")

# Client and server error codes of faults that a new attempt on a new connection can outlive.
TRANSIENT_CODES = {
    1053,  # server shutdown in progress
    1205,  # lock wait timeout exceeded
    1213,  # deadlock found
    1927,  # connection was killed (MariaDB)
    2002,  # cannot connect through the socket (server restarting)
    2003,  # cannot connect to the server (server restarting)
    2006,  # server has gone away
    2013,  # lost connection during query
}


def is_transient(error: BaseException) -> bool:
    return isinstance(error, MySQLdb.OperationalError) and bool(error.args) and error.args[0] in TRANSIENT_CODES


def with_retries(work: Callable[[], T], what: str, attempts: int | None = None,
                 first_wait: float | None = None, sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``work`` until it succeeds, retrying transient MySQL faults with doubling waits."""
    attempts = attempts or int(os.environ.get("RECSYS_MYSQL_ATTEMPTS", "4"))
    wait = first_wait if first_wait is not None else float(os.environ.get("RECSYS_MYSQL_RETRY_WAIT", "2"))
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except MySQLdb.OperationalError as error:
            if not is_transient(error) or attempt == attempts:
                raise
            log.warning("%s: transient MySQL fault %s (attempt %d of %d); retrying in %.0f s",
                        what, error.args, attempt, attempts, wait)
            sleep(wait)
            wait *= 2
    raise AssertionError("unreachable")
