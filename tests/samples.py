"""Every engine event, built from its type hints, for tests that must cover all
of them: a new event in ``engine/chat/events.py`` shows up here by itself, and
fails those tests until it has its frame and its protobuf."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from engine.chat import events

EVENTS: tuple[type, ...] = typing.get_args(events.Event)

# Who receives each kind; a new event must be put in one of these (or both).
OPERATOR_ONLY = frozenset(
    {
        events.Assigned,
        events.Offered,
        events.OfferWithdrawn,
        events.OperatorPresence,
        events.ChatListed,
        events.ChatUnlisted,
        events.DirectMessage,
        events.VisitorsOnline,
    }
)
VISITOR_ONLY = frozenset(
    {
        events.Queued,
        events.OperatorJoined,
        events.Departments,
        events.TicketSaved,
        events.Invitation,
        events.PrechatSaved,
    }
)

_PLAIN: dict[Any, Any] = {str: "x1", int: 3, bool: True, float: 1.5}
_FIELDS = {"author_kind": "operator", "reader_kind": "visitor"}  # values from a fixed set


def sample_of(hint: Any) -> Any:
    """A value of the type ``hint``: plain values, tuples and frozensets of one
    sample, and NamedTuples filled field by field."""
    if hint in _PLAIN:
        return _PLAIN[hint]
    origin = typing.get_origin(hint)
    if origin is tuple:
        return (sample_of(typing.get_args(hint)[0]),)
    if origin is frozenset:
        return frozenset({sample_of(typing.get_args(hint)[0])})
    if origin in (typing.Union, types.UnionType):
        return sample_of(typing.get_args(hint)[0])
    if isinstance(hint, type) and (hasattr(hint, "_fields") or dataclasses.is_dataclass(hint)):
        return sample(hint)
    raise TypeError(f"no sample for {hint!r}")


def sample(cls: type) -> Any:
    """An instance of the NamedTuple or dataclass ``cls`` with every field set."""
    hints = typing.get_type_hints(cls)
    names = getattr(cls, "_fields", None) or [f.name for f in dataclasses.fields(cls)]
    return cls(**{name: _FIELDS.get(name) or sample_of(hints[name]) for name in names})
