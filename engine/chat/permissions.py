"""Permissions and roles, as plain data (PRODUCT.md A3).

A role is a set of permission names. Three roles are built in; an account adds
its own (a "trainee" that may chat but not see the operators list, say). What
each RPC needs is one table in ``control/permissions.py``; this module only
says what the names are and what each role holds.
"""

from __future__ import annotations

import re

from engine.errors import InvalidArgument, PermissionDenied

CHAT = "chat"  # hold an operator session: receive and answer chats
VIEW_CONFIG = "view_config"  # see sites and departments
MANAGE_SITES = "manage_sites"
MANAGE_DEPARTMENTS = "manage_departments"
VIEW_OPERATORS = "view_operators"  # the operators list with presence
MANAGE_OPERATORS = "manage_operators"  # add operators, reset their passwords
MANAGE_ROLES = "manage_roles"
VIEW_HISTORY = "view_history"  # transcripts of the account's conversations
VISITOR_CHANNEL = "visitor_channel"  # speak for visitors (embedding services)
CHANGE_DISPLAY_NAME = "change_display_name"  # the name visitors see, one's own
TYPING_PREVIEW = "typing_preview"  # see what a visitor types before it is sent
SELF = "self"  # who am I, log out, own password, avatar, sessions and tokens
ACCEPT = "accept"  # pick waiting chats from the New pool
VIEW_TICKETS = "view_tickets"  # offline requests left by visitors
# Which chats an operator sees in its lists (its own always): its departments'
# or every chat of the account.
VIEW_DEPARTMENT_CHATS = "view_department_chats"
VIEW_ALL_CHATS = "view_all_chats"
JOIN = "join"  # join a colleague's chat it can see
JOIN_INVISIBLE = "join_invisible"  # ... without the visitor being told
INVITE = "invite"  # bring a colleague into one's chat
INVITE_VISITORS = "invite_visitors"  # invite a visitor on the site to chat
TRANSFER = "transfer"  # hand one's chat to a colleague or a department
TAKE_OVER = "take_over"  # take a colleague's chat over
CHANGE_CHAT_STATUS = "change_chat_status"  # on hold, not waiting, active
MANAGE_TEMPLATES = "manage_templates"  # the account's quick replies
AUTO_ACCEPT = "auto_accept"  # switch one's own auto-accept on and off
VIEW_STATISTICS = "view_statistics"  # the live numbers per department
MANAGE_BLACKLIST = "manage_blacklist"  # keep addresses or visitors from chatting
BILLING = "billing"  # what the account uses
# Audit log and privacy (engine/audit.py, engine/privacy.py)
VIEW_AUDIT = "view_audit"  # the account's audit log
EXPORT_VISITORS = "export_visitors"  # everything stored of one visitor, as JSON
ERASE_VISITORS = "erase_visitors"  # remove one visitor's data for good
# The server administrator's own: create, list, suspend, resume and delete
# accounts. No account role holds it, and none can be given it (it is not among
# PERMISSIONS, so a custom role naming it is refused as unknown).
MANAGE_ACCOUNTS = "manage_accounts"

PERMISSIONS = frozenset(
    {
        CHAT,
        VIEW_CONFIG,
        MANAGE_SITES,
        MANAGE_DEPARTMENTS,
        VIEW_OPERATORS,
        MANAGE_OPERATORS,
        MANAGE_ROLES,
        VIEW_HISTORY,
        VISITOR_CHANNEL,
        CHANGE_DISPLAY_NAME,
        TYPING_PREVIEW,
        SELF,
        ACCEPT,
        VIEW_TICKETS,
        VIEW_DEPARTMENT_CHATS,
        VIEW_ALL_CHATS,
        JOIN,
        JOIN_INVISIBLE,
        INVITE,
        INVITE_VISITORS,
        TRANSFER,
        TAKE_OVER,
        CHANGE_CHAT_STATUS,
        MANAGE_TEMPLATES,
        AUTO_ACCEPT,
        VIEW_STATISTICS,
        MANAGE_BLACKLIST,
        BILLING,
        VIEW_AUDIT,
        EXPORT_VISITORS,
        ERASE_VISITORS,
    }
)

# What the operator session checks, per chat action (the RPCs are in
# control/permissions.py). Seeing chats is a scope, the widest held wins.
CHAT_ACTIONS: dict[str, str] = {
    "pick": ACCEPT,
    "join": JOIN,
    "join_invisible": JOIN_INVISIBLE,
    "invite": INVITE,
    "transfer": TRANSFER,
    "take_over": TAKE_OVER,
    "chat_status": CHANGE_CHAT_STATUS,
}
VIEW_SCOPES: dict[str, str] = {"department": VIEW_DEPARTMENT_CHATS, "all": VIEW_ALL_CHATS}

