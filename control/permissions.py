"""Who may call what: one table from RPC to the permission it needs. Every
servicer method looks itself up here; a method missing from the table is refused
(and the permission test fails). What each role holds is in
``engine/chat/permissions.py`` (built-in roles) and the directory (custom roles)."""

from __future__ import annotations

from engine.chat.permissions import (
    ACCEPT,
    AUTO_ACCEPT,
    BILLING,
    BUILTIN_ROLES,
    CHANGE_DISPLAY_NAME,
    CHAT,
    MANAGE_ACCOUNTS,
    MANAGE_BLACKLIST,
    MANAGE_DEPARTMENTS,
    MANAGE_OPERATORS,
    MANAGE_ROLES,
    MANAGE_SITES,
    MANAGE_TEMPLATES,
    SELF,
    SERVER_ROLES,
    VIEW_CONFIG,
    VIEW_HISTORY,
    VIEW_OPERATORS,
    VIEW_STATISTICS,
    VIEW_TICKETS,
    VISITOR_CHANNEL,
)

RPC_PERMISSIONS: dict[str, str | None] = {
    "/parley.v1.Auth/Login": None,  # no token yet
    "/parley.v1.Auth/Logout": SELF,
    "/parley.v1.Auth/WhoAmI": SELF,
    "/parley.v1.Auth/ChangePassword": SELF,
    "/parley.v1.Auth/ListMySessions": SELF,
    "/parley.v1.Auth/RevokeMySession": SELF,
    "/parley.v1.Auth/CreateApiToken": SELF,
    "/parley.v1.Auth/SetDisplayName": CHANGE_DISPLAY_NAME,
    "/parley.v1.Auth/SetAvatar": SELF,
    "/parley.v1.Auth/SetMyAutoAccept": AUTO_ACCEPT,
    "/parley.v1.Control/CreateSite": MANAGE_SITES,
    "/parley.v1.Control/ListSites": VIEW_CONFIG,
    "/parley.v1.Control/DeleteSite": MANAGE_SITES,
    "/parley.v1.Control/DeleteDepartment": MANAGE_DEPARTMENTS,
    "/parley.v1.Control/DeleteRegion": MANAGE_DEPARTMENTS,
    "/parley.v1.Control/DeleteGroup": MANAGE_DEPARTMENTS,
    "/parley.v1.Control/DeleteRole": MANAGE_ROLES,
    "/parley.v1.Control/CreateDepartment": MANAGE_DEPARTMENTS,
    "/parley.v1.Control/ListDepartments": VIEW_CONFIG,
    "/parley.v1.Control/AddOperator": MANAGE_OPERATORS,
    "/parley.v1.Control/ListOperators": VIEW_OPERATORS,
    "/parley.v1.Control/GetTranscript": VIEW_HISTORY,
    "/parley.v1.Control/ResetPassword": MANAGE_OPERATORS,
    "/parley.v1.Control/CreateRole": MANAGE_ROLES,
    "/parley.v1.Control/ListRoles": VIEW_OPERATORS,
    "/parley.v1.Control/UpdateRole": MANAGE_ROLES,
    "/parley.v1.Control/RevokeOperatorSessions": MANAGE_OPERATORS,
    "/parley.v1.Control/DeleteOperator": MANAGE_OPERATORS,
    "/parley.v1.Control/UpdateDepartment": MANAGE_DEPARTMENTS,
    "/parley.v1.Control/CreateRegion": MANAGE_DEPARTMENTS,
    "/parley.v1.Control/ListRegions": VIEW_CONFIG,
    "/parley.v1.Control/CreateGroup": MANAGE_DEPARTMENTS,
    "/parley.v1.Control/ListGroups": VIEW_CONFIG,
    "/parley.v1.Control/AddLinkRule": MANAGE_DEPARTMENTS,
    "/parley.v1.Control/ListLinkRules": VIEW_CONFIG,
    "/parley.v1.Control/DeleteLinkRule": MANAGE_DEPARTMENTS,
    "/parley.v1.Control/SetSiteLanguages": MANAGE_SITES,
    "/parley.v1.Control/SetSiteQuota": MANAGE_SITES,
    "/parley.v1.Control/UpdateOperator": MANAGE_OPERATORS,
    "/parley.v1.Control/ListWaiting": ACCEPT,
    "/parley.v1.Control/ListTickets": VIEW_TICKETS,
    "/parley.v1.Control/GetVisitorInfo": CHAT,  # and the chat in sight
    # One's own quick replies; the account's need MANAGE_TEMPLATES as well.
    "/parley.v1.Control/AddTemplate": CHAT,
    "/parley.v1.Control/ListTemplates": CHAT,
    "/parley.v1.Control/DeleteTemplate": CHAT,
    "/parley.v1.Control/ListDirectMessages": CHAT,  # one's own, with a colleague
    "/parley.v1.Control/GetStatistics": VIEW_STATISTICS,
    "/parley.v1.Control/AddBlock": MANAGE_BLACKLIST,
    "/parley.v1.Control/ListBlocks": MANAGE_BLACKLIST,
    "/parley.v1.Control/RemoveBlock": MANAGE_BLACKLIST,
    "/parley.v1.Control/GetUsage": BILLING,
    # The server administrator's alone: no account role holds MANAGE_ACCOUNTS.
    "/parley.v1.Control/CreateAccount": MANAGE_ACCOUNTS,
    "/parley.v1.Control/ListAccounts": MANAGE_ACCOUNTS,
    "/parley.v1.Control/SuspendAccount": MANAGE_ACCOUNTS,
    "/parley.v1.Control/ResumeAccount": MANAGE_ACCOUNTS,
    "/parley.v1.Control/DeleteAccount": MANAGE_ACCOUNTS,
    # The whole server's numbers (its store, every account's connections): for who
    # administers sites, as the server's owner and admins do; not view_statistics,
    # which is about one account's departments.
    "/parley.v1.Control/Status": MANAGE_SITES,
    "/parley.v1.OperatorSession/Connect": CHAT,
    "/parley.v1.VisitorChannel/Connect": VISITOR_CHANNEL,
}

# Calls that need a second permission for part of what they do (checked by the
# engine call behind the method, engine/chat/account.py, with the permission
# functions of engine/chat/permissions.py): what the part is, and the permission.
RPC_CONDITIONAL: dict[str, tuple[str, str]] = {
    "/parley.v1.Control/AddTemplate": ("a shared quick reply", MANAGE_TEMPLATES),
    "/parley.v1.Control/DeleteTemplate": ("a shared quick reply", MANAGE_TEMPLATES),
    "/parley.v1.Control/ListWaiting": ("another department's line", MANAGE_DEPARTMENTS),
}

# The built-in roles (accounts add their own) and the server administrator's.
ROLE_PERMISSIONS = {**BUILTIN_ROLES, **SERVER_ROLES}


def allowed(role: str, permission: str) -> bool:
    """Whether a built-in role holds ``permission`` (custom roles: Directory)."""
    return permission in ROLE_PERMISSIONS.get(role, frozenset())
