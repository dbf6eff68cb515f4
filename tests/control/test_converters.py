"""The pure conversions of ``control/converters.py``: every engine event has
its protobuf on the side that receives it, and records reach their messages
field by field."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from control import converters
from engine.chat import events, records
from engine.chat.messages import VisitorInfo
from parley.v1 import common_pb2, operator_pb2
from tests.samples import EVENTS, OPERATOR_ONLY, VISITOR_ONLY, sample


def test_every_operator_event_has_its_own_protobuf() -> None:
    kinds = {}
    for cls in EVENTS:
        if cls in VISITOR_ONLY:
            with pytest.raises(ValueError):
                converters.operator_event(sample(cls))
            continue
        kinds[cls.__name__] = converters.operator_event(sample(cls)).WhichOneof("event")
    assert None not in kinds.values(), kinds
    assert len(set(kinds.values())) == len(kinds) == len(EVENTS) - len(VISITOR_ONLY)


def test_every_visitor_event_has_its_own_protobuf() -> None:
    kinds = {}
    for cls in EVENTS:
        if cls in OPERATOR_ONLY:
            with pytest.raises(ValueError):
                converters.visitor_event(sample(cls))
            continue
        kinds[cls.__name__] = converters.visitor_event(sample(cls)).WhichOneof("event")
    assert None not in kinds.values(), kinds
    assert len(set(kinds.values())) == len(kinds) == len(EVENTS) - len(OPERATOR_ONLY)


def test_a_batch_writes_the_same_events_as_one_by_one() -> None:
    """Messages and acks take a fast path into the batch; it must agree with
    the general conversion, and ready protobuf events pass through."""
    ready = operator_pb2.OperatorEvent(unlisted=operator_pb2.ChatUnlisted(conversation_id="c9"))
    items: list[Any] = [sample(cls) for cls in EVENTS if cls not in VISITOR_ONLY]
    batch = operator_pb2.OperatorEventBatch()
    converters.add_operator_events(batch, [*items, ready])
    assert list(batch.events) == [*(converters.operator_event(e) for e in items), ready]


def test_a_message_keeps_every_field() -> None:
    for kind, number in converters.AUTHOR_KINDS.items():
        e = events.MessageEvent("c1", 7, kind, "o1", "Ana", "hi", "m1", 1234)
        pb = converters.message_pb(e)
        assert (pb.conversation_id, pb.seq, pb.author_kind, pb.author_id) == ("c1", 7, number, "o1")
        assert (pb.author_name, pb.text, pb.client_msg_id, pb.sent_at_ms) == (
            "Ana",
            "hi",
            "m1",
            1234,
        )
    assert set(converters.AUTHOR_KINDS.values()) == set(common_pb2.AuthorKind.values()) - {0}
    error = converters.error_pb(events.CommandFailed("busy", "later", True, "m1", "c1"))
    assert (error.code, error.message, error.retryable, error.client_msg_id) == (
        "busy",
        "later",
        True,
        "m1",
    )


def test_a_card_carries_its_operators() -> None:
    card = sample(events.ChatCard)._replace(operators=("o1", "o2"), invisible=("o3",))
    pb = converters.card_pb(card)
    assert list(pb.operator_ids) == ["o1", "o2"]
    assert list(pb.invisible_operator_ids) == ["o3"]
    renamed = {"operators", "invisible"}
    not_sent = {"first_response_ms"}  # statistics read it from the board, not the card
    for name in set(events.ChatCard._fields) - renamed - not_sent:
        assert getattr(pb, name) == getattr(card, name), name


def test_departments_for_the_widget() -> None:
    state = sample(events.Departments)
    pb = converters.departments_pb(state)
    (dept,) = pb.departments
    assert (dept.department_id, dept.name, dept.online) == ("x1", "x1", True)
    assert [(r.region_id, r.name, r.online) for r in dept.regions] == [("x1", "x1", True)]
    assert (pb.chosen_department_id, pb.offline) == ("x1", True)


OPERATOR = records.Operator(
    "o1", "a1", "ana@acme.test", "Ana", "admin", "$argon2id$secret", ("d1",), 4,
    "https://img.test/a.png", ("en",), ("r1",), ("g1",), "mon 09:00-17:00", "Europe/Oslo",
    False, False,
)  # fmt: skip
RECORDS: list[tuple[Any, Any, set[str]]] = [
    # (record, its protobuf, fields the record keeps to itself)
    (records.Site("s1", "a1", "Shop", ("https://shop.test",), "Europe/Oslo", False, ("en",)),
     converters.site_pb, set()),
    (records.Department("d1", "s1", "Support", "help", False, "mon 09:00-17:00", "UTC", 60,
                        "d2", 20, "forward", 120), converters.department_pb, set()),
    (records.Region("r1", "d1", "North"), converters.region_pb, set()),
    (records.Group("g1", "s1", "VIP"), converters.group_pb, set()),
    (records.LinkRule("l1", "s1", "/pricing", "g1", 2), converters.link_pb, set()),
    (records.Ticket("t1", "s1", "d1", "v1", "Olga", "o@x.test", "call me", 5, "en", "https://x"),
     converters.ticket_pb, set()),
    (OPERATOR, converters.operator_pb, {"password_hash"}),
    (records.Template("t1", "a1", "o1", "hi", "Hello"), converters.template_pb, {"account_id"}),
    (records.Block("b1", "s1", "ip", "10.0.0.0/8", "spam", 5, 9), converters.block_pb, set()),
]  # fmt: skip


@pytest.mark.parametrize(("record", "convert", "private"), RECORDS)
def test_records_reach_their_messages_field_by_field(
    record: Any, convert: Any, private: set[str]
) -> None:
    pb = convert(record)
    for f in dataclasses.fields(record):
        if f.name in private:
            assert f.name not in type(pb).DESCRIPTOR.fields_by_name
            continue
        value = getattr(record, f.name)
        if value is None:  # unset in the record: an optional field left out
            assert not pb.HasField(f.name), f.name
            continue
        got = getattr(pb, f.name)
        assert (list(got) if isinstance(value, tuple) else got) == (
            list(value) if isinstance(value, tuple) else value
        ), f.name


def test_an_operator_shows_its_status_and_never_its_password() -> None:
    assert converters.operator_pb(OPERATOR).status == "offline"
    assert not converters.operator_pb(OPERATOR).online
    away = converters.operator_pb(OPERATOR, "away")
    assert away.online and away.status == "away"
    assert "argon2" not in str(converters.operator_pb(OPERATOR))
    template = records.Template("t1", "a1", "", "hi", "Hi {visitor_name}")
    assert converters.template_pb(template).rendered == ""
    assert converters.template_pb(template, {"visitor_name": "Bo"}).rendered == "Hi Bo"


def test_visitor_info_reads_the_user_agent() -> None:
    info = VisitorInfo(
        visitor_id="v1",
        site_id="s1",
        name="Bo",
        email="",
        visits=2,
        first_seen_ms=1,
        last_seen_ms=5,
        ip="192.0.2.1",
        user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"
        " (KHTML, like Gecko)"
        " Chrome/120.0.0.0 Safari/537.36",
        referrer="https://search.test/",
        language="en",
        tz_offset_minutes=60,
        pages=(("https://shop.test/", "Shop", 5),),
        conversation_ids=("c1",),
    )
    pb = converters.visitor_info_pb(info, now_ms=1_000)
    assert (pb.browser, pb.os) == ("Chrome 120", "Windows 10")
    assert pb.local_time_ms == 1_000 + 3_600_000
    assert [(p.url, p.title, p.at_ms) for p in pb.pages] == [("https://shop.test/", "Shop", 5)]
    assert list(pb.conversation_ids) == ["c1"]
    bare = converters.visitor_info_pb(dataclasses.replace(info, user_agent=""), now_ms=0)
    assert (bare.browser, bare.os) == ("", "")


def test_a_direct_message_keeps_both_ends() -> None:
    e = events.DirectMessage("p1", 3, "o1", "Ana", "o2", "hi", "m1", 9)
    pb = converters.direct_pb(e)
    assert (pb.pair_id, pb.seq, pb.from_operator_id, pb.from_name) == ("p1", 3, "o1", "Ana")
    assert (pb.to_operator_id, pb.text, pb.client_msg_id, pb.sent_at_ms) == ("o2", "hi", "m1", 9)
