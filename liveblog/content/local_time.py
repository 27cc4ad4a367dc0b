"""strftime in a story's language: month and day names from CLDR (Babel), the rest as strftime."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from babel import Locale, UnknownLocaleError

from liveblog.web.i18n import DEFAULT_LANGUAGE, translate

# The directives whose text depends on the language; every other one prints digits or the
# zone's abbreviation, which strftime writes the same in every language.
_NAMED = re.compile(r"%[aAbBpZ%]")


def N_(message: str) -> str:
    """Mark a message for the catalogue without translating it here (pybabel extracts N_)."""
    return message


# Zone abbreviations a language writes in its own words ("بتوقيت غرينتش"); any other is kept.
ZONE_NAMES = (N_("GMT"), N_("UTC"))


def local_strftime(moment: datetime, fmt: str, language: str | None) -> str:
    """Format a local moment with strftime, names in `language` (English: strftime's own)."""
    if not language or language == DEFAULT_LANGUAGE:
        return moment.strftime(fmt)
    names = _names(language)
    if names is None:
        return moment.strftime(fmt)

    def name(match: re.Match) -> str:
        directive = match.group()[1]
        if directive == "%":
            return "%%"
        if directive == "Z":
            zone = moment.strftime("%Z")
            return (translate(language, zone) if zone in ZONE_NAMES else zone).replace("%", "%%")
        if directive == "p":
            return names["p"][moment.hour >= 12].replace("%", "%%")
        index = moment.weekday() if directive in "aA" else moment.month - 1
        return names[directive][index].replace("%", "%%")

    return moment.strftime(_NAMED.sub(name, fmt))


def month_names(language: str, width: str) -> list[str]:
    """The twelve months as `language` names them, "wide" (%B) or "abbreviated" (%b)."""
    names = _names(language)
    if names is None or language == DEFAULT_LANGUAGE:
        return [datetime(2000, month, 1).strftime("%B" if width == "wide" else "%b")
                for month in range(1, 13)]
    return names["B" if width == "wide" else "b"]


@lru_cache(maxsize=16)
def _names(language: str) -> dict | None:
    try:
        locale = Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return None
    months, days = locale.months["format"], locale.days["format"]
    periods = locale.day_periods.get("format", {}).get("abbreviated", {})
    return {
        "b": [months["abbreviated"][month] for month in range(1, 13)],
        "B": [months["wide"][month] for month in range(1, 13)],
        "a": [days["abbreviated"][day] for day in range(7)],
        "A": [days["wide"][day] for day in range(7)],
        "p": (periods.get("am", "AM"), periods.get("pm", "PM")),
    }
