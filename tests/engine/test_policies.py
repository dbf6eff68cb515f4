"""The assignment rules and message checks in ``engine/chat/policies.py``, as
plain functions over plain data."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.chat.policies import (
    MAX_CLIENT_MSG_ID,
    MAX_TEXT,
    Candidate,
    Want,
    check_client_msg_id,
    check_text,
    choose_operator,
    eligible,
)


def op(name: str, load: int = 0, idle: float = 0.0, **kw: object) -> Candidate:
    return Candidate(name, load, kw.pop("max_chats", 2), idle, **kw)  # type: ignore[arg-type]


def test_eligible_needs_room_distribution_language_region_and_no_refusal() -> None:
    assert eligible(op("a"), Want())
    assert not eligible(op("a", load=2), Want())  # at its limit
    assert not eligible(op("a", auto_distribution=False), Want())
    assert eligible(op("a", auto_distribution=False), Want(), picked=True)  # picking by hand
    assert not eligible(op("a", load=2), Want(), picked=True)  # never past the limit
    assert eligible(op("a"), Want(language="de"))  # no languages: takes any
    assert eligible(op("a", languages=("de", "en")), Want(language="de"))
    assert not eligible(op("a", languages=("en",)), Want(language="de"))
    assert eligible(op("a", languages=("en",)), Want())  # the chat asks no language
    assert not eligible(op("a"), Want(region_id="north"))  # no region: serves none
    assert eligible(op("a", region_ids=("north",)), Want(region_id="north"))
    assert not eligible(op("a"), Want(excluded=frozenset({"a"})))


def test_least_loaded_then_longest_idle_then_id() -> None:
    assert choose_operator([]) is None
    assert choose_operator([op("a", load=2)]) is None
    chosen = choose_operator([op("b", load=1, idle=1.0), op("a", load=0, idle=9.0)])
    assert chosen is not None and chosen.operator_id == "a"  # load first
    chosen = choose_operator([op("b", idle=5.0), op("a", idle=7.0)])
    assert chosen is not None and chosen.operator_id == "b"  # idle since earlier
    chosen = choose_operator([op("b", idle=5.0), op("a", idle=5.0)])
    assert chosen is not None and chosen.operator_id == "a"  # then the id


def test_the_last_operator_comes_first_then_the_group() -> None:
    team = [op("a"), op("b", load=1, group_ids=("vip",)), op("c", load=1)]
    chosen = choose_operator(team, Want(preferred_operator_id="c"))
    assert chosen is not None and chosen.operator_id == "c"
    chosen = choose_operator(team, Want(group_id="vip"))
    assert chosen is not None and chosen.operator_id == "b"  # in the group beats load
    chosen = choose_operator(team, Want(group_id="vip", preferred_operator_id="c"))
    assert chosen is not None and chosen.operator_id == "c"
    # A preferred operator who may not take it is passed over.
    full = [op("a"), op("c", load=2)]
    chosen = choose_operator(full, Want(preferred_operator_id="c"))
    assert chosen is not None and chosen.operator_id == "a"
    # Nobody of the group: the others still serve.
    chosen = choose_operator([op("a")], Want(group_id="vip"))
    assert chosen is not None and chosen.operator_id == "a"


candidates = st.lists(
    st.builds(
        Candidate,
        operator_id=st.sampled_from("abcdef"),
        load=st.integers(0, 3),
        max_chats=st.integers(0, 3),
        idle_since=st.floats(0, 100),
        languages=st.sampled_from([(), ("en",), ("de", "en")]),
        region_ids=st.sampled_from([(), ("n",)]),
        group_ids=st.sampled_from([(), ("g",)]),
        auto_distribution=st.booleans(),
    ),
    max_size=6,
)
wants = st.builds(
    Want,
    language=st.sampled_from(["", "en", "de"]),
    region_id=st.sampled_from(["", "n"]),
    group_id=st.sampled_from(["", "g"]),
    preferred_operator_id=st.sampled_from(["", "a", "b"]),
    excluded=st.frozensets(st.sampled_from("abc"), max_size=2),
)


@given(candidates, wants)
def test_the_choice_is_eligible_and_none_only_when_nobody_is(
    team: list[Candidate], want: Want
) -> None:
    chosen = choose_operator(team, want)
    able = [c for c in team if eligible(c, want)]
    if chosen is None:
        assert not able
        return
    assert eligible(chosen, want)
    if any(c.operator_id == want.preferred_operator_id for c in able):
        assert chosen.operator_id == want.preferred_operator_id
    if not (want.preferred_operator_id and chosen.operator_id == want.preferred_operator_id):
        in_group = [c for c in able if want.group_id and want.group_id in c.group_ids]
        pool = in_group or able
        assert chosen in pool
        best = min((c.load, c.idle_since, c.operator_id) for c in pool)
        assert (chosen.load, chosen.idle_since, chosen.operator_id) == best


def test_message_checks() -> None:
    assert check_text("hi") is None
    assert check_text("") == "empty_message"
    assert check_text(" \n\t") == "empty_message"
    assert check_text("x" * MAX_TEXT) is None
    assert check_text("x" * (MAX_TEXT + 1)) == "message_too_long"
    assert check_client_msg_id("c1") is None
    assert check_client_msg_id("") == "bad_client_msg_id"
    assert check_client_msg_id("x" * MAX_CLIENT_MSG_ID) is None
    assert check_client_msg_id("x" * (MAX_CLIENT_MSG_ID + 1)) == "bad_client_msg_id"
