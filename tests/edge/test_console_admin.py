"""The console's Settings and Reports pages in Chromium against a real server:
an admin creates a site, a department, an operator, a role and a block through
the pages and gRPC sees each; an edit sends only the fields it changed (a
colleague's change to another field survives it); refusals (a taken name, a
permission beyond one's own, a department in use) are said next to the field
or in the dialog; an operator's role sees neither page; the Reports page shows
figures worked out by hand for chats on a fake clock, opens History with the
chats behind a figure, downloads CSV, and says when the server keeps no
history. With PARLEY_SHOTS=1, screenshots go to
/tmp/console-shots/admin-*.png."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.protobuf.field_mask_pb2 import FieldMask
from playwright.async_api import Locator, Page, expect

from engine.runtime import FakeClock
from parley.v1 import control_pb2 as pb
from tests.edge.test_console import LAPTOP, PHONE, axe_finds_nothing_serious, shot
from tests.edge.test_widget import attached, watch_errors
from tests.integration.helpers import Operator, owner, running
from tests.integration.test_history import indexed
from tests.integration.test_reports import _close, heard
from tests.integration.test_routing import advance, chat_up, staff


async def signed_in(
    browser: Any, app: Any, email: str, password: str, options: dict[str, Any] | None = None
) -> tuple[Page, list[str]]:
    """A console signed in as ``email``, its role read (the pages it may see
    drawn), and the script errors it meets."""
    settings = {**LAPTOP, "locale": "en-US", "color_scheme": "light", **(options or {})}
    context = await browser.new_context(**settings)
    page: Page = await context.new_page()
    errors = watch_errors(page)
    await page.goto(f"http://127.0.0.1:{app.http_port}/console")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("#sign-in")
    await expect(page.locator("#me")).not_to_have_text("")
    # Every role here may see tickets: the button is no longer hidden once the
    # role is read (on a phone it sits in the closed menu, so not yet visible).
    await expect(page.locator("#page-tickets")).not_to_have_attribute("hidden", "")
    return page, errors


async def go_to(page: Page, name: str) -> None:
    """Open a page from the pages nav, through the menu where the top bar is
    compact (a phone)."""
    if await page.locator("#menu-toggle").is_visible():
        await page.click("#menu-toggle")
    await page.click(f"#page-{name}")


def boss_login(app: Any) -> tuple[str, str]:
    assert app.owner is not None
    return app.owner["email"], app.owner["password"]


def problem_of(dialog: Locator, field: str) -> Locator:
    """The words said under a form's field."""
    return dialog.locator(f"[id^='f-{field}-'][id$='-problem']")


async def fill_form(page: Page, values: dict[str, str]) -> None:
    dialog = page.locator("dialog.dlg")
    for label, value in values.items():
        await dialog.get_by_label(label, exact=True).fill(value)


