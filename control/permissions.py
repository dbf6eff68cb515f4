"""Who may call what: one table from RPC to the permission it needs. Every
servicer method looks itself up here; a method missing from the table is refused
(and the permission test fails). What each role holds is in
``engine/chat/permissions.py`` (built-in roles) and the directory (custom roles)."""

from __future__ import annotations

from engine.chat.permissions import (
    ACCEPT,
    BILLING,
    BUILTIN_ROLES,
    CHANGE_DISPLAY_NAME,
    CHAT,
    ERASE_VISITORS,
    EXPORT_VISITORS,
    INVITE_VISITORS,
    MANAGE_ACCOUNTS,
    MANAGE_BLACKLIST,
    MANAGE_DEPARTMENTS,
    MANAGE_OPERATORS,
    MANAGE_ROLES,
    MANAGE_SITES,
    MANAGE_TEMPLATES,
    SELF,
    SERVER_ROLES,
    VIEW_AUDIT,
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
    "/parley.v1.Auth/GetMe": SELF,
    # display_name needs change_display_name, auto_accept auto_accept (RPC_CONDITIONAL)
    "/parley.v1.Auth/UpdateMe": SELF,
    "/parley.v1.Auth/ChangePassword": SELF,
    "/parley.v1.Auth/ListSessions": SELF,
    "/parley.v1.Auth/DeleteSession": SELF,
    "/parley.v1.Auth/CreateApiToken": SELF,
    "/parley.v1.Sites/GetSite": VIEW_CONFIG,
    "/parley.v1.Sites/ListSites": VIEW_CONFIG,
    "/parley.v1.Sites/CreateSite": MANAGE_SITES,
    "/parley.v1.Sites/UpdateSite": MANAGE_SITES,
    "/parley.v1.Sites/DeleteSite": MANAGE_SITES,
    "/parley.v1.Departments/GetDepartment": VIEW_CONFIG,
    "/parley.v1.Departments/ListDepartments": VIEW_CONFIG,
    "/parley.v1.Departments/CreateDepartment": MANAGE_DEPARTMENTS,
    "/parley.v1.Departments/UpdateDepartment": MANAGE_DEPARTMENTS,
    "/parley.v1.Departments/DeleteDepartment": MANAGE_DEPARTMENTS,
    "/parley.v1.Regions/GetRegion": VIEW_CONFIG,
    "/parley.v1.Regions/ListRegions": VIEW_CONFIG,
    "/parley.v1.Regions/CreateRegion": MANAGE_DEPARTMENTS,
    "/parley.v1.Regions/UpdateRegion": MANAGE_DEPARTMENTS,
    "/parley.v1.Regions/DeleteRegion": MANAGE_DEPARTMENTS,
    "/parley.v1.Groups/GetGroup": VIEW_CONFIG,
    "/parley.v1.Groups/ListGroups": VIEW_CONFIG,
    "/parley.v1.Groups/CreateGroup": MANAGE_DEPARTMENTS,
    "/parley.v1.Groups/UpdateGroup": MANAGE_DEPARTMENTS,
    "/parley.v1.Groups/DeleteGroup": MANAGE_DEPARTMENTS,
    "/parley.v1.LinkRules/GetLinkRule": VIEW_CONFIG,
    "/parley.v1.LinkRules/ListLinkRules": VIEW_CONFIG,
    "/parley.v1.LinkRules/CreateLinkRule": MANAGE_DEPARTMENTS,
    "/parley.v1.LinkRules/UpdateLinkRule": MANAGE_DEPARTMENTS,
    "/parley.v1.LinkRules/DeleteLinkRule": MANAGE_DEPARTMENTS,
    "/parley.v1.Operators/GetOperator": VIEW_OPERATORS,
    "/parley.v1.Operators/ListOperators": VIEW_OPERATORS,
    "/parley.v1.Operators/CreateOperator": MANAGE_OPERATORS,
    "/parley.v1.Operators/UpdateOperator": MANAGE_OPERATORS,
    "/parley.v1.Operators/DeleteOperator": MANAGE_OPERATORS,
    "/parley.v1.Operators/ResetPassword": MANAGE_OPERATORS,
    "/parley.v1.Operators/RevokeSessions": MANAGE_OPERATORS,
    "/parley.v1.Roles/GetRole": VIEW_OPERATORS,
    "/parley.v1.Roles/ListRoles": VIEW_OPERATORS,
    "/parley.v1.Roles/CreateRole": MANAGE_ROLES,
    "/parley.v1.Roles/UpdateRole": MANAGE_ROLES,
    "/parley.v1.Roles/DeleteRole": MANAGE_ROLES,
    # One's own quick replies; the account's need MANAGE_TEMPLATES to change.
    "/parley.v1.Templates/GetTemplate": CHAT,
    "/parley.v1.Templates/ListTemplates": CHAT,
    "/parley.v1.Templates/CreateTemplate": CHAT,
    "/parley.v1.Templates/UpdateTemplate": CHAT,
    "/parley.v1.Templates/DeleteTemplate": CHAT,
    "/parley.v1.Blocks/GetBlock": MANAGE_BLACKLIST,
    "/parley.v1.Blocks/ListBlocks": MANAGE_BLACKLIST,
    "/parley.v1.Blocks/CreateBlock": MANAGE_BLACKLIST,
    "/parley.v1.Blocks/DeleteBlock": MANAGE_BLACKLIST,
    "/parley.v1.Tickets/GetTicket": VIEW_TICKETS,
    "/parley.v1.Tickets/ListTickets": VIEW_TICKETS,
    # Who sees a ticket answers it, assigns it and closes it.
    "/parley.v1.Tickets/UpdateTicket": VIEW_TICKETS,
    "/parley.v1.Tickets/ReplyToTicket": VIEW_TICKETS,
    "/parley.v1.Conversations/ListWaitingConversations": ACCEPT,
    "/parley.v1.Conversations/ListMessages": CHAT,
    "/parley.v1.Conversations/GetVisitorInfo": CHAT,  # and the chat in sight
    # The history: one's own past chats with chat; more by the scopes and
    # view_history (RPC_CONDITIONAL; engine/records/history.py).
    "/parley.v1.Conversations/GetConversation": CHAT,
    "/parley.v1.Conversations/ListConversations": CHAT,
    "/parley.v1.Conversations/SearchConversations": CHAT,
    "/parley.v1.DirectMessages/ListDirectMessages": CHAT,  # one's own, with a colleague
    "/parley.v1.Reports/GetStatistics": VIEW_STATISTICS,
    "/parley.v1.Reports/GetUsage": BILLING,
    "/parley.v1.Reports/GetReport": VIEW_STATISTICS,
    # The server administrator's alone: no account role holds MANAGE_ACCOUNTS.
    "/parley.v1.Accounts/GetAccount": MANAGE_ACCOUNTS,
    "/parley.v1.Accounts/ListAccounts": MANAGE_ACCOUNTS,
    "/parley.v1.Accounts/CreateAccount": MANAGE_ACCOUNTS,
    "/parley.v1.Accounts/UpdateAccount": MANAGE_ACCOUNTS,
    "/parley.v1.Accounts/DeleteAccount": MANAGE_ACCOUNTS,
    "/parley.v1.Accounts/SuspendAccount": MANAGE_ACCOUNTS,
    "/parley.v1.Accounts/ResumeAccount": MANAGE_ACCOUNTS,
    # The whole server's numbers (its store, every account's connections): for who
    # administers sites, as the server's owner and admins do; not view_statistics,
    # which is about one account's departments.
    "/parley.v1.Server/GetStatus": MANAGE_SITES,
    # A backup holds every account's data: the server administrator's alone.
    "/parley.v1.Server/CreateBackup": MANAGE_ACCOUNTS,
    # Audit log and privacy: owners and admins (README "Audit log", "Export and erasure").
    "/parley.v1.Audit/ListAuditEvents": VIEW_AUDIT,
    "/parley.v1.Visitors/ExportVisitor": EXPORT_VISITORS,
    "/parley.v1.Visitors/EraseVisitor": ERASE_VISITORS,
    # The visitors on the sites now: whoever chats; inviting one needs more.
    "/parley.v1.Visitors/ListOnlineVisitors": CHAT,
    "/parley.v1.Visitors/InviteVisitor": INVITE_VISITORS,
    "/parley.v1.OperatorSession/Connect": CHAT,
    "/parley.v1.VisitorChannel/Connect": VISITOR_CHANNEL,
    # -- email and webhooks: the account's SMTP server and where its events go,
    # for who administers its sites (the SMTP password and the webhooks' secrets
    # reach outside).
    "/parley.v1.Mail/GetMailSettings": MANAGE_SITES,
    "/parley.v1.Mail/UpdateMailSettings": MANAGE_SITES,
    "/parley.v1.Mail/SendTestMail": MANAGE_SITES,
    "/parley.v1.Webhooks/GetWebhook": MANAGE_SITES,
    "/parley.v1.Webhooks/ListWebhooks": MANAGE_SITES,
    "/parley.v1.Webhooks/CreateWebhook": MANAGE_SITES,
    "/parley.v1.Webhooks/UpdateWebhook": MANAGE_SITES,
    "/parley.v1.Webhooks/DeleteWebhook": MANAGE_SITES,
    "/parley.v1.Webhooks/TestWebhook": MANAGE_SITES,
    # Files in chats: an operator in the chat sends; one with it in sight reads.
    "/parley.v1.Attachments/UploadAttachment": CHAT,
    "/parley.v1.Attachments/DownloadAttachment": CHAT,
}

