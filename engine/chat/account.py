"""What an account's people do outside a chat, with the rules that go with it.

The gRPC servicers (and the operator web bridge to come, and tests) call these
instead of the directory and the actors directly, so a rule is written once:
who may give whom which role, telling the operator actor and presence after a
settings change, whose waiting line an operator may see, who may touch the
account's shared quick replies, how operators online are counted per
department, what a template's placeholders are filled with. Each takes the
caller (:class:`~engine.chat.auth.Principal`) whose RPC permission the front end
has checked against its table; the finer rules are permission functions in
:mod:`engine.chat.permissions` and :mod:`engine.chat.visibility`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from engine.chat import ids
from engine.chat.directory import email_taken
from engine.chat.internal import pair_id
from engine.chat.kinds import BOARD, OPERATOR, PRESENCE, QUEUE, VISITOR
from engine.chat.messages import (
    ConfigChanged,
    GetBoardStats,
    GetPresence,
    GetQueue,
    GetVisitorInfo,
    Offboard,
    QueuedChat,
    SettingsChanged,
    VisitorInfo,
)
from engine.chat.permissions import (
    check_appoint,
    check_line,
    check_manage,
    check_shared_templates,
)
from engine.chat.records import Account, Block, Department, Operator, Site, Template, Ticket
from engine.chat.visibility import (
    CONVERSATION_ID,
    chat_in_sight,
    scope_of,
    unknown_conversation,
)
from engine.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from engine.records.history import history_scope
from engine.records.rows import doc_participants, row_of

if TYPE_CHECKING:
    from engine.app import Engine
    from engine.chat.auth import Principal
    from engine.chat.events import DirectMessage

MAX_BLOCK_SECONDS = 366 * 86_400  # a block expires within a year, or never
EMPTY_COUNTS = {"waiting": 0, "active": 0, "on_hold": 0, "missed": 0, "first_response_ms": 0}


def held(engine: Engine, p: Principal) -> frozenset[str]:
    """What the caller's role may do in its account."""
    return engine.directory.role_permissions(p.account_id, p.role)


# -- operators ----------------------------------------------------------------------


async def add_operator(
    engine: Engine,
    p: Principal,
    *,
    email: str,
    password: str,
    display_name: str,
    role: str,
    department_ids: list[str],
    max_chats: int,
    internal_name: str = "",
) -> Operator:
    """A new operator of the caller's account, in a role the caller may give."""
    directory = engine.directory
    check_appoint(p.role, held(engine, p), role, directory.role_permissions(p.account_id, role))
    return await directory.add_operator(
        p.account_id,
        email=email,
        password=password,
        display_name=display_name,
        role=role,
        department_ids=department_ids,
        max_chats=max_chats,
        internal_name=internal_name,
    )


def check_colleague(engine: Engine, p: Principal, target: Operator) -> None:
    """Refuse to act on a colleague holding a permission the caller lacks (the
    one rule for resetting, updating, re-roling, revoking and disabling)."""
    directory = engine.directory
    check_manage(
        p.role, held(engine, p), target.role, directory.role_permissions(p.account_id, target.role)
    )


async def update_operator(
    engine: Engine, p: Principal, operator_id: str, changes: dict[str, Any]
) -> Operator:
    """Change a colleague's settings, role or standing (one whose permissions
    are all the caller's own; a new role one the caller could give). Its open
    streams follow at once: narrowed to the new role or departments, ended when
    disabled."""
    directory = engine.directory
    target = directory.operator(operator_id, p.account_id)
    check_colleague(engine, p, target)
    if ("role" in changes or "disabled" in changes) and target.id == p.operator_id:
        raise PermissionDenied(
            "permission_denied", "you may not change your own role or disable yourself"
        )
    if "role" in changes:
        role = str(changes["role"])
        directory.check_role_exists(p.account_id, role)
        check_appoint(p.role, held(engine, p), role, directory.role_permissions(p.account_id, role))
    if changes.get("disabled") or changes.get("role", "owner") != "owner":
        check_owner_remains(engine, target)
    op = await directory.update_operator(p.account_id, target.id, changes)
    settings_changed(engine, p.account_id, op.id)
    if op.disabled and not target.disabled:
        await engine.auth.revoke_all(op.id)  # its streams end with the re-check
        await engine.system.ref("operator", op.id).ask(Offboard())
    engine.access_changed(op.id)
    return op