async def test_an_admin_configures_the_account(tmp_path: Path, chromium_cdp: str) -> None:
    async with running(tmp_path, history=True) as app, attached(chromium_cdp) as browser:
        assert app.demo is not None
        boss = await owner(app)
        md = boss.metadata
        page, errors = await signed_in(browser, app, *boss_login(app))
        await page.keyboard.press("Alt+S")
        await expect(page.locator("#admin-page")).to_be_visible()
        await expect(page.locator("#lists")).to_be_hidden()
        tabs = page.locator("#admin-tabs button")
        await expect(tabs).to_have_text(
            [
                "Sites",
                "Departments",
                "Operators",
                "Roles",
                "Regions",
                "Groups",
                "Link rules",
                "Quick replies",
                "Blocks",
                "Email",
                "Webhooks",
            ]
        )
        table = page.locator("#admin-body table")
        await expect(table.locator("tbody tr")).to_have_count(1)  # the demo site
        dialog = page.locator("dialog.dlg")

        # A new site; gRPC sees it as typed.
        await page.click("#admin-new")
        await fill_form(page, {"Name": "Second shop", "Timezone": "Europe/Berlin"})
        await dialog.get_by_label("Allowed origins").fill(
            "https://second.example\nhttps://www.second.example"
        )
        await dialog.get_by_role("button", name="Create").click()
        await expect(dialog).to_have_count(0)
        await expect(page.locator("#admin-status")).to_have_text("Created.")
        await expect(table.locator("tbody tr", has_text="Second shop")).to_have_count(1)
        sites = (await boss.api.sites.ListSites(pb.ListSitesRequest(), metadata=md)).sites
        second = next(s for s in sites if s.name == "Second shop")
        assert list(second.allowed_origins) == [
            "https://second.example",
            "https://www.second.example",
        ]
        assert second.timezone == "Europe/Berlin"

        # A taken name: the refusal is said next to the field, nothing typed is lost.
        demo_site = next(s for s in sites if s.id == app.demo["site"])
        await page.click("#admin-new")
        await fill_form(page, {"Name": demo_site.name})
        await dialog.get_by_role("button", name="Create").click()
        name_box = dialog.get_by_label("Name", exact=True)
        await expect(name_box).to_have_attribute("aria-invalid", "true")
        await expect(problem_of(dialog, "name")).to_have_text("That name is taken already.")
        await expect(name_box).to_have_value(demo_site.name)
        await expect(name_box).to_be_focused()
        await shot(page, "admin-1-refusal-next-to-the-field")
        await dialog.get_by_role("button", name="Cancel").click()

        # An edit sends only what changed: a colleague's new timezone, set while
        # the form is open, survives renaming the site.
        await (
            table.locator("tbody tr", has_text="Second shop")
            .get_by_role("button", name="Edit")
            .click()
        )
        await boss.api.sites.UpdateSite(
            pb.UpdateSiteRequest(
                site=pb.Site(id=second.id, timezone="Asia/Tokyo"),
                update_mask=FieldMask(paths=["timezone"]),
            ),
            metadata=md,
        )
        await fill_form(page, {"Name": "Second store"})
        await dialog.get_by_role("button", name="Save").click()
        await expect(page.locator("#admin-status")).to_have_text("Saved.")
        got = await boss.api.sites.GetSite(pb.GetSiteRequest(site_id=second.id), metadata=md)
        assert (got.name, got.timezone) == ("Second store", "Asia/Tokyo")
        assert list(got.allowed_origins) == ["https://second.example", "https://www.second.example"]

        # A department of the new site.
        await tabs.get_by_text("Departments").click()
        await page.select_option("#admin-site", second.id)
        await expect(page.locator("#admin-body .empty")).to_have_text("Nothing here yet.")
        await page.click("#admin-new")
        await fill_form(page, {"Name": "Billing", "Description": "Invoices and refunds"})
        await dialog.get_by_role("button", name="Create").click()
        await expect(table.locator("tbody tr", has_text="Billing")).to_have_count(1)
        depts = await boss.api.departments.ListDepartments(
            pb.ListDepartmentsRequest(site_id=second.id), metadata=md
        )
        assert [(d.name, d.description) for d in depts.departments] == [
            ("Billing", "Invoices and refunds")
        ]
        billing = depts.departments[0].id

        # Deleting a department operators serve is refused, in words, in the dialog.
        await page.select_option("#admin-site", app.demo["site"])
        demo_row = table.locator("tbody tr").first
        await demo_row.get_by_role("button", name="Delete").click()
        await dialog.get_by_role("button", name="Delete").click()
        await expect(dialog.locator(".error")).to_have_text(re.compile(r"^Still in use: "))
        await dialog.get_by_role("button", name="Cancel").click()
        assert (
            await boss.api.departments.GetDepartment(
                pb.GetDepartmentRequest(department_id=app.demo["department"]), metadata=md
            )
        ).id

        # An operator with a first password, a role, a department and a limit.
        await tabs.get_by_text("Operators").click()
        await page.click("#admin-new")
        await fill_form(
            page,
            {
                "Email (login)": "bea@example.com",
                "First password": "short",
                "Name visitors see": "Bea",
                "Chats at once": "3",
            },
        )
        await dialog.get_by_label("Billing · Second store").check()
        await dialog.get_by_role("button", name="Create").click()
        await expect(problem_of(dialog, "password")).to_have_text(
            re.compile(r"^Too weak: .*characters")
        )
        await fill_form(page, {"First password": "a long first password"})
        await dialog.get_by_role("button", name="Create").click()
        await expect(dialog).to_have_count(0)
        bea_row = table.locator("tbody tr", has_text="bea@example.com")
        await expect(bea_row).to_have_count(1)
        ops = (
            await boss.api.operators.ListOperators(pb.ListOperatorsRequest(), metadata=md)
        ).operators
        bea = next(o for o in ops if o.email == "bea@example.com")
        assert (bea.display_name, bea.role, list(bea.department_ids), bea.max_chats) == (
            "Bea",
            "operator",
            [billing],
            3,
        )
        await Operator(app).login("bea@example.com", "a long first password")

        # Editing her: only the limit and the disabled flag go, then a new password.
        await bea_row.get_by_role("button", name="Edit").click()
        await fill_form(page, {"Chats at once": "4"})
        await dialog.get_by_label("Disabled (cannot sign in)").check()
        await shot(page, "admin-2-operator-form")
        await dialog.get_by_role("button", name="Save").click()
        await expect(page.locator("#admin-status")).to_have_text("Saved.")
        bea = await boss.api.operators.GetOperator(
            pb.GetOperatorRequest(operator_id=bea.id), metadata=md
        )
        assert (bea.max_chats, bea.disabled, bea.display_name) == (4, True, "Bea")
        await bea_row.get_by_role("button", name="Reset password").click()
        await fill_form(page, {"New password": "another long password"})
        await dialog.get_by_role("button", name="Create").click()
        await expect(page.locator("#admin-status")).to_have_text("Saved.")

        # A custom role from checkboxes.
        await tabs.get_by_text("Roles").click()
        await page.click("#admin-new")
        await fill_form(page, {"Role name (a-z, 0-9, _ and -)": "trainee"})
        for permission in ("chat", "self", "view_history"):
            await dialog.get_by_label(permission, exact=True).check()
        await dialog.get_by_role("button", name="Create").click()
        await expect(table.locator("tbody tr", has_text="trainee")).to_have_count(1)
        role = await boss.api.roles.GetRole(pb.GetRoleRequest(name="trainee"), metadata=md)
        assert sorted(role.permissions) == ["chat", "self", "view_history"]

        # A block, then lifted.
        await tabs.get_by_text("Blocks").click()
        await page.select_option("#admin-site", app.demo["site"])
        await page.click("#admin-new")
        await fill_form(page, {"Value": "203.0.113.0/24", "Reason": "spam"})
        await dialog.get_by_role("button", name="Create").click()
        block_row = table.locator("tbody tr", has_text="203.0.113.0/24")
        await expect(block_row).to_have_count(1)
        blocks = await boss.api.blocks.ListBlocks(
            pb.ListBlocksRequest(site_id=app.demo["site"]), metadata=md
        )
        assert [(b.kind, b.value, b.reason) for b in blocks.blocks] == [
            ("ip", "203.0.113.0/24", "spam")
        ]
        await shot(page, "admin-3-blocks")
        await axe_finds_nothing_serious(page)
        await block_row.get_by_role("button", name="Lift").click()
        await dialog.get_by_role("button", name="Lift").click()
        await expect(page.locator("#admin-body .empty")).to_be_visible()
        blocks = await boss.api.blocks.ListBlocks(
            pb.ListBlocksRequest(site_id=app.demo["site"]), metadata=md
        )
        assert list(blocks.blocks) == []
        assert errors == [], errors


