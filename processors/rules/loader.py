"""Reads a rules YAML file into validated ``Rules``; errors name the field and its line."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs installed (types-PyYAML)
from pydantic import ValidationError

from processors.rules.model import Rules

DEFAULT_RULES_PATH = Path(str(files("processors.rules").joinpath("default.yaml")))


class RulesError(ValueError):
    """A rules file that cannot be used; the message lists every problem with its line."""


def _line_index(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[path + (key.value,)] = key.start_mark.line + 1
            _line_index(value, path + (key.value,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, path + (i,), out)


def _line_of(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int | None:
    path = tuple(str(p) if isinstance(p, str) else p for p in loc)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


def parse_rules(text: str, source: str = "<rules>") -> Rules:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RulesError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or node is None:
        raise RulesError(f"{source}: a rules file is a YAML mapping")
    lines: dict[tuple[Any, ...], int] = {}
    _line_index(node, (), lines)
    try:
        return Rules.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            field = ".".join(str(p) for p in loc) or "(top level)"
            line = _line_of(loc, lines)
            where = f"line {line}: " if line else ""
            problems.append(f"{source}: {where}{field}: {err['msg']}")
        raise RulesError("\n".join(problems)) from None


def load_rules(path: Path | str | None = None) -> Rules:
    """The rules at ``path``, or the shipped defaults."""
    p = Path(path) if path else DEFAULT_RULES_PATH
    try:
        text = p.read_text()
    except OSError as exc:
        raise RulesError(f"{p}: cannot read rules file: {exc.strerror}") from None
    return parse_rules(text, str(p))


def default_rules_text() -> str:
    return DEFAULT_RULES_PATH.read_text()