def check_owner_remains(engine: Engine, target: Operator) -> None:
    """Refuse to delete, disable or re-role the account's last enabled owner:
    an account always has someone who may do everything in it."""
    if target.role != "owner" or target.disabled:
        return
    others = [
        o
        for o in engine.directory.list_operators(target.account_id)
        if o.role == "owner" and not o.disabled and o.id != target.id
    ]
    if not others:
        raise FailedPrecondition("last_owner", "the account's last owner cannot be removed")


async def delete_operator(engine: Engine, p: Principal, operator_id: str) -> Operator:
    """Delete a colleague (one whose permissions are all the caller's own; never
    oneself nor the last owner): its sessions and streams end, its open chats
    follow each department's offline rule at once, it leaves every list, and
    its email may be given to a new operator. The chats keep its name."""
    directory = engine.directory
    target = directory.operator(operator_id, p.account_id)
    if target.id == p.operator_id:
        raise PermissionDenied("permission_denied", "you may not delete yourself")
    check_colleague(engine, p, target)
    check_owner_remains(engine, target)
    # Offboarded while the record is still there to read; then the record goes,
    # then its tokens (the streams' re-check finds neither).
    await engine.system.ref("operator", target.id).ask(Offboard())
    op = await directory.delete_operator(p.account_id, target.id)
    await engine.auth.revoke_all(op.id)
    engine.access_changed(op.id)
    settings_changed(engine, p.account_id)
    return op


async def revoke_operator_sessions(engine: Engine, p: Principal, operator_id: str) -> int:
    """End every session of a colleague (its open streams end at once); how many."""
    target = engine.directory.operator(operator_id, p.account_id)
    if target.id != p.operator_id:
        check_colleague(engine, p, target)
    return await engine.auth.revoke_all(target.id, keep=p.token_digest)


async def set_auto_accept(engine: Engine, p: Principal, on: bool) -> Operator:
    """Switch the caller's own auto-accept; its actor re-reads its settings."""
    op = await engine.directory.update_operator(p.account_id, p.operator_id, {"auto_accept": on})
    engine.system.ref(OPERATOR, op.id).tell(SettingsChanged())
    return op


def settings_changed(engine: Engine, account_id: str, operator_id: str = "") -> None:
    """After a settings change: the operator's actor (if one changed) re-reads
    its settings, and the account's presence recomputes who serves what."""
    if operator_id:
        engine.system.ref(OPERATOR, operator_id).tell(SettingsChanged())
    engine.system.ref(PRESENCE, account_id).tell(ConfigChanged())


async def create_role(
    engine: Engine, p: Principal, name: str, permissions: list[str]
) -> frozenset[str]:
    """A custom role of the caller's account, holding nothing the caller lacks."""
    return await engine.directory.create_role(p.account_id, name, permissions, held(engine, p))


async def update_role(
    engine: Engine, p: Principal, name: str, permissions: list[str]
) -> frozenset[str]:
    """Change a custom role's permissions (neither what it held nor what it
    will hold beyond the caller's); every holder's open streams follow at once."""
    perms = await engine.directory.update_role(p.account_id, name, permissions, held(engine, p))
    engine.access_changed(*engine.directory.role_holders(p.account_id, name))
    return perms


async def update_department(
    engine: Engine, p: Principal, department_id: str, changes: dict[str, Any]
) -> Department:
    """Change a department's settings; presence recomputes who is online for it."""
    dept = await engine.directory.update_department(p.account_id, department_id, changes)
    settings_changed(engine, p.account_id)
    return dept


