"""Declaring, typing and checking one Param (``recsys.params`` declares them all): a dataclass
field with its form metadata, its JSON type from the field's annotation, its JSON schema, and a
value checked against it. Plain Python, without jsonschema (which clusters may lack): the DAG's
Params and the Spark drivers' settings are checked alike."""

import os
import re
import typing
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path


class SettingsError(ValueError):
    """The run's Params are unknown, of the wrong type, out of bounds or contradict each other."""


def param_field(default, section: str, title: str, description: str, **schema):
    """A field that is also a Param: ``schema`` holds its JSON-schema bounds (the type comes from
    the field's annotation)."""
    meta = {"section": section, "title": title, "description": description, "schema": schema}
    if isinstance(default, DeploymentDefault):
        return field(default_factory=default, metadata={**meta, "environment": default.variable})
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class DeploymentDefault:
    """A default from the deployment's environment (read when the DAG is parsed), else the
    checkout's .local folder (a source checkout without scripts/env.sh)."""

    variable: str
    folder: str

    def __call__(self) -> str:
        return os.environ.get(self.variable) or str(Path(__file__).resolve().parents[2] / ".local" / self.folder)


_JSON_TYPES = {int: "integer", float: "number", bool: "boolean", str: "string"}


def unwrapped(annotation) -> tuple[typing.Any, bool]:
    """The field's own type, and whether it may be null (``X | None``: the Param may be left empty)."""
    args = typing.get_args(annotation)
    if type(None) in args:
        return next(a for a in args if a is not type(None)), True
    return annotation, False


def json_type(annotation) -> str | list[str]:
    base, nullable = unwrapped(annotation)
    name = "array" if typing.get_origin(base) is tuple else _JSON_TYPES[base]
    # "null" first: the trigger form shows a field typed so as optional (no "required" mark).
    return ["null", name] if nullable else name


def field_schema(f) -> dict:
    """The field's full JSON schema (type from the annotation, bounds from its declaration)."""
    base, _ = unwrapped(f.type)
    schema = {"type": json_type(f.type), **f.metadata["schema"]}
    if typing.get_origin(base) is tuple:
        item_type = _JSON_TYPES[typing.get_args(base)[0]]
        schema["items"] = {"type": item_type, **schema.get("items", {})}
    return schema


def typed(f, value):
    """``value`` as the field's type (an int is a fine float, a bool is no number), or
    SettingsError naming the Param. Null, where the Param may be left empty, is "not set": None,
    or no values for a list."""
    base, nullable = unwrapped(f.type)
    is_list = typing.get_origin(base) is tuple
    if value is None and nullable:
        return () if is_list else None
    if is_list:
        if not isinstance(value, list | tuple):
            raise SettingsError(f"{f.name} must be a list, got {value!r}")
        item = typing.get_args(base)[0]
        return tuple(_scalar(f"{f.name}[{i}]", item, v) for i, v in enumerate(value))
    return _scalar(f.name, base, value)


def _scalar(name: str, kind: type, value):
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    raise SettingsError(f"{name} must be {_JSON_TYPES[kind]}, got {value!r}")


def schema_problems(name: str, value, schema: dict) -> list[str]:
    """The JSON-schema bounds this module uses, checked without jsonschema (absent on clusters)."""
    if value is None:
        return []
    if isinstance(value, tuple):
        problems = []
        if len(value) < schema.get("minItems", 0):
            problems.append(f"{name} needs at least {schema['minItems']} value(s), got none")
        if len(value) > schema.get("maxItems", len(value)):
            problems.append(f"{name} takes at most {schema['maxItems']} values, got {len(value)}")
        for i, item in enumerate(value):
            problems += schema_problems(f"{name}[{i}]", item, schema.get("items", {}))
        return problems
    checks = {
        "minimum": (lambda v, b: v >= b, "at least"),
        "maximum": (lambda v, b: v <= b, "at most"),
        "exclusiveMinimum": (lambda v, b: v > b, "more than"),
        "exclusiveMaximum": (lambda v, b: v < b, "less than"),
    }
    problems = [f"{name} must be {words} {schema[key]}, got {value}"
                for key, (holds, words) in checks.items() if key in schema and not holds(value, schema[key])]
    if "minLength" in schema and len(value) < schema["minLength"]:
        problems.append(f"{name} must not be empty")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        problems.append(f"{name} is longer than {schema['maxLength']} characters")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        problems.append(f"{name} {value!r} does not match {schema['pattern']}")
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{name} must be one of {', '.join(schema['enum'])}, got {value!r}")
    return problems


def is_time_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return False
    return True


# scheme://user[:password]@host/...: a root naming its credentials would reach spark-submit's
# command line, the task logs and model_runs.params_json.
_URI_CREDENTIALS = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*@")


def carries_uri_credentials(value: str) -> bool:
    return bool(_URI_CREDENTIALS.match(value))
