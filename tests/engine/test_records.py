"""The configuration records' validators (``engine/chat/records.py``): each bad
value is refused with a message naming the field, good values are tidied, and
every record survives its stored document."""

from __future__ import annotations

from typing import Any

import pytest

from engine.chat.records import (
    Block,
    Department,
    Group,
    LinkRule,
    Operator,
    Region,
    Site,
    Template,
    check_languages,
    check_origin,
    language_of,
)
from engine.errors import InvalidArgument


def refused(make: Any, *words: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        make()
    for word in words:
        assert word in info.value.message, (word, info.value.message)


def operator(**kw: Any) -> Operator:
    fields: dict[str, Any] = {
        "id": "o1",
        "account_id": "a1",
        "email": "ana@acme.test",
        "display_name": "Ana",
        "role": "operator",
        "password_hash": "",
    }
    return Operator(**{**fields, **kw})


def test_languages() -> None:
    assert language_of("en-US") == "en"
    assert language_of("PT_br") == "pt"
    assert language_of("") == language_of("english") == language_of("e1") == ""
    assert check_languages(["en", "de", "en"]) == ("en", "de")
    refused(lambda: check_languages(["EN"]), "language 'EN'")
    refused(lambda: check_languages(["english"]), "2-3 letter code")


def test_origins_are_scheme_host_and_port_only() -> None:
    assert check_origin("HTTPS://Shop.Example/") == "https://shop.example"
    assert check_origin("http://localhost:8080") == "http://localhost:8080"
    for bad in ("shop.example", "ftp://shop.example", "https://", "javascript:alert(1)"):
        refused(lambda bad=bad: check_origin(bad), "https://host[:port]")
    for bad in ("https://shop.example/path", "https://u@shop.example", "https://a.example?x=1"):
        refused(lambda bad=bad: check_origin(bad), "no path, query or user")


def test_site() -> None:
    site = Site("s1", "a1", "Shop", ("https://Shop.Example/",), languages=("en", "en"))
    assert site.allowed_origins == ("https://shop.example",)
    assert site.languages == ("en",)
    assert site.language_enabled("en") and not site.language_enabled("de")
    assert Site("s1", "a1", "Shop").language_enabled("de")  # no list: every language
    assert Site.from_doc(site.to_doc()) == site
    refused(lambda: Site("s1", "a1", " "), "site name")
    refused(lambda: Site("s1", "a1", "x" * 201), "site name is longer than 200")
    refused(lambda: Site("s1", "a1", "Shop", timezone="Nowhere/Town"), "timezone")
    refused(lambda: Site("s1", "a1", "Shop", ("shop",)), "allowed origin")


def test_department() -> None:
    dept = Department("d1", "s1", "Support", hours="MON 09:00-17:00", timezone="Europe/Oslo")
    assert dept.hours == "mon 09:00-17:00"
    assert Department.from_doc(dept.to_doc()) == dept
    refused(lambda: Department("d1", "s1", ""), "department name")
    refused(lambda: Department("d1", "s1", "S", description="x" * 2001), "description")
    refused(lambda: Department("d1", "s1", "S", hours="someday"), "must look like")
    refused(lambda: Department("d1", "s1", "S", timezone="Mars/Base"), "timezone")
    refused(lambda: Department("d1", "s1", "S", max_wait_seconds=-1), "max_wait_seconds")
    refused(lambda: Department("d1", "s1", "S", offline_seconds=86_401), "offline_seconds")
    refused(lambda: Department("d1", "s1", "S", offer_seconds=4), "offer_seconds must be 5-600")
    refused(lambda: Department("d1", "s1", "S", offer_seconds=601), "offer_seconds")
    refused(lambda: Department("d1", "s1", "S", offline_action="drop"), "offline_action")
    refused(lambda: Department("d1", "s1", "S", fallback_department_id="d1"), "itself")


def test_operator() -> None:
    op = operator(languages=("en", "de"), schedule="Sat 10:00-12:00", department_ids=("d1",))
    assert op.schedule == "sat 10:00-12:00"
    assert Operator.from_doc(op.to_doc()) == op
    assert "password_hash" not in repr(operator(password_hash="$argon2id$secret"))
    refused(lambda: operator(email="ana"), "email 'ana'")
    refused(lambda: operator(email="a b@acme.test"), "is not an address")
    refused(lambda: operator(display_name=""), "display name")
    refused(lambda: operator(role="Boss!"), "role")
    refused(lambda: operator(max_chats=-1), "max chats")
    refused(lambda: operator(max_chats=1001), "max chats")
    refused(lambda: operator(avatar_url="http://img.test/a.png"), "https URL")
    refused(lambda: operator(avatar_url="https://" + "x" * 500), "https URL")
    refused(lambda: operator(timezone="Mars/Base"), "timezone")
    refused(lambda: operator(languages=("english",)), "language")
    refused(lambda: operator(schedule="always"), "must look like")
    assert operator(avatar_url="https://img.test/a.png").avatar_url


def test_regions_groups_and_link_rules() -> None:
    refused(lambda: Region("r1", "d1", ""), "region name")
    refused(lambda: Group("g1", "s1", " "), "group name")
    rule = LinkRule("l1", "s1", r"/pricing(/|$)", "g1", 3)
    assert rule.matches("https://shop.test/pricing") and not rule.matches("https://shop.test/")
    refused(lambda: LinkRule("l1", "s1", "", "g1"), "URL pattern is 1 to 500")
    refused(lambda: LinkRule("l1", "s1", "x" * 501, "g1"), "URL pattern is 1 to 500")
    refused(lambda: LinkRule("l1", "s1", "(", "g1"), "does not compile")
    refused(lambda: LinkRule("l1", "s1", "x", "g1", -1), "position")


def test_templates() -> None:
    refused(lambda: Template("t1", "a1", "", "Hi!", "x"), "shortcut")
    refused(lambda: Template("t1", "a1", "", "-hi", "x"), "shortcut")
    refused(lambda: Template("t1", "a1", "", "hi", " "), "1 to 4000")
    refused(lambda: Template("t1", "a1", "", "hi", "x" * 4001), "1 to 4000")
    refused(lambda: Template("t1", "a1", "", "hi", "{nope} {name}"), "{name}, {nope}")
    assert Template("t1", "a1", "", "hi", "Hi {visitor_name}").render({}) == "Hi {visitor_name}"


def test_unknown_placeholders_are_refused_but_known_ones_render() -> None:
    t = Template("t1", "a1", "o1", "hi", "Hello {visitor_name}, {operator_name} here")
    assert t.render({"visitor_name": "Bo", "operator_name": "Ana"}) == "Hello Bo, Ana here"


def test_blocks() -> None:
    net = Block("b1", "s1", "ip", "10.1.2.3/16", "spam", 0)
    assert net.value == "10.1.0.0/16"
    assert net.matches("10.1.200.1", "", 5) and not net.matches("10.2.0.1", "", 5)
    assert not net.matches("not an ip", "", 5)
    later = Block("b2", "s1", "ip", "2001:db8::1", "", 0, expires_ms=10)
    assert later.matches("2001:db8::1", "", 9) and not later.matches("2001:db8::1", "", 10)
    visitor = Block("b3", "s1", "visitor", "vabcdefghijklmno", "", 0)
    assert visitor.matches("", "vabcdefghijklmno", 0) and not visitor.matches("", "vother", 0)
    refused(lambda: Block("b", "s1", "ip", "10.0.0.300", "", 0), "not an address or network")
    refused(lambda: Block("b", "s1", "ip", "0.0.0.0/0", "", 0), "/8 or smaller")
    assert Block("b", "s1", "ip", "10.0.0.0/8", "", 0).value == "10.0.0.0/8"
    refused(lambda: Block("b", "s1", "visitor", "v1", "", 0), "not a visitor id")
    refused(lambda: Block("b", "s1", "email", "x", "", 0), "of an ip or a visitor")
    refused(lambda: Block("b", "s1", "ip", "10.0.0.1", "x" * 501, 0), "500")