async def delete_department(engine: Engine, p: Principal, department_id: str) -> Department:
    """Delete a department nothing uses any more (no open or waiting chat, as
    the board counts them; no operator serving only it; no fallback to it).
    Operators who serve it among others leave it, their actors re-read it, and
    presence recomputes who serves what."""
    dept = engine.directory.department_of_account(department_id, p.account_id)
    counts = await engine.system.ref("board", p.account_id).ask(GetBoardStats(dept.site_id))
    mine = counts.get(dept.id, EMPTY_COUNTS)
    open_chats = mine["waiting"] + mine["active"] + mine["on_hold"]
    dept, changed = await engine.directory.delete_department(p.account_id, dept.id, open_chats)
    for operator_id in changed:
        engine.system.ref("operator", operator_id).tell(SettingsChanged())
    settings_changed(engine, p.account_id)
    return dept


async def delete_role(engine: Engine, p: Principal, name: str) -> None:
    """Delete a custom role nobody holds, holding nothing the caller lacks."""
    await engine.directory.delete_role(p.account_id, name, held(engine, p))


async def operators_with_status(engine: Engine, p: Principal) -> list[tuple[Operator, str]]:
    """The account's operators, each with its presence status."""
    ops = engine.directory.list_operators(p.account_id)
    statuses = await engine.system.ref(PRESENCE, p.account_id).ask(GetPresence())
    return [(o, statuses.get(o.id, "offline")) for o in ops]


# -- chats seen from outside ----------------------------------------------------------


async def waiting_line(engine: Engine, p: Principal, department_id: str) -> list[QueuedChat]:
    """A department's waiting chats, for those who serve it or manage departments."""
    dept = engine.directory.department_of_account(department_id, p.account_id)
    me = engine.directory.operator(p.operator_id)
    check_line(dept.id, me.department_ids, held(engine, p))
    return await engine.system.ref(QUEUE, dept.id).ask(GetQueue())


async def visitor_info(engine: Engine, p: Principal, conversation_id: str) -> VisitorInfo:
    """What is known of a chat's visitor, for those who may see the chat."""
    summary = await chat_in_sight(engine, p, conversation_id)
    return await engine.system.ref(VISITOR, summary.visitor_id).ask(GetVisitorInfo())


def transcript(
    engine: Engine, p: Principal, conversation_id: str, after_seq: int, limit: int
) -> list[Any]:
    """A conversation the caller may see (see :func:`check_transcript`), from
    ``after_seq``."""
    check_transcript(engine, p, conversation_id)
    return engine.transcript(conversation_id, after_seq, limit)


def transcript_before(
    engine: Engine, p: Principal, conversation_id: str, floor: int, before: int, limit: int
) -> list[Any]:
    """Up to ``limit`` messages just before seq ``before`` and after ``floor``,
    oldest first (seqs are contiguous, so the page is a range)."""
    check_transcript(engine, p, conversation_id)
    below = min(before, engine.last_seq(conversation_id) + 1)
    start = max(floor, below - 1 - limit)
    return engine.transcript(conversation_id, start, max(0, below - 1 - start))


def check_transcript(engine: Engine, p: Principal, conversation_id: str) -> None:
    """A transcript is for who may see the chat, as the history decides
    (engine/records/history.py): one who took part in it (named in its record,
    visibly or not), its departments' operators with view_department_chats, the
    whole account with view_all_chats or view_history; else the conversation
    does not exist for the caller."""
    if not CONVERSATION_ID.match(conversation_id):  # empty, or no id Parley makes
        raise unknown_conversation(conversation_id)
    doc = engine.conversation_doc(conversation_id)
    site = engine.directory.sites.get(doc["site"] if doc is not None else "")
    if doc is None or site is None or site.account_id != p.account_id:
        raise unknown_conversation(conversation_id)
    scope = history_scope(held(engine, p))
    if scope == "all" or p.operator_id in doc_participants(doc):
        return
    mine = engine.directory.operator(p.operator_id).department_ids
    if scope == "department" and row_of(conversation_id, doc).department_id in mine:
        return
    raise unknown_conversation(conversation_id)


def tickets(engine: Engine, p: Principal, site_id: str, limit: int) -> list[Ticket]:
    """A site's offline requests the caller may see, newest first: the same
    scope as chats (all of the account's, or its own departments'; a ticket
    left without a department goes to those serving one of the site's)."""
    directory = engine.directory
    site = directory.site(site_id, p.account_id)
    scope = scope_of(held(engine, p))
    found = engine.list_tickets(site.id, 10_000 if scope != "all" else limit)
    if scope != "all":
        mine = set(directory.operator(p.operator_id).department_ids)
        on_site = any(
            dept.site_id == site.id
            for dept in (directory.departments.get(d) for d in mine)
            if dept is not None
        )
        if scope == "own":
            mine, on_site = set(), False
        found = [t for t in found if t.department_id in mine or (not t.department_id and on_site)]
    return found[: max(0, limit)]