# Calls that need a second permission for part of what they do (checked by the
# engine call behind the method, engine/chat/account.py, with the permission
# functions of engine/chat/permissions.py): what the part is, and the permission.
RPC_CONDITIONAL: dict[str, tuple[str, str]] = {
    "/parley.v1.Auth/UpdateMe": (
        "display_name; auto_accept needs auto_accept",
        CHANGE_DISPLAY_NAME,
    ),
    "/parley.v1.Templates/CreateTemplate": ("a shared quick reply", MANAGE_TEMPLATES),
    "/parley.v1.Templates/UpdateTemplate": ("a shared quick reply", MANAGE_TEMPLATES),
    "/parley.v1.Templates/DeleteTemplate": ("a shared quick reply", MANAGE_TEMPLATES),
    "/parley.v1.Conversations/ListWaitingConversations": (
        "another department's line",
        MANAGE_DEPARTMENTS,
    ),
    # One's own past chats need chat alone; one's departments' need
    # view_department_chats, the account's view_all_chats or view_history.
    "/parley.v1.Conversations/ListMessages": ("chats one took no part in", VIEW_HISTORY),
    "/parley.v1.Conversations/GetConversation": ("chats one took no part in", VIEW_HISTORY),
    "/parley.v1.Conversations/ListConversations": ("chats one took no part in", VIEW_HISTORY),
    "/parley.v1.Conversations/SearchConversations": ("chats one took no part in", VIEW_HISTORY),
}

# The built-in roles (accounts add their own) and the server administrator's.
ROLE_PERMISSIONS = {**BUILTIN_ROLES, **SERVER_ROLES}


def allowed(role: str, permission: str) -> bool:
    """Whether a built-in role holds ``permission`` (custom roles: Directory)."""
    return permission in ROLE_PERMISSIONS.get(role, frozenset())