async def test_roles_see_only_what_they_may(tmp_path: Path, chromium_cdp: str) -> None:
    async with running(tmp_path, history=True) as app, attached(chromium_cdp) as browser:
        assert app.demo is not None
        boss = await owner(app)
        md = boss.metadata
        held = ["chat", "self", "view_config", "view_operators", "view_tickets", "manage_roles"]
        await boss.api.roles.CreateRole(
            pb.CreateRoleRequest(role=pb.Role(name="keeper", permissions=held)), metadata=md
        )
        await boss.api.operators.CreateOperator(
            pb.CreateOperatorRequest(
                operator=pb.Operator(email="kim@example.com", display_name="Kim", role="keeper"),
                password="a long password",
            ),
            metadata=md,
        )
        german_dark = {"locale": "de-DE", "color_scheme": "dark"}
        page, errors = await signed_in(
            browser, app, "kim@example.com", "a long password", german_dark
        )
        await expect(page.locator("#page-admin")).to_have_text("Einstellungen")
        await expect(page.locator("#page-reports")).to_be_hidden()
        await page.click("#page-admin")
        await expect(page.locator("#admin-tabs button")).to_have_text(["Rollen"])
        await page.click("#admin-new")
        dialog = page.locator("dialog.dlg")
        await dialog.get_by_label("Rollenname (a-z, 0-9, _ und -)").fill("helper")
        audit = dialog.get_by_role("checkbox", name=re.compile(r"^view_audit"))
        await expect(audit.locator("xpath=..")).to_contain_text("haben Sie selbst nicht")
        await dialog.get_by_label("chat", exact=True).check()
        await audit.check()
        await dialog.get_by_role("button", name="Anlegen").click()
        await expect(problem_of(dialog, "permissions")).to_have_text(
            re.compile(r"^Ihre Rolle erlaubt das nicht\. \(.*view_audit")
        )
        await expect(dialog.locator("[role=group][aria-invalid=true]")).to_have_count(1)
        await shot(page, "admin-4-beyond-ones-own-de-dark")
        await axe_finds_nothing_serious(page)
        assert errors == [], errors
        roles = await boss.api.roles.ListRoles(pb.ListRolesRequest(), metadata=md)
        assert "helper" not in [r.name for r in roles.roles]

        # The demo operator's role: neither page, nor their keys.
        page, errors = await signed_in(browser, app, app.demo["email"], app.demo["password"])
        await expect(page.locator("#page-admin")).to_be_hidden()
        await expect(page.locator("#page-reports")).to_be_hidden()
        await page.keyboard.press("Alt+S")
        await page.keyboard.press("Alt+E")
        await page.keyboard.press(
            "Alt+H"
        )  # a page it may see: the keys above did nothing before it
        await expect(page.locator("#history-page")).to_be_visible()
        await expect(page.locator("#admin-page")).to_be_hidden()
        await expect(page.locator("#reports-page")).to_be_hidden()


START = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 in Paris, just after the change


async def test_reports_show_hand_worked_figures_and_open_their_chats(
    tmp_path: Path, chromium_cdp: str
) -> None:
    clock = FakeClock(wall_ms=int(START.timestamp() * 1000))
    async with (
        running(tmp_path / "on", clock=clock, history=True) as app,
        attached(chromium_cdp) as browser,
    ):
        assert app.demo is not None
        site = app.demo["site"]
        boss = await owner(app)
        await boss.api.sites.UpdateSite(
            pb.UpdateSiteRequest(
                site=pb.Site(id=site, timezone="Europe/Paris"),
                update_mask=FieldMask(paths=["timezone"]),
            ),
            metadata=boss.metadata,
        )
        # The two chats of tests/integration/test_reports.py: first responses
        # 12 s and 40 s, waits 0 and 37 s, 42 s and 100 s long, one rated 4.
        ana = await staff(app, boss, "Ana", max_chats=1)
        v1, first = await chat_up(app)
        await ana.recv("assigned")
        await advance(app, clock, 5)
        v2, second = await chat_up(app)
        await advance(app, clock, 7)
        ana.say(first, "a", "Hello!")
        await heard(v1, "Hello!")
        await advance(app, clock, 30)
        ana.send_commands(_close(first))
        await v1.recv("closed")
        await ana.recv("assigned")
        v1.send({"type": "rate", "score": 4, "comment": ""})
        await v1.recv("rated")
        await advance(app, clock, 3)
        ana.say(second, "b", "Sorry for the wait")
        await heard(v2, "Sorry for the wait")
        await advance(app, clock, 60)
        ana.send_commands(_close(second))
        await v2.recv("closed")
        await indexed(app)

        page, errors = await signed_in(browser, app, *boss_login(app))
        await page.keyboard.press("Alt+E")
        await expect(page.locator("#reports-page")).to_be_visible()
        await expect(page.locator("#reports-note")).to_have_text("Days in Europe/Paris")
        # Today (the browser's, months after the server's fake clock) had no chats.
        await expect(page.locator("#reports-body .empty")).to_have_text(
            "No closed chats in this range."
        )
        await expect(page.locator("#reports-csv")).to_be_hidden()
        await page.select_option("#reports-range", "custom")
        await page.fill("#reports-from", "2026-03-28")
        await page.fill("#reports-to", "2026-03-29")
        await page.click("#reports-show")
        figures = page.locator(".figure")
        await expect(figures.nth(0)).to_contain_text("2")
        await expect(figures.nth(1)).to_contain_text("0")
        await expect(figures.nth(3)).to_contain_text("12 s · 40 s")
        await expect(figures.nth(4)).to_contain_text("0 s · 37 s")
        await expect(figures.nth(5)).to_contain_text("1 min 11 s")
        await expect(figures.nth(5)).to_contain_text("p50 42 s · p90 1 min 40 s")
        await expect(figures.nth(6)).to_contain_text("4 ★")
        rows = page.locator(".report-table tbody tr")
        await expect(rows.locator("th")).to_have_text(["2026-03-28", "2026-03-29", "Total"])
        await expect(rows.nth(0).locator("td").first).to_have_text("0")
        await expect(rows.nth(1).locator("td").first).to_have_text("2")
        await expect(page.locator(".bars.hours rect.chats").nth(3).locator("title")).to_have_text(
            "03:00: 2 chats"
        )
        await shot(page, "admin-5-reports")
        await axe_finds_nothing_serious(page)

        async with page.expect_download() as download:
            await page.click("#reports-csv")
        saved = Path(await (await download.value).path())
        lines = (await asyncio.to_thread(saved.read_text)).splitlines()
        assert lines[0].startswith(
            "day,chats,missed,abandoned,no_operator,answered,first_response_p50_ms"
        )
        assert lines[2].startswith(
            "2026-03-29,2,0,0,0,2,12000,40000,2,0,37000,71000,42000,100000,1,4"
        )
        assert lines[3].startswith("total,2,")

        # The day's count opens its chats in History.
        await rows.nth(1).locator("button.drill").first.click()
        await expect(page.locator("#history-page")).to_be_visible()
        await expect(page.locator("#history-preset")).to_contain_text("Chats · 2026-03-29")
        opened = page.locator("#history-results .history-open")
        await expect(opened).to_have_count(2)
        ids = await opened.evaluate_all("els => els.map(e => e.dataset.conversation)")
        assert sorted(ids) == sorted([first, second])
        await shot(page, "admin-6-drilled-to-history")
        await page.click("#history-preset-clear")
        await expect(page.locator("#history-preset")).to_be_hidden()
        assert errors == [], errors

        # A phone, in German and dark: the same report, one column.
        phone, _ = await signed_in(
            browser, app, *boss_login(app), {**PHONE, "locale": "de-DE", "color_scheme": "dark"}
        )
        await go_to(phone, "reports")
        await phone.select_option("#reports-range", "custom")
        await phone.fill("#reports-from", "2026-03-29")
        await phone.fill("#reports-to", "2026-03-29")
        await phone.click("#reports-show")
        await expect(phone.locator(".report-table tbody th")).to_have_text(["2026-03-29", "Gesamt"])
        await shot(phone, "admin-7-reports-phone-de-dark")

    # A server that keeps no history has no reports, and says so.
    async with running(tmp_path / "off", history=False) as app, attached(chromium_cdp) as browser:
        page, errors = await signed_in(browser, app, *boss_login(app))
        await page.click("#page-reports")
        await expect(page.locator("#reports-note")).to_have_text(re.compile("no history index"))
        await expect(page.locator("#reports-csv")).to_be_hidden()
        assert errors == [], errors