BUILTIN_ROLES: dict[str, frozenset[str]] = {
    "owner": PERMISSIONS,
    "admin": PERMISSIONS,
    "operator": frozenset(
        {
            CHAT,
            VIEW_CONFIG,
            VIEW_OPERATORS,
            CHANGE_DISPLAY_NAME,
            SELF,
            ACCEPT,
            VIEW_TICKETS,
            VIEW_DEPARTMENT_CHATS,
            JOIN,
            INVITE,
            INVITE_VISITORS,
            TRANSFER,
            CHANGE_CHAT_STATUS,
            AUTO_ACCEPT,
        }
    ),
}

# The server administrator is no operator of any account: its login lives in a
# hidden server account whose only role is this one, and it may do nothing in
# an account but manage accounts (and its own password and sessions).
SERVER_ADMIN = "server_admin"
SERVER_ROLES: dict[str, frozenset[str]] = {SERVER_ADMIN: frozenset({MANAGE_ACCOUNTS, SELF})}

ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")


def require(held: frozenset[str], role: str, permission: str) -> None:
    """Refuse unless ``held`` (what ``role`` holds) includes ``permission``."""
    if permission not in held:
        raise PermissionDenied(
            "permission_denied", f"the {role} role may not {permission.replace('_', ' ')}"
        )


def check_appoint(
    actor_role: str, actor_held: frozenset[str], role: str, role_held: frozenset[str]
) -> None:
    """Refuse to give someone ``role`` (holding ``role_held``) unless the actor
    (``actor_role`` holding ``actor_held``) could: only an owner makes an owner,
    and nobody hands out a role holding more than their own."""
    if role == "owner" and actor_role != "owner":
        raise PermissionDenied("permission_denied", "only an owner may add an owner")
    if role in SERVER_ROLES or MANAGE_ACCOUNTS in role_held:
        raise PermissionDenied("permission_denied", "no account role may manage accounts")
    beyond = role_held - actor_held
    if beyond:
        raise PermissionDenied(
            "permission_denied", f"the {role} role holds more than yours: {sorted(beyond)}"
        )


def check_manage(
    actor_role: str, actor_held: frozenset[str], target_role: str, target_held: frozenset[str]
) -> None:
    """Refuse to act on another operator (reset its password, change its
    settings or role, revoke its sessions, disable it) unless everything the
    target's role holds, the actor's holds too: ranked by permissions, never by
    a role's name, so a narrow custom role never takes over a wider one. The
    same rule as :func:`check_appoint`, owners included: only an owner acts on
    an owner."""
    if target_role == "owner" and actor_role != "owner":
        raise PermissionDenied("permission_denied", "only an owner may act on an owner")
    beyond = target_held - actor_held
    if beyond:
        raise PermissionDenied(
            "permission_denied",
            f"the {target_role} role holds more than yours: {sorted(beyond)}",
        )


def check_line(department_id: str, own_departments: tuple[str, ...], held: frozenset[str]) -> None:
    """Refuse to show a department's waiting line to an operator who neither
    serves it nor manages departments."""
    if department_id not in own_departments and MANAGE_DEPARTMENTS not in held:
        raise PermissionDenied("permission_denied", "you do not serve that department")


def check_shared_templates(held: frozenset[str], role: str) -> None:
    """Refuse to add or delete the account's shared quick replies without
    MANAGE_TEMPLATES (one's own need nothing more than chatting)."""
    if MANAGE_TEMPLATES not in held:
        raise PermissionDenied(
            "permission_denied", f"the {role} role may not manage the account's replies"
        )


def check_role(name: str, permissions: list[str] | tuple[str, ...]) -> frozenset[str]:
    """Validate a custom role; return its permission set."""
    if not ROLE_NAME.match(name):
        raise InvalidArgument(
            "invalid_argument",
            f"role name {name[:40]!r} must be 2-32 lowercase letters, digits, - or _",
        )
    unknown = sorted(set(permissions) - PERMISSIONS)
    if unknown:
        raise InvalidArgument(
            "unknown_permission",
            f"unknown permissions: {', '.join(unknown)}; known: {', '.join(sorted(PERMISSIONS))}",
        )
    return frozenset(permissions) | {SELF}
