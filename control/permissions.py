"""Who may call what: one table from RPC to permission, one from role to
permissions. Every servicer method looks itself up here; a method missing from
the table is refused (and the permission test fails)."""

from __future__ import annotations

# Permission names (PRODUCT.md A3; custom roles come with the roles work).
CHAT = "chat"  # operator session stream
VIEW_CONFIG = "view_config"
MANAGE_SITES = "manage_sites"
MANAGE_DEPARTMENTS = "manage_departments"
VIEW_OPERATORS = "view_operators"
MANAGE_OPERATORS = "manage_operators"
VIEW_HISTORY = "view_history"
VISITOR_CHANNEL = "visitor_channel"
SELF = "self"  # any signed-in operator: who am I, log out

RPC_PERMISSIONS: dict[str, str | None] = {
    "/parley.v1.Auth/Login": None,  # no token yet
    "/parley.v1.Auth/Logout": SELF,
    "/parley.v1.Auth/WhoAmI": SELF,
    "/parley.v1.Auth/ChangePassword": SELF,
    "/parley.v1.Auth/ListMySessions": SELF,
    "/parley.v1.Auth/RevokeMySession": SELF,
    "/parley.v1.Control/CreateSite": MANAGE_SITES,
    "/parley.v1.Control/ListSites": VIEW_CONFIG,
    "/parley.v1.Control/CreateDepartment": MANAGE_DEPARTMENTS,
    "/parley.v1.Control/ListDepartments": VIEW_CONFIG,
    "/parley.v1.Control/AddOperator": MANAGE_OPERATORS,
    "/parley.v1.Control/ListOperators": VIEW_OPERATORS,
    "/parley.v1.Control/GetTranscript": VIEW_HISTORY,
    "/parley.v1.Control/ResetPassword": MANAGE_OPERATORS,
    "/parley.v1.OperatorSession/Connect": CHAT,
    "/parley.v1.VisitorChannel/Connect": VISITOR_CHANNEL,
}

_ALL = frozenset(
    {
        CHAT,
        VIEW_CONFIG,
        MANAGE_SITES,
        MANAGE_DEPARTMENTS,
        VIEW_OPERATORS,
        MANAGE_OPERATORS,
        VIEW_HISTORY,
        VISITOR_CHANNEL,
        SELF,
    }
)

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "owner": _ALL,
    "admin": _ALL,
    "operator": frozenset({CHAT, VIEW_CONFIG, VIEW_OPERATORS, SELF}),
}


def allowed(role: str, permission: str) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())