async def test_routing_quick_replies_mail_and_webhooks_on_a_phone(
    tmp_path: Path, chromium_cdp: str
) -> None:
    async with running(tmp_path, history=True) as app, attached(chromium_cdp) as browser:
        assert app.demo is not None
        site, dept = app.demo["site"], app.demo["department"]
        boss = await owner(app)
        md = boss.metadata
        page, errors = await signed_in(browser, app, *boss_login(app), PHONE)
        await go_to(page, "admin")
        tabs = page.locator("#admin-tabs button")
        dialog = page.locator("dialog.dlg")
        table = page.locator("#admin-body table")

        await tabs.get_by_text("Groups", exact=True).click()
        await page.click("#admin-new")
        await fill_form(page, {"Name": "Specialists"})
        await dialog.get_by_role("button", name="Create").click()
        await expect(table.locator("tbody tr", has_text="Specialists")).to_have_count(1)
        groups = (
            await boss.api.groups.ListGroups(pb.ListGroupsRequest(site_id=site), metadata=md)
        ).groups
        assert [g.name for g in groups] == ["Specialists"]

        await tabs.get_by_text("Link rules").click()
        await page.click("#admin-new")
        await fill_form(page, {"URL pattern (regular expression)": "/pricing", "Position": "1"})
        await expect(dialog.get_by_label("Group")).to_have_value(groups[0].id)
        await dialog.get_by_role("button", name="Create").click()
        await expect(table.locator("tbody tr", has_text="/pricing")).to_contain_text("Specialists")
        rules = await boss.api.link_rules.ListLinkRules(
            pb.ListLinkRulesRequest(site_id=site), metadata=md
        )
        assert [(r.pattern, r.group_id, r.position) for r in rules.link_rules] == [
            ("/pricing", groups[0].id, 1)
        ]

        await tabs.get_by_text("Regions").click()
        await expect(page.locator("#admin-dept")).to_have_value(dept)
        await page.click("#admin-new")
        await fill_form(page, {"Name": "North"})
        await dialog.get_by_role("button", name="Create").click()
        await expect(table.locator("tbody tr", has_text="North")).to_have_count(1)
        regions = await boss.api.regions.ListRegions(
            pb.ListRegionsRequest(department_id=dept), metadata=md
        )
        assert [r.name for r in regions.regions] == ["North"]

        # A quick reply by the keyboard alone.
        await tabs.get_by_text("Quick replies").focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#admin-title")).to_have_text("Quick replies")
        await page.locator("#admin-new").focus()
        await page.keyboard.press("Enter")
        await expect(dialog.get_by_label("Shortcut")).to_be_focused()
        await page.keyboard.type("hi")
        await page.keyboard.press("Tab")
        await page.keyboard.type("Hello {visitor_name}!")
        for _ in range(3):  # the shared box, Cancel, Create
            await page.keyboard.press("Tab")
        await expect(dialog.get_by_role("button", name="Create")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(table.locator("tbody tr", has_text="/hi")).to_have_count(1)
        templates = await boss.api.templates.ListTemplates(pb.ListTemplatesRequest(), metadata=md)
        assert [(q.shortcut, q.text, q.shared) for q in templates.templates] == [
            ("hi", "Hello {visitor_name}!", True)
        ]

        await tabs.get_by_text("Webhooks").click()
        await page.click("#admin-new")
        await fill_form(page, {"URL (https)": "https://hooks.example/parley"})
        await dialog.get_by_label("chat.closed").check()
        await dialog.get_by_role("button", name="Create").click()
        secret = dialog.locator("code.secret")
        await expect(secret).not_to_have_text("")
        # Nothing reaches past the phone's width (the page is not zoomed out).
        assert await page.evaluate("document.documentElement.scrollWidth") == 375
        await shot(page, "admin-8-webhook-secret-phone")
        await dialog.get_by_role("button", name="Done").click()
        await expect(table.locator("tbody tr", has_text="hooks.example")).to_contain_text(
            "chat.closed"
        )
        hooks = await boss.api.webhooks.ListWebhooks(pb.ListWebhooksRequest(), metadata=md)
        assert [(w.url, list(w.events), w.enabled) for w in hooks.webhooks] == [
            ("https://hooks.example/parley", ["chat.closed"], True)
        ]

        await tabs.get_by_text("Email").click()
        await page.get_by_role("button", name="Edit").click()
        await fill_form(
            page, {"SMTP host": "smtp.example", "Port": "2525", "From address": "help@example.com"}
        )
        await dialog.get_by_role("button", name="Save").click()
        await expect(page.locator(".facts")).to_contain_text("smtp.example:2525")
        mail = await boss.api.mail.GetMailSettings(pb.GetMailSettingsRequest(), metadata=md)
        assert (mail.host, mail.port, mail.from_address, mail.password_set) == (
            "smtp.example",
            2525,
            "help@example.com",
            False,
        )
        await page.locator("#admin-tabs").scroll_into_view_if_needed()
        await shot(page, "admin-9-mail-phone")
        await axe_finds_nothing_serious(page)
        assert errors == [], errors
