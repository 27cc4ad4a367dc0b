"""Template filters shared by every page and by the entry partial."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.numbers import format_decimal, format_percent
from flask import Flask
from flask_babel import get_locale, gettext
from markupsafe import Markup

from liveblog.content.embed_words import localized_embeds
from liveblog.content.key_figures import key_figures_heading, key_figures_summary
from liveblog.content.local_time import N_, ZONE_NAMES, local_strftime, month_names
from liveblog.content.media import media_at, picture_element
from liveblog.models import Story, as_utc
from liveblog.web.i18n import DEFAULT_LANGUAGE, current_language


def html_time(moment: datetime | None) -> str | None:
    """A stored time for a datetime attribute: HTML allows at most three fractional digits."""
    moment = as_utc(moment)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z") if moment else None


# The formats the reader's templates pass to story_time, each written as its language would
# (the catalogue has them: "%d %b %Y" reads "%d %B %Y" in Arabic).
# Translators: strftime formats; %H hours, %M minutes, %Z zone, %d day, %b month, %Y year.
DATE_FORMATS = (N_("%H:%M %Z, %d %b %Y"), N_("%d %b %Y"), N_("%H%M %Z, %d %b"), N_("%H%M %Z"))


def story_time(moment: datetime, timezone: str, fmt: str = DATE_FORMATS[0]) -> str:
    """A stored UTC time shown in the story's zone, as the page's language writes it."""
    local = as_utc(moment).astimezone(ZoneInfo(timezone))
    return local_strftime(local, gettext(fmt), current_language())


def percent(share: int) -> str:
    """A whole percentage (0-100) as the page's language writes it ("50 %" in French)."""
    locale = get_locale()
    text = format_percent(share / 100, locale=locale or "en", numbering_system="latn")
    # Babel keeps its pattern's "%" as it is; CLDR's sign for the language is what browsers'
    # Intl writes (Arabic's sits between left-to-right marks, to stay on its number's side).
    symbols = locale.number_symbols.get("latn", {}) if locale else {}
    return text.replace("%", symbols.get("percentSign") or "%")


# CLDR's minimumGroupingDigits where it is not 1, which Babel does not apply: Spanish groups a
# number only from five digits on ("1234", "12.345"), as browsers' Intl.NumberFormat does.
MINIMUM_GROUPING_DIGITS = {"es": 2}


def number(count: int) -> str:
    """A count as the page's scripts write it (strings.js formatNumber): "1\u202f234" in French."""
    locale = get_locale() or Locale.parse(DEFAULT_LANGUAGE)
    group = locale.decimal_formats[None].grouping[0]
    if len(str(abs(count))) < group + MINIMUM_GROUPING_DIGITS.get(locale.language, 1):
        return str(count)
    return format_decimal(count, locale=locale, numbering_system="latn")


def clock_words() -> dict:
    """What the page's script needs to write "Last updated" as story_time does, in its language."""
    language = current_language()
    return {"clock": gettext(DATE_FORMATS[0]), "months": month_names(language, "wide"),
            "monthsShort": month_names(language, "abbreviated"),
            "zones": {zone: gettext(zone) for zone in ZONE_NAMES}}


def zone_names(timezone: str) -> dict[int, str]:
    """The zone's abbreviations by UTC offset in minutes, this year and next ("EST", "EDT")."""
    return _zone_names(timezone, datetime.now(UTC).year)


@lru_cache(maxsize=256)
def _zone_names(timezone: str, year: int) -> dict[int, str]:
    # Browsers name zones from their own data ("GMT-5" where Python says "EST"); the page's
    # script looks the name up here, so a time it writes reads like the server's labels.
    zone, names = ZoneInfo(timezone), {}
    moment = datetime(year, 1, 1, tzinfo=UTC)
    for _ in range(2 * 366):
        local = moment.astimezone(zone)
        names[int(local.utcoffset().total_seconds() // 60)] = local.strftime("%Z")
        moment += timedelta(days=1)
    return names


def cover_picture(story: Story) -> Markup | None:
    """The story's cover as a sized, responsive <picture> when it is one of our stored pictures."""
    media = media_at(story.cover_url)
    return picture_element(media, story.cover_alt or "", loading="eager") if media else None


def init_app(app: Flask) -> None:
    """Register the filters, the cover picture and the key-figures box's helpers."""
    app.add_template_global(cover_picture)
    app.add_template_global(zone_names)
    app.add_template_global(clock_words)
    app.add_template_global(key_figures_heading)
    app.add_template_global(key_figures_summary)
    app.add_template_filter(html_time, "iso")
    app.add_template_filter(story_time, "story_time")
    app.add_template_filter(percent, "percent")
    app.add_template_filter(number, "number")
    app.add_template_filter(localized_embeds, "localized_embeds")
