"""Checking method parameters: each value's type, range and finiteness, with one line naming the method,
the key, the value and what is allowed.

A method states rules for the parameters whose default does not say enough (``Method.param_rules``, e.g.
DIP's ``steps`` is ``"auto"`` or an integer >= 1); every other parameter must have its default's type
(an int default takes integers, a float default any finite real number, a bool default true/false, a str
default a string; a None default anything). The plan checks every label's parameters this way before
any job starts, and so does the CLI before a fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import ConfigError


@dataclass(frozen=True)
class Rule:
    """What one parameter accepts.

    kind: ``int``, ``float`` (any finite real, ints included), ``bool``, ``str`` or ``None`` (any value).
    low / high: inclusive bounds, or exclusive where ``low_open`` / ``high_open``. choices: the allowed
    strings. literals: extra values accepted as they are (e.g. ``"auto"``, ``None``).
    """

    kind: type | None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    literals: tuple[Any, ...] = ()

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not allowed, or None."""
        if any(value == literal and type(value) is type(literal) for literal in self.literals):
            return None
        if self.kind is None:
            return None
        if self.kind is bool:
            return None if isinstance(value, bool) else "true or false"
        if self.kind is str:
            if not isinstance(value, str):
                return "a string"
            return None if not self.choices or value in self.choices else f"one of {', '.join(self.choices)}"
        number_ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if self.kind is int and not (number_ok and float(value).is_integer()):
            return "an integer" + self._range_text()
        if self.kind is float and not (number_ok and math.isfinite(value)):
            return "a finite number" + self._range_text()
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return ("an integer" if self.kind is int else "a number") + self._range_text()
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return ("an integer" if self.kind is int else "a number") + self._range_text()
        return None

    def describe(self) -> str:
        """What is allowed, for error messages."""
        kind = {int: "an integer", float: "a finite number", bool: "true or false", str: "a string",
                None: "any value"}[self.kind]
        if self.choices:
            kind = f"one of {', '.join(self.choices)}"
        text = kind + self._range_text()
        if self.literals:
            text += " or " + " or ".join(_show(literal) for literal in self.literals)
        return text

    def _range_text(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {self.high:g}")
        return (" " + " and ".join(parts)) if parts else ""


def _show(value: Any) -> str:
    if value is None:
        return "null"
    return repr(value) if isinstance(value, str) else str(value)


def rule_from_default(default: Any) -> Rule:
    """The rule a parameter gets from its default value alone."""
    if default is None:
        return Rule(None)
    if isinstance(default, bool):
        return Rule(bool)
    if isinstance(default, int):
        return Rule(int)
    if isinstance(default, float):
        return Rule(float)
    if isinstance(default, str):
        return Rule(str)
    return Rule(None)


def check_params(method: str, params: Mapping[str, Any], defaults: Mapping[str, Any],
                 rules: Mapping[str, Rule]) -> None:
    """Raise :class:`ConfigError` for the first parameter whose value its rule does not allow."""
    for key, value in params.items():
        rule = rules.get(key) or rule_from_default(defaults.get(key))
        problem = rule.problem(value)
        if problem is not None:
            allowed = rule.describe() if key in rules else problem
            raise ConfigError(f"method {method!r}: parameter {key!r} is {_show(value)}; it must be {allowed}")
