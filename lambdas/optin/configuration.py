"""Reading settings, for the functions and for the stack alike.

A setting is declared once (``Setting``: its CDK context key, its environment variable,
its default and its parser) and read by one ``Reader`` from either source: the functions'
environment (strings, by variable) or CDK context (JSON values, or strings given with
``-c``, by key). Every parser takes both kinds of value, and every error is a
``SettingError`` naming the context key (and the variable, where there is one).

Kept free of heavy imports: ``observability`` reads one setting here at import time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class SettingError(ValueError):
    """A missing or invalid setting. Names the CDK context key and, where the functions
    read it, the environment variable, so an operator knows what to fix from either side."""

    def __init__(self, setting: str, problem: str, variable: str = "") -> None:
        where = f"{setting} ({variable})" if variable else setting
        super().__init__(f"setting {where} {problem}")
        self.setting = setting
        self.variable = variable
        self.problem = problem


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Setting(Generic[T]):
    key: str  # the CDK context key (or what the stack fills it from)
    parse: Callable[[Any], T]  # raises ValueError naming the problem
    default: T = REQUIRED
    variable: str = ""  # the functions' environment variable, if they read it

    def error(self, problem: str) -> SettingError:
        return SettingError(self.key, problem, self.variable)


class Reader:
    """Reads settings from one source; ``lookup`` answers a name with a value or None."""

    def __init__(self, lookup: Callable[[str], Any], *, by_variable: bool) -> None:
        self._lookup = lookup
        self._by_variable = by_variable

    @classmethod
    def environment(cls, env: Mapping[str, str]) -> Reader:
        return cls(env.get, by_variable=True)

    @classmethod
    def context(cls, context: Callable[[str], Any]) -> Reader:
        """``context`` is ``node.try_get_context``."""
        return cls(context, by_variable=False)

    def raw(self, setting: Setting[Any]) -> Any:
        """The value as given (strings stripped), or None when absent or blank."""
        value = self._lookup(setting.variable if self._by_variable else setting.key)
        if isinstance(value, str):
            value = value.strip()
        return None if value is None or value == "" else value

    def read(self, setting: Setting[T]) -> T:
        value = self.raw(setting)
        if value is None:
            if setting.default is REQUIRED:
                raise setting.error("is required")
            return setting.default
        try:
            return setting.parse(value)
        except ValueError as error:
            raise setting.error(str(error)) from None


# Parsers: each takes a string (environment, ``-c``) or a JSON value (cdk.json). ----------


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {value!r}")
    return value


def matching(pattern: re.Pattern[str]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if not pattern.match(text(value)):
            raise ValueError(f"{value!r} is not valid")
        return str(value)

    return parse


def https_url(value: Any) -> str:
    if not text(value).startswith("https://"):
        raise ValueError(f"must be an https:// URL, got {value!r}")
    return str(value)


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).lower()
    if lowered not in ("true", "false"):
        raise ValueError(f"{value!r} must be true or false")
    return lowered == "true"


def integer(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool | float):
            raise ValueError(f"{value!r} is not a whole number")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not a whole number") from None
        if not low <= number <= high:
            raise ValueError(f"{number} is outside {low}..{high}")
        return number

    return parse


def one_of(choices: Iterable[str], *, upper: bool = False) -> Callable[[Any], str]:
    allowed = tuple(choices)

    def parse(value: Any) -> str:
        normalised = text(value).upper() if upper else text(value)
        if normalised not in allowed:
            raise ValueError(f"{value!r} must be one of {', '.join(allowed)}")
        return normalised

    return parse


def one_of_numbers(choices: Iterable[int]) -> Callable[[Any], int]:
    allowed = tuple(choices)
    whole = integer(min(allowed), max(allowed))

    def parse(value: Any) -> int:
        number = whole(value)
        if number not in allowed:
            raise ValueError(f"{number} must be one of {', '.join(map(str, allowed))}")
        return number

    return parse


def strings(value: Any) -> list[str]:
    """A list: a JSON list, or comma-separated text; items stripped, blanks dropped."""
    items: Any = value
    if isinstance(value, str):
        if value.startswith("["):
            try:
                items = json.loads(value)
            except json.JSONDecodeError as error:
                raise ValueError(f"is not a JSON list: {error.msg}") from None
        else:
            items = value.split(",")
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError("must be a list of strings")
    return [item.strip() for item in items if item.strip()]


def country(value: Any) -> str:
    code = text(value).upper()
    if len(code) != 2 or not code.isalpha() or not code.isascii():
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 code")
    return code


def countries(value: Any) -> tuple[str, ...]:
    codes = tuple(country(item) for item in strings(value))
    if not codes:
        raise ValueError("must name at least one country")
    return codes


def origins(value: Any) -> tuple[str, ...]:
    items = strings(value)
    for origin in items:
        local = origin.startswith(("http://127.0.0.1", "http://localhost"))
        if not (origin.startswith("https://") or local) or origin.endswith("/"):
            raise ValueError(f"{origin!r} must be an origin like https://example.com")
    return tuple(items)


def text_map(value: Any) -> dict[str, str]:
    """A JSON object of strings (given as text or as an object)."""
    mapping: Any = value
    if isinstance(value, str):
        try:
            mapping = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"is not a JSON object: {error.msg}") from None
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
    ):
        raise ValueError("must map message names to strings")
    return mapping


# Read by ``observability`` at import (the X-Ray SDK is imported only when it is on).
XRAY_SDK_TRACING = Setting("xraySdkTracing", boolean, False, "XRAY_SDK_TRACING")
