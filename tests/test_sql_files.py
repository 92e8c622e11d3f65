"""Statements come from include/sql files, with validated identifiers only."""

import pytest

from recsys_pipeline.sql_files import identifier


def test_identifiers_from_configuration_are_validated():
    assert identifier("user_recommendations") == "`user_recommendations`"
    for bad in ("x; DROP TABLE y", "a`b", "1abc", ""):
        with pytest.raises(ValueError, match="not a valid SQL identifier"):
            identifier(bad)
