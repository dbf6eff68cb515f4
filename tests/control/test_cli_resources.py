"""The CLI on the resource services, against a real server: the show, update and
rename commands, refusals read from their ErrorInfo, creates made once however
often they are sent, and lists read through every page."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import orjson
import pytest

from control.cli.common import Refusal
from control.client import Client
from parley.v1 import control_pb2
from tests.control.test_cli_ops import Cli
from tests.integration.helpers import running


async def logged_in(app: Any, tmp_path: Path, who: dict[str, str]) -> Cli:
    cli = Cli(tmp_path)
    cli.env["PARLEY_SERVER"] = f"127.0.0.1:{app.grpc_port}"
    r = await cli("login", "--email", who["email"], "--password-stdin", stdin=who["password"])
    assert r.exit_code == 0, r.output
    return cli


async def test_show_update_and_rename(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.owner is not None and app.demo is not None and app.admin is not None
        cli = await logged_in(app, tmp_path, app.owner)
        site, dept, op = app.demo["site"], app.demo["department"], app.demo["operator"]

        async def ok(*args: str) -> Any:
            r = await cli("--json", *args)
            assert r.exit_code == 0, (args, r.output)
            return orjson.loads(r.stdout) if r.stdout.strip() else {}

        s = await ok(
            "site", "update", site, "--name", "Shop", "--origins",
            "https://a.example, https://b.example", "--no-typing-preview",
        )  # fmt: skip
        assert s["name"] == "Shop" and s["allowed_origins"] == [
            "https://a.example",
            "https://b.example",
        ]
        assert not s.get("typing_preview", False)
        r = await cli("site", "show", site)
        assert r.exit_code == 0, r.output
        rows = {line.split("  ")[0]: line for line in r.stdout.splitlines()}
        assert "Shop" in rows["name"] and "off" in rows["typing preview"]
        assert (await ok("site", "update", site, "--origins", ""))["name"] == "Shop"
        assert (await ok("site", "show", site)).get("allowed_origins", []) == []
        assert (await ok("site", "quota", "5", "--site", site))["quota_mb"] == 5
        r = await cli("site", "update", site)
        assert r.exit_code == 2 and "give at least one of" in r.stderr
        limits = await ok(
            "site", "update", site, "--attachment-max-kb", "512", "--attachment-quota-mb", "20"
        )
        assert (limits["attachment_max_kb"], limits["attachment_quota_mb"]) == (512, 20)
        r = await cli("site", "show", site)
        assert "512 KiB a file, 20 MiB in all" in r.stdout
        r = await cli("site", "update", site, "--attachment-max-kb", "999999")
        assert r.exit_code != 0 and "attachment_max_kb" in r.stderr

        assert (await ok("department", "show", dept))["id"] == dept
        r = await cli("department", "show", dept)
        assert r.exit_code == 0 and "offline action" in r.stdout
        # Without --site: the whole account's departments.
        assert dept in {d["id"] for d in (await ok("department", "list"))["departments"]}

        region = await ok("region", "create", "North", "--department", dept)
        assert (await ok("region", "rename", region["id"], "Nord"))["name"] == "Nord"
        group = await ok("group", "create", "Billing", "--site", site)
        assert (await ok("group", "rename", group["id"], "Invoices"))["name"] == "Invoices"
        rule = await ok("link", "add", "/billing", "--site", site, "--group", group["id"])
        moved = await ok("link", "update", rule["id"], "--pattern", "/invoices", "--position", "7")
        assert (moved["pattern"], moved["position"]) == ("/invoices", 7)
        template = await ok("template", "add", "hi", "Hello!")
        edited = await ok("template", "edit", template["id"], "--text", "Hi {visitor_name}!")
        assert (edited["shortcut"], edited["text"]) == ("hi", "Hi {visitor_name}!")

        assert (await ok("operator", "show", op))["id"] == op
        r = await cli("operator", "show", op)
        assert r.exit_code == 0 and app.demo["email"] in r.stdout and "max chats" in r.stdout
        listed = await ok("operator", "list", "--department", dept)
        assert op in {o["id"] for o in listed["operators"]}
        owner_role = await ok("role", "show", "owner")
        assert owner_role["builtin"] and "manage_roles" in owner_role["permissions"]

        # The server administrator's: an account shown and renamed.
        admin = await logged_in(app, tmp_path / "admin", app.admin)
        r = await admin("--json", "account", "create", "Acme", "--owner-email", "boss@acme.test")
        assert r.exit_code == 0, r.output
        account = orjson.loads(r.stdout)["account"]
        r = await admin("--json", "account", "rename", account["id"], "Acme Ltd")
        assert r.exit_code == 0 and orjson.loads(r.stdout)["name"] == "Acme Ltd"
        r = await admin("account", "show", account["id"])
        assert r.exit_code == 0 and "Acme Ltd" in r.stdout and "active" in r.stdout


async def test_refusals_read_from_their_error_info(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.owner is not None and app.demo is not None
        cli = await logged_in(app, tmp_path, app.owner)
        site = app.demo["site"]
        # The code from the ErrorInfo's reason, the message, the status.
        r = await cli("site", "show", "snosuchsit")
        assert r.exit_code == 1
        assert r.stderr == "error: unknown_site: no site 'snosuchsit' [NOT_FOUND]\n"
        r = await cli("site", "show", "snosuchsit", "--json")
        assert r.exit_code == 1 and r.stdout == ""
        assert orjson.loads(r.stderr) == {
            "error": {
                "code": "unknown_site",
                "reason": "UNKNOWN_SITE",
                "status": "NOT_FOUND",
                "message": "no site 'snosuchsit'",
            }
        }
        # A bad update names the field at fault, and changes nothing.
        r = await cli("site", "update", site, "--name", "x" * 70_000)
        assert r.exit_code == 1, r.output
        assert "invalid_argument" in r.stderr and "(field: site.name)" in r.stderr
        assert r.stderr.endswith("[INVALID_ARGUMENT]\n")
        r = await cli("--json", "site", "update", site, "--name", "x" * 70_000)
        error = orjson.loads(r.stderr)["error"]
        assert (error["code"], error["field"]) == ("invalid_argument", "site.name")
        r = await cli("--json", "site", "show", site)
        assert orjson.loads(r.stdout)["name"] != "x" * 70_000
        # A token the server does not take is still exit 4, with its code.
        r = await cli("site", "list", "--token", "not-a-token", "--json")
        assert r.exit_code == 4 and orjson.loads(r.stderr)["error"]["code"] == "bad_token"


def owner_client(app: Any) -> Client:
    """A client logged in as the owner (call it off the event loop)."""
    assert app.owner is not None
    address = f"127.0.0.1:{app.grpc_port}"
    login = Client(address, None)
    try:
        reply = login.call(
            login.auth.Login,
            control_pb2.LoginRequest(email=app.owner["email"], password=app.owner["password"]),
        )
    finally:
        login.close()
    return Client(address, reply.token)


def create_group(
    client: Client, site: str, name: str, request_id: str = "", timeout: float = 10.0
) -> Any:
    request = control_pb2.CreateGroupRequest(
        group=control_pb2.Group(site_id=site, name=name), request_id=request_id
    )
    made = client.create(client.groups.CreateGroup, request, timeout=timeout)
    # The one given, else a fresh one (a uuid4 in hex).
    assert len(request.request_id) == (len(request_id) if request_id else 32)
    assert request.request_id == (request_id or request.request_id)
    return made


def groups_named(client: Client, site: str, name: str) -> list[Any]:
    groups = client.list_all(
        client.groups.ListGroups, control_pb2.ListGroupsRequest(site_id=site), "groups"
    )
    return [g for g in groups.groups if g.name == name]


async def test_a_create_sent_twice_makes_one_thing(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        site = app.demo["site"]
        client = await asyncio.to_thread(owner_client, app)
        try:
            # The same request id twice (a retry whose first answer was lost): one group.
            first = await asyncio.to_thread(create_group, client, site, "Once", "cli-retry-1")
            second = await asyncio.to_thread(create_group, client, site, "Once", "cli-retry-1")
            assert first.id == second.id
            assert len(await asyncio.to_thread(groups_named, client, site, "Once")) == 1
            # The id again for another request: refused, and nothing made.
            with pytest.raises(grpc.RpcError) as caught:
                await asyncio.to_thread(create_group, client, site, "Another", "cli-retry-1")
            refusal = Refusal.of(caught.value)
            assert (refusal.code, refusal.field) == ("request_id_reused", "request_id")
            assert await asyncio.to_thread(groups_named, client, site, "Another") == []
        finally:
            client.close()


async def test_a_create_retried_after_its_deadline_makes_one_thing(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.demo is not None
        site = app.demo["site"]
        client = await asyncio.to_thread(owner_client, app)
        try:
            # A first try that runs out of time is sent again with its request id:
            # one group, whether or not the first reached the server.
            made = await asyncio.to_thread(create_group, client, site, "Twice", "", 1e-9)
            named = await asyncio.to_thread(groups_named, client, site, "Twice")
            assert [g.id for g in named] == [made.id]
        finally:
            client.close()


async def test_lists_are_read_through_every_page(tmp_path: Path) -> None:
    async with running(tmp_path) as app:
        assert app.owner is not None and app.demo is not None
        cli = await logged_in(app, tmp_path, app.owner)
        site = app.demo["site"]
        for n in range(5):
            r = await cli("group", "create", f"G{n}", "--site", site)
            assert r.exit_code == 0, r.output
        token = orjson.loads((tmp_path / "cfg" / "credentials.json").read_bytes())["token"]
        client = Client(f"127.0.0.1:{app.grpc_port}", token)

        def groups(**paging: int) -> Any:
            request = control_pb2.ListGroupsRequest(site_id=site)
            return client.list_all(client.groups.ListGroups, request, "groups", **paging)

        try:
            whole = await asyncio.to_thread(groups)
            by_two = await asyncio.to_thread(groups, page_size=2)
            assert [g.name for g in by_two.groups] == [g.name for g in whole.groups]
            assert {f"G{n}" for n in range(5)} <= {g.name for g in by_two.groups}
            assert by_two.next_page_token == ""
            three = await asyncio.to_thread(groups, page_size=2, limit=3)
            assert [g.id for g in three.groups] == [g.id for g in whole.groups[:3]]
        finally:
            client.close()
        r = await cli("group", "list", "--site", site)
        assert all(f"G{n}" in r.stdout for n in range(5))


async def test_the_widget_settings_from_the_cli(tmp_path: Path) -> None:
    """Look, pre-chat form and words per language: each language's words kept
    apart and changed one at a time; a bad value refused with its code."""
    async with running(tmp_path) as app:
        assert app.owner is not None and app.demo is not None
        cli = await logged_in(app, tmp_path, app.owner)
        site = app.demo["site"]

        async def ok(*args: str) -> Any:
            r = await cli("--json", *args)
            assert r.exit_code == 0, (args, r.output)
            return orjson.loads(r.stdout)

        s = await ok("site", "update", site, "--color", "#0A7D5A", "--position", "left",
                     "--no-avatars", "--prechat-name", "required")  # fmt: skip
        assert (s["widget_color"], s["widget_position"]) == ("#0a7d5a", "left")
        assert (s.get("widget_avatars", False), s["prechat_name"]) == (False, "required")
        await ok("site", "update", site, "--title", "Acme help")
        await ok("site", "update", site, "--lang", "de", "--title", "Acme-Hilfe")
        s = await ok("site", "update", site, "--lang", "de", "--greeting", "Willkommen.")
        assert s["widget_texts"] == [
            {"title": "Acme help"},
            {"language": "de", "title": "Acme-Hilfe", "greeting": "Willkommen."},
        ]
        r = await cli("site", "show", site)
        assert "words (de)" in r.stdout and "title: Acme-Hilfe; greeting: Willkommen." in r.stdout
        for args, code in (
            (("--color", "red"), "bad_color"),
            (("--lang", "xx", "--title", "Hi"), "unknown_language"),
            (("--lang", "de", "--title", "x" * 61), "text_too_long"),
        ):
            r = await cli("--json", "site", "update", site, *args)
            assert r.exit_code == 1, r.output
            assert orjson.loads(r.stderr)["error"]["code"] == code
        r = await cli("site", "update", site, "--prechat-email", "sometimes")
        assert r.exit_code == 2  # not one of off, optional, required
        assert (await ok("site", "show", site))["widget_color"] == "#0a7d5a"
