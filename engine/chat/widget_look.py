"""A site's widget: its look, its words per language and its pre-chat form.

Admins set these on the site (``Sites.UpdateSite``, ``parley site update``);
the widget receives them in the welcome frame (:func:`widget_doc`). Every value
is checked here, with a code naming what is wrong: ``bad_color`` (only
``#rgb`` or ``#rrggbb``: a colour goes into the widget's stylesheet, so nothing
but hex digits may reach it), ``bad_position``, ``bad_field_mode``,
``unknown_language`` (texts only for a language the widget has words for, so a
visitor never reads a page of two languages) and ``text_too_long``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from engine.errors import InvalidArgument

# The languages the widget has built-in words for (edge/static/widget-panel.js).
WIDGET_LANGUAGES = ("en", "de", "fr", "es", "ja", "ar")
POSITIONS = ("", "right", "left")  # "": the embed tag's, else right
FIELD_MODES = ("off", "optional", "required")
PRECHAT_FIELDS = ("name", "email", "question")
COLOR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
MAX_TITLE = 60
MAX_GREETING = 500
MAX_OFFLINE = 500


def check_color(color: str) -> str:
    """A brand colour, ``#rgb`` or ``#rrggbb``; "" keeps the widget's own."""
    if color and not COLOR_RE.match(color):
        raise InvalidArgument(
            "bad_color", f"colour {color[:20]!r} must be #rgb or #rrggbb", field="widget_color"
        )
    return color.lower()


def check_position(position: str) -> None:
    if position not in POSITIONS:
        raise InvalidArgument(
            "bad_position",
            "the widget's position is right or left ('' the embed tag's)",
            field="widget_position",
        )


def check_field_mode(field_name: str, mode: str) -> None:
    if mode not in FIELD_MODES:
        raise InvalidArgument(
            "bad_field_mode",
            f"{field_name} is off, optional or required, not {mode[:20]!r}",
            field=field_name,
        )


@dataclass(frozen=True, slots=True)
class WidgetText:
    """The widget's words in one language ("": every language without its own
    entry); an empty text keeps the widget's built-in words."""

    language: str = ""
    title: str = ""
    greeting: str = ""
    offline: str = ""

    def __post_init__(self) -> None:
        if self.language and self.language not in WIDGET_LANGUAGES:
            raise InvalidArgument(
                "unknown_language",
                f"the widget has no words in {self.language[:20]!r}; "
                f"texts are for {', '.join(WIDGET_LANGUAGES)} (or '' for all)",
                field="widget_texts.language",
            )
        for name, limit in (
            ("title", MAX_TITLE),
            ("greeting", MAX_GREETING),
            ("offline", MAX_OFFLINE),
        ):
            if len(getattr(self, name)) > limit:
                raise InvalidArgument(
                    "text_too_long",
                    f"the widget's {name} has at most {limit} characters",
                    field=f"widget_texts.{name}",
                )


def check_texts(texts: tuple[WidgetText, ...]) -> tuple[WidgetText, ...]:
    """One entry per language, the last given winning."""
    by_language = {t.language: t for t in texts}
    return tuple(sorted(by_language.values(), key=lambda t: t.language))


def texts_of(docs: Any) -> tuple[WidgetText, ...]:
    """Stored (or given) texts as records."""
    return tuple(t if isinstance(t, WidgetText) else WidgetText(**t) for t in docs or ())


def widget_doc(site: Any) -> dict[str, Any]:
    """What the widget is told of its site in the welcome frame."""
    return {
        "color": site.widget_color,
        "position": site.widget_position,
        "avatars": site.widget_avatars,
        "prechat": {
            "name": site.prechat_name,
            "email": site.prechat_email,
            "question": site.prechat_question,
        },
        "texts": {
            t.language or "*": {"title": t.title, "greeting": t.greeting, "offline": t.offline}
            for t in site.widget_texts
        },
    }
