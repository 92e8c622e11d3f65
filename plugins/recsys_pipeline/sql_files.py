"""SQL lives in include/sql as files. This reads the statements the Python code runs
(include/sql/statements, Python-format ``{identifier}`` fields); the checks
(include/sql/checks) are Jinja templates that Airflow's SQL operators render, and the migrations
are plain DDL read by ``recsys_pipeline.migrations``."""

import re

from recsys_pipeline.config import SQL_DIR

STATEMENTS_DIR = SQL_DIR / "statements"
CHECKS_DIR = SQL_DIR / "checks"
MIGRATIONS_DIR = SQL_DIR / "migrations"

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def identifier(name: str) -> str:
    """A table or column name from configuration, checked, then back-quoted."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a valid SQL identifier: {name!r}")
    return f"`{name}`"


def _filled(value: str | list[str] | list[tuple[str, str]]) -> str:
    if isinstance(value, str):
        return identifier(value)
    return ", ".join(f"{identifier(v[0])} TO {identifier(v[1])}" if isinstance(v, tuple) else identifier(v)
                     for v in value)


def read_sql(relative: str, placeholders: int = 0, **identifiers: str | list[str] | list[tuple[str, str]]) -> str:
    """The statement in include/sql/statements/<relative>, comments removed, with identifiers
    filled in (a list becomes a comma-separated list; a list of pairs, ``a TO b, ...``).

    Values are never formatted into SQL: they stay %s placeholders bound by the driver
    (``{placeholders}`` becomes that many of them).
    """
    text = (STATEMENTS_DIR / relative).read_text()
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    filled = {key: _filled(value) for key, value in identifiers.items()}
    return body.format(**filled, placeholders=", ".join(["%s"] * placeholders)).strip()