def ticket(engine: Engine, p: Principal, ticket_id: str) -> Ticket:
    """One offline request the caller may see (the scope of :func:`tickets`)."""
    for site in engine.directory.list_sites(p.account_id):
        for found in tickets(engine, p, site.id, 1_000_000):
            if found.id == ticket_id:
                return found
    raise NotFound("unknown_ticket", f"no ticket {ticket_id[:40]!r}", field="ticket_id")


def direct_messages(
    engine: Engine, p: Principal, with_operator_id: str, after_seq: int, limit: int
) -> list[DirectMessage]:
    """The caller's internal chat with a colleague of its account."""
    other = engine.directory.operator(with_operator_id, p.account_id)
    return engine.direct_messages(pair_id(p.operator_id, other.id), after_seq, limit)


def visitor_site(engine: Engine, p: Principal, site_id: str) -> Site:
    """The site an embedding service speaks for: one of the caller's account."""
    site = engine.directory.sites.get(site_id)
    if site is None or site.account_id != p.account_id:
        raise NotFound("unknown_site", f"no site {site_id[:40]!r}")
    return site


# -- quick replies --------------------------------------------------------------------


async def add_template(
    engine: Engine, p: Principal, shortcut: str, text: str, shared: bool
) -> Template:
    """A quick reply of the caller's own, or the account's (shared) for those
    who manage them."""
    if shared:
        check_shared_templates(held(engine, p), p.role)
    return await engine.directory.add_template(
        p.account_id, "" if shared else p.operator_id, shortcut, text
    )


def own_template(engine: Engine, p: Principal, template_id: str, change: bool = False) -> Template:
    """A quick reply the caller may use: its own or the account's (``change``:
    the account's only for those who manage them); a colleague's own does not
    exist for the caller."""
    template = engine.directory.template(template_id, p.account_id)
    if template.operator_id and template.operator_id != p.operator_id:
        raise NotFound("unknown_template", f"no quick reply {template_id[:40]!r}")
    if change and not template.operator_id:
        check_shared_templates(held(engine, p), p.role)
    return template


async def update_template(
    engine: Engine, p: Principal, template_id: str, changes: dict[str, Any]
) -> Template:
    """Change one's own quick reply, or a shared one for those who manage them."""
    template = own_template(engine, p, template_id, change=True)
    return await engine.directory.update_template(template, changes)


async def delete_template(engine: Engine, p: Principal, template_id: str) -> None:
    """Delete one's own quick reply, or a shared one for those who manage them."""
    template = own_template(engine, p, template_id, change=True)
    await engine.directory.delete_template(template.id)


async def templates(
    engine: Engine, p: Principal, prefix: str, conversation_id: str = ""
) -> tuple[list[Template], dict[str, str] | None]:
    """The quick replies the caller may use, and with a chat it may see, the
    values of their placeholders in that chat."""
    directory = engine.directory
    found = directory.templates_for(p.account_id, p.operator_id, prefix[:40])
    if not conversation_id:
        return found, None
    summary = await chat_in_sight(engine, p, conversation_id)
    me = directory.operator(p.operator_id)
    site = directory.sites[summary.site_id]
    dept = directory.departments.get(summary.department_id)
    return found, {
        "visitor_name": summary.visitor_name,
        "operator_name": me.display_name,
        "site_name": site.name,
        "department_name": dept.name if dept is not None else "",
    }


# -- numbers ------------------------------------------------------------------------


def online_per_department(
    statuses: dict[str, str], operators: dict[str, Operator]
) -> dict[str, int]:
    """How many operators are online in each department (an operator counts in
    every department it serves)."""
    online: dict[str, int] = {}
    for op_id, status in statuses.items():
        op = operators.get(op_id)
        if op is not None and status == "online":
            for dept_id in op.department_ids:
                online[dept_id] = online.get(dept_id, 0) + 1
    return online


