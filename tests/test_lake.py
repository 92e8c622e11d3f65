"""The lake keeps its last good state: a job's outputs are staged beside it and swapped in only
when the job has checked them; a failed or killed job changes nothing readers see."""

import ast
from datetime import date
from pathlib import Path

import pytest

from recsys import lake
from recsys.staged_outputs import StagedOutputs
from recsys_pipeline.config import PROJECT_ROOT
from tests.helpers import lake_files

DAY = date(2019, 10, 1)


def write_version(spark, root: Path, value: str, fail_before_commit: bool = False) -> None:
    with StagedOutputs(spark, str(root), "some_job", DAY) as outputs:
        spark.createDataFrame([(value,)], "v string").write.parquet(outputs.path(lake.interactions(str(root), DAY)))
        spark.createDataFrame([(value,)], "v string").write.text(outputs.path(lake.model_run(str(root), DAY)))
        if fail_before_commit:
            raise KeyboardInterrupt("killed")  # as a job killed after writing, before the swap
        outputs.commit()


def test_outputs_appear_only_when_committed_and_replace_the_old_ones_whole(spark, tmp_path):
    write_version(spark, tmp_path, "first")
    first = lake_files(tmp_path)
    assert [r.v for r in spark.read.parquet(lake.interactions(str(tmp_path), DAY)).collect()] == ["first"]
    assert not (tmp_path / "_staging" / "some_job" / f"run_date={DAY}").exists()

    with pytest.raises(KeyboardInterrupt):
        write_version(spark, tmp_path, "second", fail_before_commit=True)
    assert lake_files(tmp_path) == first  # the killed attempt's files sit in _staging, which no reader lists
    assert any((tmp_path / "_staging").rglob("*.parquet"))

    write_version(spark, tmp_path, "third")
    assert [r.v for r in spark.read.parquet(lake.interactions(str(tmp_path), DAY)).collect()] == ["third"]
    assert spark.read.text(lake.model_run(str(tmp_path), DAY)).first()[0] == "third"
    assert not any(p.is_file() for p in (tmp_path / "_staging").rglob("*"))  # leftovers and lock gone


def _staged_names(function: ast.FunctionDef) -> set[str]:
    """Names bound to ``outputs.path(...)``, or to a dict of them (``name[...]`` is staged then)."""
    def staged(value) -> bool:
        if isinstance(value, ast.DictComp):
            value = value.value
        return isinstance(value, ast.Call) and ast.unparse(value.func) == "outputs.path"

    return {t.id for node in ast.walk(function) if isinstance(node, ast.Assign) and staged(node.value)
            for t in node.targets if isinstance(t, ast.Name)}


def test_every_job_writes_the_lake_through_staged_outputs():
    """Each write of a Spark job goes to ``outputs.path(...)`` (or a folder under one), so no job
    writes a lake path in place."""
    writers = {"parquet", "save", "csv", "text", "write_load_files", "write_report",
               "write_lists", "write_model", "write_similar"}  # the last three: recommender.Fitted's
    checked = 0
    for script in sorted((PROJECT_ROOT / "spark_jobs" / "recsys" / "jobs").glob("*.py")):
        # Each top-level function with the functions nested in it, which see its names.
        for function in ast.parse(script.read_text()).body:
            if not isinstance(function, ast.FunctionDef):
                continue
            staged = _staged_names(function)
            for call in ast.walk(function):
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute | ast.Name)):
                    continue
                name = call.func.attr if isinstance(call.func, ast.Attribute) else call.func.id
                source = ast.unparse(call.func)
                if name not in writers or ("write" not in source and name not in ("write_load_files", "write_report")):
                    continue
                target = call.args[1] if name in ("write_load_files", "write_report") else call.args[0]
                text = ast.unparse(target)
                assert text.startswith("outputs.path(") or text in staged \
                    or any(text.startswith((f"f'{{{n}}}", f"{n}[")) for n in staged), \
                    f"{script.name}: {ast.unparse(call)} writes in place"
                checked += 1
    assert checked >= 9  # clean_events 3, eda 1, build_interactions 1, train_als 4
