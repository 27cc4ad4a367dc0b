"""Integer parameters from the outside world: ASCII digits only, within bounds."""

from __future__ import annotations

import re
from typing import NamedTuple

from werkzeug.routing import IntegerConverter

# str.isdigit() accepts "²" and "٣", which int() refuses or reads as another number; 15 digits
# keep int() cheap and every value inside JavaScript's exact integers.
ASCII_DIGITS = re.compile(r"[0-9]{1,15}")


def ascii_int(value: str | None, maximum: int = 2**53) -> int | None:
    """The value as an int if it is 1-15 ASCII digits and at most `maximum`, else None."""
    if value is None or not ASCII_DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if number <= maximum else None


class AsciiIntConverter(IntegerConverter):
    """The <int:...> of every route: Werkzeug's own matches r"\\d+", which takes "٣" as 3."""

    regex = ASCII_DIGITS.pattern


class Bounds(NamedTuple):
    """A whole-number parameter's range and default: what its parser takes and its spec says."""

    low: int
    high: int
    default: int | None = None
