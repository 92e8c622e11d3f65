"""The Params' one definition: typed and validated settings, the DAG's trigger form built from
them, every Param used somewhere, and the README's table in step with them."""

import ast
import copy
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from recsys.params import SECTIONS, Settings, SettingsError, param_schemas
from recsys_pipeline.config import DAGS_DIR, PROJECT_ROOT
from recsys_tools.params_table import table_rows
from recsys_tools.run_dag import load_dag

NAMES = [f.name for f in fields(Settings)]


def test_json_round_trip_and_typing():
    settings = Settings(als_ranks=[5, 6], tuning_budget_minutes=2, run_date="2019-10-02")
    assert settings.als_ranks == (5, 6) and settings.tuning_budget_minutes == 2.0
    assert settings.tuning_budget_seconds == 120.0
    assert Settings.from_json(settings.to_json()) == settings
    assert Settings.from_json("{}") == Settings()  # a Param left out takes its default


@pytest.mark.parametrize("params, message", [
    ({"eval_days": 30, "window_days": 30}, r"eval_days \(30\) must be less than window_days \(30\)"),
    ({"quality_margin": -0.5}, r"quality_margin must be at least 0, got -0.5"),
    ({"als_alphas": []}, r"als_alphas needs at least 1 value"),
    ({"als_ranks": [15, 0]}, r"als_ranks\[1\] must be at least 1, got 0"),
    ({"top_k": "10"}, r"top_k must be integer, got '10'"),
    ({"exclude_purchased": 1}, r"exclude_purchased must be boolean, got 1"),
    ({"window_days": 10.5}, r"window_days must be integer, got 10.5"),
    ({"weight_view": 0, "weight_cart": 0, "weight_purchase": 0}, r"weight_purchase are all 0: every score would be 0"),
    ({"run_date": "2019-10-32"}, r"run_date '2019-10-32' is not a YYYY-MM-DD date"),
    ({"spark_driver_memory": "2 GB"}, r"spark_driver_memory '2 GB' does not match"),
    ({"windowdays": 3}, r"unknown Params \['windowdays'\]"),
    ({"als_ranks": list(range(1, 11)), "als_alphas": list(range(1, 11)), "als_reg_params": [0.1, 0.2]},
     r"the tuning grid als_ranks x als_reg_params x als_alphas has 200 points, more than 100"),
])
def test_bad_or_contradicting_params_are_refused_naming_the_param(params, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_params(params)


def test_every_param_has_a_title_a_known_section_and_both_bounds():
    for name, schema in param_schemas().items():
        assert schema["title"] and schema["description"], name
        assert schema["section"] in SECTIONS, name
        is_list = "array" in schema["type"]
        bounded = schema["items"] if is_list else schema
        if bounded["type"] in ("integer", "number"):
            assert {"minimum", "exclusiveMinimum"} & set(bounded), f"{name} has no lower bound"
            assert {"maximum", "exclusiveMaximum"} & set(bounded), f"{name} has no upper bound"
        if is_list:
            assert schema["minItems"] >= 0 and schema["maxItems"] >= max(schema["minItems"], 1), name
            if bounded["type"] == "string":
                assert bounded["minLength"] >= 1 and bounded["maxLength"] >= bounded["minLength"], name
    assert [param_schemas()[n]["section"] for n in NAMES] == sorted(
        (param_schemas()[n]["section"] for n in NAMES), key=SECTIONS.index)  # the form's order


def test_every_params_schema_is_a_draft_7_schema_its_default_meets():
    from jsonschema import Draft7Validator, validators

    for name, spec in param_schemas().items():
        schema = {key: value for key, value in spec.items() if key != "default"}
        Draft7Validator.check_schema(schema)
        assert validators.validator_for(schema) is Draft7Validator, name  # what Airflow's check uses
        assert not list(Draft7Validator(schema).iter_errors(spec["default"])), name


# The Params that may be left empty in the trigger form, and what the jobs read then.
OPTIONAL = {"run_date": None, "als_driver_memory": None, "spark_executor_memory": None,
            "tableau_datasources": (), "tableau_workbooks": ()}


def test_only_the_params_that_may_be_left_empty_take_null_and_null_reads_as_not_set():
    schemas = param_schemas()
    # The trigger form marks a field required unless its type is a list holding "null".
    assert {n for n, s in schemas.items() if isinstance(s["type"], list) and "null" in s["type"]} == set(OPTIONAL)
    left_empty = Settings.from_params(dict.fromkeys(OPTIONAL))
    assert {name: getattr(left_empty, name) for name in OPTIONAL} == OPTIONAL
    assert left_empty == Settings()
    # Earlier runs' confs held an empty string for "not set": a cleared task of theirs still runs.
    assert Settings(als_driver_memory="", spark_executor_memory="").als_driver_memory == ""
    with pytest.raises(SettingsError, match="top_k must be integer, got None"):
        Settings.from_params({"top_k": None})


def test_a_retired_param_in_an_earlier_runs_conf_is_ignored():
    assert Settings.from_params({"quick_jit_max_mb": 500, "top_k": 7}) == Settings(top_k=7)
    with pytest.raises(SettingsError, match=r"unknown Params \['quick_jit_max_m'\]"):
        Settings.from_params({"quick_jit_max_m": 500})


def test_the_form_as_sent_with_every_default_and_empty_optional_fields_is_a_valid_run():
    """The trigger form sends every field, an empty one as null: Airflow validates that conf
    against the Params when the run is created, and the jobs read it back."""
    params = copy.deepcopy(load_dag().params)
    for name, value in {**Settings().as_params(), **dict.fromkeys(OPTIONAL)}.items():
        params[name] = value  # validated against the Param's schema, as when the run is created
    assert Settings.from_params(params.validate()) == Settings()


def test_the_dags_params_are_the_settings_with_the_same_defaults():
    dag = load_dag()
    assert list(dag.params) == NAMES
    defaults = Settings().as_params()
    for name in NAMES:
        param = dag.params.get_param(name)
        assert param.value == defaults[name], name
        assert param.schema["section"] == param_schemas()[name]["section"], name
    assert Settings.from_params(dict(dag.params)) == Settings()


def test_the_dag_file_does_not_import_pyspark_when_parsed():
    probe = ("import runpy, sys; runpy.run_path(sys.argv[1]); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pyspark'))")
    result = subprocess.run([sys.executable, "-c", probe, str(DAGS_DIR / "ecommerce_recommendations.py")],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def _read_names(tree: ast.AST) -> set[str]:
    return {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}


def test_every_param_is_used_outside_its_definition():
    """Read as ``<x>.<param>`` by the pipeline's code or templates, directly or through a method
    of Settings that such code calls."""
    params_py = PROJECT_ROOT / "spark_jobs" / "recsys" / "params.py"
    sources = [p for folder in ("spark_jobs", "plugins", "dags") for p in (PROJECT_ROOT / folder).rglob("*.py")
               if p != params_py]
    read = set().union(*(_read_names(ast.parse(p.read_text())) for p in sources))
    templates = [*sources, *(PROJECT_ROOT / "include" / "sql").rglob("*.sql")]  # {{ params.<name> }}
    read |= {m for p in templates for m in re.findall(r"params\.(\w+)", p.read_text())}
    methods = {node.name: _read_names(node) for node in ast.walk(ast.parse(params_py.read_text()))
               if isinstance(node, ast.FunctionDef)}
    used = read | set().union(*(methods[m] for m in methods if m in read))
    assert [n for n in NAMES if n not in used] == []


def test_the_readme_lists_every_param_with_its_default():
    readme = (PROJECT_ROOT / "README.md").read_text()
    rows = [line for line in readme.splitlines() if re.match(r"^\| `\w+` \| ", line)
            and line.split("`")[1] in NAMES]
    assert rows == table_rows(), "README's Params table differs: paste the output of recsys-params-table"


def test_a_contradiction_is_refused_before_any_spark_job_starts():
    dag = load_dag()
    run = dag.test(run_conf={"run_date": "2019-10-01", "eval_days": 30, "window_days": 30,
                             "raw_root": str(Path("/nonexistent"))})
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states["check_raw_input"] == "failed" and states["clean_events"] == "upstream_failed"


def test_a_value_out_of_bounds_is_refused_when_the_run_is_created():
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError, match="quality_margin: -1 is less than the minimum of 0"):
        load_dag().test(run_conf={"run_date": "2019-10-01", "quality_margin": -1})
