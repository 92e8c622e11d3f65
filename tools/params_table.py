"""Print the README's Params table from the Params' one definition (``recsys.params``).

    recsys-params-table

A test compares the README's table with this one, so a Param cannot be added, renamed or given
another default without the README saying so.
"""

import sys
from dataclasses import fields

from recsys.params import Settings

HEADER = ["| Param | section | default | meaning |", "|---|---|---|---|"]


def shown_default(field_) -> str:
    """A Param's default as the README shows it."""
    if "environment" in field_.metadata:
        return f"`${field_.metadata['environment']}`"
    value = Settings().as_params()[field_.name]
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def table_rows() -> list[str]:
    return [f"| `{f.name}` | {f.metadata['section']} | {shown_default(f)} | {f.metadata['description']} |"
            for f in fields(Settings)]


def main(argv: list[str] | None = None) -> int:
    print("\n".join([*HEADER, *table_rows()]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