async def statistics(
    engine: Engine, p: Principal, site_id: str
) -> list[tuple[Department, int, dict[str, int]]]:
    """Per department of the site: (department, operators online, live counts)."""
    site = engine.directory.site(site_id, p.account_id)
    counts = await engine.system.ref(BOARD, p.account_id).ask(GetBoardStats(site.id))
    statuses = await engine.system.ref(PRESENCE, p.account_id).ask(GetPresence())
    online = online_per_department(statuses, engine.directory.operators)
    return [
        (d, online.get(d.id, 0), counts.get(d.id, EMPTY_COUNTS))
        for d in engine.directory.list_departments(p.account_id, site.id)
    ]


async def usage(engine: Engine, p: Principal) -> dict[str, int]:
    """What the account uses: sites, departments, operators, conversations,
    messages, and the store's size."""
    directory = engine.directory
    sites = directory.list_sites(p.account_id)
    conversations = messages = 0
    for site in sites:
        c, m = await asyncio.to_thread(engine.site_usage, site.id)
        conversations, messages = conversations + c, messages + m
    return {
        "sites": len(sites),
        "departments": sum(len(directory.list_departments(p.account_id, s.id)) for s in sites),
        "operators": len(directory.list_operators(p.account_id)),
        "conversations": conversations,
        "messages": messages,
        "store_bytes": engine.store.stats()["used_bytes"],
    }


# -- blocks -------------------------------------------------------------------------


async def add_block(
    engine: Engine,
    p: Principal,
    site_id: str,
    kind: str,
    value: str,
    reason: str,
    expires_in_seconds: int,
) -> Block:
    """Keep an address (``kind`` "ip") or a visitor ("visitor") from chatting on
    a site, for a while (at most a year) or, with 0 seconds, until removed."""
    if kind not in ("ip", "visitor"):
        raise InvalidArgument("invalid_argument", "block an ip or a visitor_id")
    if expires_in_seconds > MAX_BLOCK_SECONDS:
        raise InvalidArgument("invalid_argument", "a block expires within a year, or never")
    now = engine.clock.wall_ms()
    expires = now + expires_in_seconds * 1000 if expires_in_seconds else 0
    return await engine.directory.add_block(
        p.account_id, site_id, kind, value, reason, now, expires
    )


# -- accounts (the server administrator's) -------------------------------------------


async def create_account(
    engine: Engine, name: str, owner_email: str
) -> tuple[Account, Operator, str]:
    """A new account with its owner; the owner's one-time password, to hand
    over once (only its hash is kept). Nothing is left behind when the owner
    cannot be made (its email taken, say): the account goes too."""
    directory = engine.directory
    if not owner_email.strip() or len(owner_email) > 320:
        raise InvalidArgument("invalid_argument", "an account needs its owner's email")
    if directory.operator_by_email(owner_email) is not None:
        raise email_taken(owner_email)
    created = await directory.create_account(name)
    password = ids.random_id(20)
    try:
        owner = await directory.add_operator(
            created.id,
            email=owner_email,
            password=password,
            display_name="Owner",
            role="owner",
            max_chats=0,
        )
    except BaseException:
        await directory.delete_account(created.id)
        raise
    return created, owner, password


async def suspend_account(engine: Engine, account_id: str, suspended: bool) -> Account:
    """Suspend (or resume) an account: while suspended its visitors' hellos and
    its operators' logins and calls are refused with ``account_suspended``, and
    its operators' open streams end at once (their re-check reads the flag)."""
    changed = await engine.directory.set_account_suspended(account_id, suspended)
    engine.access_changed(*(o.id for o in engine.directory.list_operators(changed.id)))
    return changed


async def delete_account(engine: Engine, account_id: str) -> Account:
    """Delete an account with no site left (``in_use`` otherwise), its
    operators, their sessions, custom roles and quick replies."""
    deleted, operator_ids = await engine.directory.delete_account(account_id)
    for operator_id in operator_ids:
        await engine.auth.revoke_all(operator_id)
    engine.access_changed(*operator_ids)
    return deleted
