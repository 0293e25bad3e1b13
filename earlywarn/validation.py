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

Values are shown cut to :data:`MAX_SHOWN` characters (a 401-digit number or a
megabyte string must not be repeated in a log line or a dead letter), and not
at all where the input may be secret or not ours to repeat (``show_input=False``:
rule files, settings).
"""
from __future__ import annotations

import re
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
MAX_SHOWN = 60
MAX_ERRORS = 10
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
"""a location part that may be named as it is; any other key from a file is named by its line"""


def shown(value: object, limit: int = MAX_SHOWN) -> str:
    """``repr(value)`` cut to ``limit`` characters.

    >>> shown(10 ** 400), shown("x" * 100)[-20:]
    ('an integer of 401 digits', 'xxx…(102 characters)')
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 3 * limit:
        digits = len(str(abs(value))) if value.bit_length() < 14_000 else int(value.bit_length() * 0.30103) + 1
        return f"an integer of {digits} digits"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}…({len(text)} characters)"


def describe_validation(exc: ValidationError, show_input: bool = True,
                        key_lines: dict[tuple, int] | None = None) -> str:
    """'field: message (got value)' for each error (at most :data:`MAX_ERRORS`), joined by '; '.

    With ``show_input=False`` neither values nor keys that are not field names
    are repeated; such a key is named by its line (``key_lines``: path → line).
    """
    parts = []
    errors = exc.errors(include_url=False, include_context=False)
    for err in errors[:MAX_ERRORS]:
        where = ".".join(_place(err["loc"], show_input, key_lines or {})) or "(top level)"
        got = err.get("input")
        note = "" if not show_input or isinstance(got, (dict, list)) else f" (got {shown(got)})"
        parts.append(f"{where}: {err['msg']}{note}")
    if len(errors) > MAX_ERRORS:
        parts.append(f"… {len(errors) - MAX_ERRORS} more")
    return "; ".join(parts)


def _place(loc: tuple, show_input: bool, key_lines: dict[tuple, int]) -> list[str]:
    out = []
    for i, part in enumerate(loc):
        if show_input or isinstance(part, int) or FIELD_NAME.fullmatch(str(part)):
            out.append(str(part))
        else:
            line = key_lines.get(tuple(loc[:i + 1]))
            out.append(f"(the key on line {line})" if line else "(a key that is no field name)")
    return out


def validate_mapping(data: object, model: type[M], origin: str, error: type[Exception],
                     show_input: bool = True, key_lines: dict[tuple, int] | None = None) -> M:
    """Validate a parsed document; raise ``error('origin: field: message')``."""
    if not isinstance(data, dict):
        raise error(f"{origin}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(f"{origin}: {describe_validation(exc, show_input, key_lines)}") from None


def yaml_key_lines(text: str) -> dict[tuple, int]:
    """Path of every mapping key in a YAML document → its line (1-based)."""
    out: dict[tuple, int] = {}

    def walk(node: yaml.Node, path: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                here = path + (key.value if isinstance(key, yaml.ScalarNode) else "",)
                out.setdefault(here, key.start_mark.line + 1)
                walk(value, here)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, path + (i,))
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return out
    if root is not None:
        walk(root, ())
    return out


def yaml_problem(exc: yaml.YAMLError) -> str:
    """Where the YAML broke and why, without the quoted text of the file (``EW_RULES_FILE=/etc/shadow``)."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(exc, "problem", None) or type(exc).__name__
    return f"{where}{problem}"


def parse_yaml_model(text: str, model: type[M], origin: str, error: type[Exception],
                     show_input: bool = True) -> M:
    """Parse YAML text and validate it against ``model``.

    ``show_input=False`` keeps the file's text out of the message: only the
    line, column and field are named.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        detail = str(exc) if show_input else yaml_problem(exc)
        raise error(f"{origin}: not valid YAML: {detail}") from None
    return validate_mapping(data, model, origin, error, show_input, None if show_input else yaml_key_lines(text))
