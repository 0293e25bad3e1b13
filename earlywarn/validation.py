"""One way to turn bad input into a message that names the field and the value.

Rule files, scenario files, baseline tables and Kafka records are all
validated with pydantic; each entry point reports errors the same way.

>>> from pydantic import BaseModel
>>> class M(BaseModel):
...     n: int
>>> try:
...     validate_mapping({"n": "x"}, M, "m.yaml", ValueError)
... except ValueError as exc:
...     print(exc)
m.yaml: n: Input should be a valid integer, unable to parse string as an integer (got 'x')
"""
from __future__ import annotations

from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def describe_validation(exc: ValidationError) -> str:
    """'field: message (got value)' for each error, joined by '; '."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        got = err.get("input")
        text = repr(got)
        shown = "" if isinstance(got, (dict, list)) else f" (got {text if len(text) <= 80 else text[:77] + '...'})"
        parts.append(f"{where}: {err['msg']}{shown}")
    return "; ".join(parts)


def validate_mapping(data: object, model: type[M], origin: str, error: type[Exception]) -> M:
    """Validate a parsed document; raise ``error('origin: field: message')``."""
    if not isinstance(data, dict):
        raise error(f"{origin}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(f"{origin}: {describe_validation(exc)}") from None


def parse_yaml_model(text: str, model: type[M], origin: str, error: type[Exception]) -> M:
    """Parse YAML text and validate it against ``model``."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{origin}: not valid YAML: {exc}") from None
    return validate_mapping(data, model, origin, error)
