"""Typed, path-aware reads from decoded JSON, and the timestamp formats providers send.

Parsers read a payload through ``Doc`` so that a field of the wrong type or a missing one becomes a
``ShapeError`` naming the field (``pull_request.number: expected an integer, got a string``) instead
of a ``KeyError`` deep in the normaliser.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

# PostgreSQL INTEGER bounds: numbers stored in int columns must fit.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
_SPACE_OFFSET = re.compile(r"\s+(UTC|Z|[+-]\d{2}:?\d{2})$")


class ShapeError(ValueError):
    """A payload that does not have the shape its event promises; ``path`` names the field."""

    def __init__(self, path: str, problem: str):
        self.path = path or "(body)"
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def describe(value: Any) -> str:
    """The JSON kind of a value, for messages: ``a string``, ``null``, ``an object``…"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def parse_timestamp(value: Any, path: str, *, epoch: bool = False) -> datetime:
    """An aware UTC datetime from ISO 8601 text with an offset (``Z``, ``+02:00``, ``+0200``, `` UTC``).

    With ``epoch=True`` a number of seconds since 1970 is accepted too (GitHub push payloads).
    Text without an offset is refused: guessing its zone would shift every duration.

    >>> parse_timestamp("2021-04-28 21:50:00 +0200", "t").isoformat()
    '2021-04-28T19:50:00+00:00'
    """
    if epoch and isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise ShapeError(path, f"{value!r} is not a valid epoch time") from exc
    if not isinstance(value, str):
        raise ShapeError(path, f"expected a timestamp, got {describe(value)}")
    text = _SPACE_OFFSET.sub(lambda m: "+00:00" if m.group(1) in ("UTC", "Z") else m.group(1), value.strip())
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ShapeError(path, f"{value[:40]!r} is not an ISO 8601 timestamp") from exc
    if parsed.tzinfo is None:
        raise ShapeError(path, f"{value[:40]!r} has no UTC offset (write it like 2026-10-05T17:40:00+00:00)")
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ShapeError(path, f"{value[:40]!r} is out of range") from exc


class Doc:
    """A JSON object read field by field; every accessor names the full path in its errors."""

    __slots__ = ("data", "path")

    def __init__(self, data: Any, path: str = ""):
        if not isinstance(data, dict):
            raise ShapeError(path, f"expected an object, got {describe(data)}")
        self.data: dict[str, Any] = data
        self.path = path

    def _at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        """True when the key is present and not null."""
        return self.data.get(key) is not None

    def raw(self, key: str) -> Any:
        """The value as decoded, unchecked (``None`` when absent)."""
        return self.data.get(key)

    def _required(self, key: str) -> Any:
        value = self.data.get(key)
        if value is None:
            raise ShapeError(self._at(key), "required" if key not in self.data else "must not be null")
        return value

    def child(self, key: str) -> Doc:
        """A nested object that must be present."""
        return Doc(self._required(key), self._at(key))

    def opt_child(self, key: str) -> Doc | None:
        """A nested object, or ``None`` when absent or null."""
        value = self.data.get(key)
        return None if value is None else Doc(value, self._at(key))

    def children(self, key: str) -> list[Doc]:
        """An array of objects (absent or null: empty)."""
        return [Doc(item, f"{self._at(key)}[{i}]") for i, item in enumerate(self._list(key))]

    def _list(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ShapeError(self._at(key), f"expected an array, got {describe(value)}")
        return value

    def text(self, key: str) -> str:
        """A string that must be present."""
        value = self._required(key)
        if not isinstance(value, str):
            raise ShapeError(self._at(key), f"expected a string, got {describe(value)}")
        return value

    def opt_text(self, key: str) -> str | None:
        """A string, or ``None`` when absent or null."""
        return None if self.data.get(key) is None else self.text(key)

    def texts(self, key: str) -> list[str]:
        """An array of strings (absent or null: empty)."""
        items = self._list(key)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise ShapeError(f"{self._at(key)}[{i}]", f"expected a string, got {describe(item)}")
        return items

    def integer(self, key: str, *, low: int = INT_MIN, high: int = INT_MAX) -> int:
        """An integer (not a boolean) within ``[low, high]``."""
        value = self._required(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ShapeError(self._at(key), f"expected an integer, got {describe(value)}")
        if not low <= value <= high:
            raise ShapeError(self._at(key), f"{value} is out of range")
        return value

    def opt_integer(self, key: str, *, low: int = INT_MIN, high: int = INT_MAX) -> int | None:
        """An integer, or ``None`` when absent or null."""
        return None if self.data.get(key) is None else self.integer(key, low=low, high=high)

    def ident(self, key: str) -> str:
        """An id that is a number or a string, as text (GitHub run ids outgrow 32 bits)."""
        value = self._required(key)
        if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
            raise ShapeError(self._at(key), f"expected an id (a number or a string), got {describe(value)}")
        text = str(value)
        if len(text) > 100:
            raise ShapeError(self._at(key), "is longer than 100 characters")
        return text

    def opt_ident(self, key: str) -> str | None:
        """An id as text, or ``None`` when absent or null."""
        return None if self.data.get(key) is None else self.ident(key)

    def number(self, key: str) -> float | None:
        """A number (integer or decimal), or ``None`` when absent or null."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ShapeError(self._at(key), f"expected a number, got {describe(value)}")
        return float(value)

    def flag(self, key: str, default: bool = False) -> bool:
        """A boolean; ``default`` when absent or null."""
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ShapeError(self._at(key), f"expected true or false, got {describe(value)}")
        return value

    def time(self, key: str, *, epoch: bool = False) -> datetime:
        """A timestamp that must be present (see ``parse_timestamp``)."""
        return parse_timestamp(self._required(key), self._at(key), epoch=epoch)

    def opt_time(self, key: str, *, epoch: bool = False) -> datetime | None:
        """A timestamp, or ``None`` when absent or null."""
        value = self.data.get(key)
        return None if value is None else parse_timestamp(value, self._at(key), epoch=epoch)
