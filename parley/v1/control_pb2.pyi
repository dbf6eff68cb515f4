from parley.v1 import common_pb2 as _common_pb2
from parley.v1 import operator_pb2 as _operator_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LoginRequest(_message.Message):
    __slots__ = ("email", "password")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    email: str
    password: str
    def __init__(self, email: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class LoginReply(_message.Message):
    __slots__ = ("token", "expires_at_ms", "operator")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    token: str
    expires_at_ms: int
    operator: Operator
    def __init__(self, token: _Optional[str] = ..., expires_at_ms: _Optional[int] = ..., operator: _Optional[_Union[Operator, _Mapping]] = ...) -> None: ...

class Site(_message.Message):
    __slots__ = ("id", "account_id", "name", "allowed_origins", "timezone", "typing_preview", "languages")
    ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_ORIGINS_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    TYPING_PREVIEW_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    id: str
    account_id: str
    name: str
    allowed_origins: _containers.RepeatedScalarFieldContainer[str]
    timezone: str
    typing_preview: bool
    languages: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., account_id: _Optional[str] = ..., name: _Optional[str] = ..., allowed_origins: _Optional[_Iterable[str]] = ..., timezone: _Optional[str] = ..., typing_preview: _Optional[bool] = ..., languages: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateSiteRequest(_message.Message):
    __slots__ = ("name", "allowed_origins", "timezone", "no_typing_preview")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_ORIGINS_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    NO_TYPING_PREVIEW_FIELD_NUMBER: _ClassVar[int]
    name: str
    allowed_origins: _containers.RepeatedScalarFieldContainer[str]
    timezone: str
    no_typing_preview: bool
    def __init__(self, name: _Optional[str] = ..., allowed_origins: _Optional[_Iterable[str]] = ..., timezone: _Optional[str] = ..., no_typing_preview: _Optional[bool] = ...) -> None: ...

class ListSitesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSitesReply(_message.Message):
    __slots__ = ("sites",)
    SITES_FIELD_NUMBER: _ClassVar[int]
    sites: _containers.RepeatedCompositeFieldContainer[Site]
    def __init__(self, sites: _Optional[_Iterable[_Union[Site, _Mapping]]] = ...) -> None: ...

class Department(_message.Message):
    __slots__ = ("id", "site_id", "name", "description", "chat_enabled", "hours", "timezone", "max_wait_seconds", "fallback_department_id", "offer_seconds", "offline_action", "offline_seconds")
    ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CHAT_ENABLED_FIELD_NUMBER: _ClassVar[int]
    HOURS_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    MAX_WAIT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    OFFER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    OFFLINE_ACTION_FIELD_NUMBER: _ClassVar[int]
    OFFLINE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    id: str
    site_id: str
    name: str
    description: str
    chat_enabled: bool
    hours: str
    timezone: str
    max_wait_seconds: int
    fallback_department_id: str
    offer_seconds: int
    offline_action: str
    offline_seconds: int
    def __init__(self, id: _Optional[str] = ..., site_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., chat_enabled: _Optional[bool] = ..., hours: _Optional[str] = ..., timezone: _Optional[str] = ..., max_wait_seconds: _Optional[int] = ..., fallback_department_id: _Optional[str] = ..., offer_seconds: _Optional[int] = ..., offline_action: _Optional[str] = ..., offline_seconds: _Optional[int] = ...) -> None: ...

class UpdateDepartmentRequest(_message.Message):
    __slots__ = ("department_id", "name", "description", "chat_enabled", "hours", "timezone", "max_wait_seconds", "fallback_department_id", "offer_seconds", "offline_action", "offline_seconds")
    DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CHAT_ENABLED_FIELD_NUMBER: _ClassVar[int]
    HOURS_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    MAX_WAIT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    OFFER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    OFFLINE_ACTION_FIELD_NUMBER: _ClassVar[int]
    OFFLINE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    department_id: str
    name: str
    description: str
    chat_enabled: bool
    hours: str
    timezone: str
    max_wait_seconds: int
    fallback_department_id: str
    offer_seconds: int
    offline_action: str
    offline_seconds: int
    def __init__(self, department_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., chat_enabled: _Optional[bool] = ..., hours: _Optional[str] = ..., timezone: _Optional[str] = ..., max_wait_seconds: _Optional[int] = ..., fallback_department_id: _Optional[str] = ..., offer_seconds: _Optional[int] = ..., offline_action: _Optional[str] = ..., offline_seconds: _Optional[int] = ...) -> None: ...

class Region(_message.Message):
    __slots__ = ("id", "department_id", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    department_id: str
    name: str
    def __init__(self, id: _Optional[str] = ..., department_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class CreateRegionRequest(_message.Message):
    __slots__ = ("department_id", "name")
    DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    department_id: str
    name: str
    def __init__(self, department_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class ListRegionsRequest(_message.Message):
    __slots__ = ("department_id",)
    DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    department_id: str
    def __init__(self, department_id: _Optional[str] = ...) -> None: ...

class ListRegionsReply(_message.Message):
    __slots__ = ("regions",)
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    regions: _containers.RepeatedCompositeFieldContainer[Region]
    def __init__(self, regions: _Optional[_Iterable[_Union[Region, _Mapping]]] = ...) -> None: ...

class Group(_message.Message):
    __slots__ = ("id", "site_id", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    site_id: str
    name: str
    def __init__(self, id: _Optional[str] = ..., site_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class CreateGroupRequest(_message.Message):
    __slots__ = ("site_id", "name")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    name: str
    def __init__(self, site_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class ListGroupsRequest(_message.Message):
    __slots__ = ("site_id",)
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    def __init__(self, site_id: _Optional[str] = ...) -> None: ...

class ListGroupsReply(_message.Message):
    __slots__ = ("groups",)
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[Group]
    def __init__(self, groups: _Optional[_Iterable[_Union[Group, _Mapping]]] = ...) -> None: ...

class LinkRule(_message.Message):
    __slots__ = ("id", "site_id", "pattern", "group_id", "position")
    ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    id: str
    site_id: str
    pattern: str
    group_id: str
    position: int
    def __init__(self, id: _Optional[str] = ..., site_id: _Optional[str] = ..., pattern: _Optional[str] = ..., group_id: _Optional[str] = ..., position: _Optional[int] = ...) -> None: ...

class AddLinkRuleRequest(_message.Message):
    __slots__ = ("site_id", "pattern", "group_id", "position")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    pattern: str
    group_id: str
    position: int
    def __init__(self, site_id: _Optional[str] = ..., pattern: _Optional[str] = ..., group_id: _Optional[str] = ..., position: _Optional[int] = ...) -> None: ...

class ListLinkRulesRequest(_message.Message):
    __slots__ = ("site_id",)
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    def __init__(self, site_id: _Optional[str] = ...) -> None: ...

class ListLinkRulesReply(_message.Message):
    __slots__ = ("rules",)
    RULES_FIELD_NUMBER: _ClassVar[int]
    rules: _containers.RepeatedCompositeFieldContainer[LinkRule]
    def __init__(self, rules: _Optional[_Iterable[_Union[LinkRule, _Mapping]]] = ...) -> None: ...

class DeleteLinkRuleRequest(_message.Message):
    __slots__ = ("link_id",)
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    link_id: str
    def __init__(self, link_id: _Optional[str] = ...) -> None: ...

class SetSiteLanguagesRequest(_message.Message):
    __slots__ = ("site_id", "languages")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    languages: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, site_id: _Optional[str] = ..., languages: _Optional[_Iterable[str]] = ...) -> None: ...

class StringList(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, values: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateOperatorRequest(_message.Message):
    __slots__ = ("operator_id", "max_chats", "department_ids", "languages", "region_ids", "group_ids", "schedule", "timezone", "auto_distribution", "auto_accept")
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_CHATS_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    REGION_IDS_FIELD_NUMBER: _ClassVar[int]
    GROUP_IDS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    AUTO_DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    AUTO_ACCEPT_FIELD_NUMBER: _ClassVar[int]
    operator_id: str
    max_chats: int
    department_ids: StringList
    languages: StringList
    region_ids: StringList
    group_ids: StringList
    schedule: str
    timezone: str
    auto_distribution: bool
    auto_accept: bool
    def __init__(self, operator_id: _Optional[str] = ..., max_chats: _Optional[int] = ..., department_ids: _Optional[_Union[StringList, _Mapping]] = ..., languages: _Optional[_Union[StringList, _Mapping]] = ..., region_ids: _Optional[_Union[StringList, _Mapping]] = ..., group_ids: _Optional[_Union[StringList, _Mapping]] = ..., schedule: _Optional[str] = ..., timezone: _Optional[str] = ..., auto_distribution: _Optional[bool] = ..., auto_accept: _Optional[bool] = ...) -> None: ...

class ListWaitingRequest(_message.Message):
    __slots__ = ("department_id",)
    DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    department_id: str
    def __init__(self, department_id: _Optional[str] = ...) -> None: ...

class WaitingChat(_message.Message):
    __slots__ = ("conversation_id", "visitor_name", "position", "waited_seconds", "language", "region_id", "offered_to")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    VISITOR_NAME_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    WAITED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    OFFERED_TO_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    visitor_name: str
    position: int
    waited_seconds: int
    language: str
    region_id: str
    offered_to: str
    def __init__(self, conversation_id: _Optional[str] = ..., visitor_name: _Optional[str] = ..., position: _Optional[int] = ..., waited_seconds: _Optional[int] = ..., language: _Optional[str] = ..., region_id: _Optional[str] = ..., offered_to: _Optional[str] = ...) -> None: ...

class ListWaitingReply(_message.Message):
    __slots__ = ("chats",)
    CHATS_FIELD_NUMBER: _ClassVar[int]
    chats: _containers.RepeatedCompositeFieldContainer[WaitingChat]
    def __init__(self, chats: _Optional[_Iterable[_Union[WaitingChat, _Mapping]]] = ...) -> None: ...

class ListTicketsRequest(_message.Message):
    __slots__ = ("site_id", "limit")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    limit: int
    def __init__(self, site_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class Ticket(_message.Message):
    __slots__ = ("id", "site_id", "department_id", "visitor_id", "name", "email", "text", "created_ms", "language", "page_url")
    ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    VISITOR_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CREATED_MS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_URL_FIELD_NUMBER: _ClassVar[int]
    id: str
    site_id: str
    department_id: str
    visitor_id: str
    name: str
    email: str
    text: str
    created_ms: int
    language: str
    page_url: str
    def __init__(self, id: _Optional[str] = ..., site_id: _Optional[str] = ..., department_id: _Optional[str] = ..., visitor_id: _Optional[str] = ..., name: _Optional[str] = ..., email: _Optional[str] = ..., text: _Optional[str] = ..., created_ms: _Optional[int] = ..., language: _Optional[str] = ..., page_url: _Optional[str] = ...) -> None: ...

class ListTicketsReply(_message.Message):
    __slots__ = ("tickets",)
    TICKETS_FIELD_NUMBER: _ClassVar[int]
    tickets: _containers.RepeatedCompositeFieldContainer[Ticket]
    def __init__(self, tickets: _Optional[_Iterable[_Union[Ticket, _Mapping]]] = ...) -> None: ...

class CreateDepartmentRequest(_message.Message):
    __slots__ = ("site_id", "name", "description")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    name: str
    description: str
    def __init__(self, site_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ListDepartmentsRequest(_message.Message):
    __slots__ = ("site_id",)
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    def __init__(self, site_id: _Optional[str] = ...) -> None: ...

class ListDepartmentsReply(_message.Message):
    __slots__ = ("departments",)
    DEPARTMENTS_FIELD_NUMBER: _ClassVar[int]
    departments: _containers.RepeatedCompositeFieldContainer[Department]
    def __init__(self, departments: _Optional[_Iterable[_Union[Department, _Mapping]]] = ...) -> None: ...

class Operator(_message.Message):
    __slots__ = ("id", "account_id", "email", "display_name", "role", "department_ids", "max_chats", "online", "avatar_url", "languages", "region_ids", "group_ids", "schedule", "timezone", "auto_distribution", "auto_accept", "status")
    ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    MAX_CHATS_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    AVATAR_URL_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    REGION_IDS_FIELD_NUMBER: _ClassVar[int]
    GROUP_IDS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    AUTO_DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    AUTO_ACCEPT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    id: str
    account_id: str
    email: str
    display_name: str
    role: str
    department_ids: _containers.RepeatedScalarFieldContainer[str]
    max_chats: int
    online: bool
    avatar_url: str
    languages: _containers.RepeatedScalarFieldContainer[str]
    region_ids: _containers.RepeatedScalarFieldContainer[str]
    group_ids: _containers.RepeatedScalarFieldContainer[str]
    schedule: str
    timezone: str
    auto_distribution: bool
    auto_accept: bool
    status: str
    def __init__(self, id: _Optional[str] = ..., account_id: _Optional[str] = ..., email: _Optional[str] = ..., display_name: _Optional[str] = ..., role: _Optional[str] = ..., department_ids: _Optional[_Iterable[str]] = ..., max_chats: _Optional[int] = ..., online: _Optional[bool] = ..., avatar_url: _Optional[str] = ..., languages: _Optional[_Iterable[str]] = ..., region_ids: _Optional[_Iterable[str]] = ..., group_ids: _Optional[_Iterable[str]] = ..., schedule: _Optional[str] = ..., timezone: _Optional[str] = ..., auto_distribution: _Optional[bool] = ..., auto_accept: _Optional[bool] = ..., status: _Optional[str] = ...) -> None: ...

class AddOperatorRequest(_message.Message):
    __slots__ = ("email", "password", "display_name", "role", "department_ids", "max_chats")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    MAX_CHATS_FIELD_NUMBER: _ClassVar[int]
    email: str
    password: str
    display_name: str
    role: str
    department_ids: _containers.RepeatedScalarFieldContainer[str]
    max_chats: int
    def __init__(self, email: _Optional[str] = ..., password: _Optional[str] = ..., display_name: _Optional[str] = ..., role: _Optional[str] = ..., department_ids: _Optional[_Iterable[str]] = ..., max_chats: _Optional[int] = ...) -> None: ...

class ListOperatorsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListOperatorsReply(_message.Message):
    __slots__ = ("operators",)
    OPERATORS_FIELD_NUMBER: _ClassVar[int]
    operators: _containers.RepeatedCompositeFieldContainer[Operator]
    def __init__(self, operators: _Optional[_Iterable[_Union[Operator, _Mapping]]] = ...) -> None: ...

class GetTranscriptRequest(_message.Message):
    __slots__ = ("conversation_id", "after_seq", "limit")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    after_seq: int
    limit: int
    def __init__(self, conversation_id: _Optional[str] = ..., after_seq: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class Transcript(_message.Message):
    __slots__ = ("conversation_id", "messages")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    messages: _containers.RepeatedCompositeFieldContainer[_common_pb2.ChatMessage]
    def __init__(self, conversation_id: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[_common_pb2.ChatMessage, _Mapping]]] = ...) -> None: ...

class ChangePasswordRequest(_message.Message):
    __slots__ = ("current_password", "new_password")
    CURRENT_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    NEW_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    current_password: str
    new_password: str
    def __init__(self, current_password: _Optional[str] = ..., new_password: _Optional[str] = ...) -> None: ...

class ResetPasswordRequest(_message.Message):
    __slots__ = ("operator_id", "new_password")
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    NEW_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    operator_id: str
    new_password: str
    def __init__(self, operator_id: _Optional[str] = ..., new_password: _Optional[str] = ...) -> None: ...

class SessionInfo(_message.Message):
    __slots__ = ("id", "created_at_ms", "expires_at_ms", "current", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    created_at_ms: int
    expires_at_ms: int
    current: bool
    name: str
    def __init__(self, id: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., expires_at_ms: _Optional[int] = ..., current: _Optional[bool] = ..., name: _Optional[str] = ...) -> None: ...

class ListSessionsReply(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[SessionInfo]
    def __init__(self, sessions: _Optional[_Iterable[_Union[SessionInfo, _Mapping]]] = ...) -> None: ...

class RevokeSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class Role(_message.Message):
    __slots__ = ("name", "permissions", "builtin")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    BUILTIN_FIELD_NUMBER: _ClassVar[int]
    name: str
    permissions: _containers.RepeatedScalarFieldContainer[str]
    builtin: bool
    def __init__(self, name: _Optional[str] = ..., permissions: _Optional[_Iterable[str]] = ..., builtin: _Optional[bool] = ...) -> None: ...

class CreateRoleRequest(_message.Message):
    __slots__ = ("name", "permissions")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    permissions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., permissions: _Optional[_Iterable[str]] = ...) -> None: ...

class ListRolesReply(_message.Message):
    __slots__ = ("roles",)
    ROLES_FIELD_NUMBER: _ClassVar[int]
    roles: _containers.RepeatedCompositeFieldContainer[Role]
    def __init__(self, roles: _Optional[_Iterable[_Union[Role, _Mapping]]] = ...) -> None: ...

class CreateApiTokenRequest(_message.Message):
    __slots__ = ("name", "days")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    name: str
    days: int
    def __init__(self, name: _Optional[str] = ..., days: _Optional[int] = ...) -> None: ...

class SetDisplayNameRequest(_message.Message):
    __slots__ = ("display_name",)
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    display_name: str
    def __init__(self, display_name: _Optional[str] = ...) -> None: ...

class SetAvatarRequest(_message.Message):
    __slots__ = ("avatar_url",)
    AVATAR_URL_FIELD_NUMBER: _ClassVar[int]
    avatar_url: str
    def __init__(self, avatar_url: _Optional[str] = ...) -> None: ...

class GetVisitorInfoRequest(_message.Message):
    __slots__ = ("conversation_id",)
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    def __init__(self, conversation_id: _Optional[str] = ...) -> None: ...

class PageVisit(_message.Message):
    __slots__ = ("url", "title", "at_ms")
    URL_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    url: str
    title: str
    at_ms: int
    def __init__(self, url: _Optional[str] = ..., title: _Optional[str] = ..., at_ms: _Optional[int] = ...) -> None: ...

class VisitorInfo(_message.Message):
    __slots__ = ("visitor_id", "name", "email", "ip", "user_agent", "browser", "os", "language", "tz_offset_minutes", "local_time_ms", "referrer", "pages", "visits", "first_seen_ms", "last_seen_ms", "conversation_ids")
    VISITOR_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    BROWSER_FIELD_NUMBER: _ClassVar[int]
    OS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TZ_OFFSET_MINUTES_FIELD_NUMBER: _ClassVar[int]
    LOCAL_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    REFERRER_FIELD_NUMBER: _ClassVar[int]
    PAGES_FIELD_NUMBER: _ClassVar[int]
    VISITS_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_MS_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_IDS_FIELD_NUMBER: _ClassVar[int]
    visitor_id: str
    name: str
    email: str
    ip: str
    user_agent: str
    browser: str
    os: str
    language: str
    tz_offset_minutes: int
    local_time_ms: int
    referrer: str
    pages: _containers.RepeatedCompositeFieldContainer[PageVisit]
    visits: int
    first_seen_ms: int
    last_seen_ms: int
    conversation_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, visitor_id: _Optional[str] = ..., name: _Optional[str] = ..., email: _Optional[str] = ..., ip: _Optional[str] = ..., user_agent: _Optional[str] = ..., browser: _Optional[str] = ..., os: _Optional[str] = ..., language: _Optional[str] = ..., tz_offset_minutes: _Optional[int] = ..., local_time_ms: _Optional[int] = ..., referrer: _Optional[str] = ..., pages: _Optional[_Iterable[_Union[PageVisit, _Mapping]]] = ..., visits: _Optional[int] = ..., first_seen_ms: _Optional[int] = ..., last_seen_ms: _Optional[int] = ..., conversation_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Template(_message.Message):
    __slots__ = ("id", "operator_id", "shortcut", "text", "rendered")
    ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    SHORTCUT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    RENDERED_FIELD_NUMBER: _ClassVar[int]
    id: str
    operator_id: str
    shortcut: str
    text: str
    rendered: str
    def __init__(self, id: _Optional[str] = ..., operator_id: _Optional[str] = ..., shortcut: _Optional[str] = ..., text: _Optional[str] = ..., rendered: _Optional[str] = ...) -> None: ...

class AddTemplateRequest(_message.Message):
    __slots__ = ("shortcut", "text", "shared")
    SHORTCUT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SHARED_FIELD_NUMBER: _ClassVar[int]
    shortcut: str
    text: str
    shared: bool
    def __init__(self, shortcut: _Optional[str] = ..., text: _Optional[str] = ..., shared: _Optional[bool] = ...) -> None: ...

class ListTemplatesRequest(_message.Message):
    __slots__ = ("prefix", "conversation_id")
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    conversation_id: str
    def __init__(self, prefix: _Optional[str] = ..., conversation_id: _Optional[str] = ...) -> None: ...

class ListTemplatesReply(_message.Message):
    __slots__ = ("templates",)
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedCompositeFieldContainer[Template]
    def __init__(self, templates: _Optional[_Iterable[_Union[Template, _Mapping]]] = ...) -> None: ...

class DeleteTemplateRequest(_message.Message):
    __slots__ = ("template_id",)
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    def __init__(self, template_id: _Optional[str] = ...) -> None: ...

class ListDirectMessagesRequest(_message.Message):
    __slots__ = ("with_operator_id", "after_seq", "limit")
    WITH_OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    with_operator_id: str
    after_seq: int
    limit: int
    def __init__(self, with_operator_id: _Optional[str] = ..., after_seq: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ListDirectMessagesReply(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[_operator_pb2.DirectMessage]
    def __init__(self, messages: _Optional[_Iterable[_Union[_operator_pb2.DirectMessage, _Mapping]]] = ...) -> None: ...

class SetMyAutoAcceptRequest(_message.Message):
    __slots__ = ("auto_accept",)
    AUTO_ACCEPT_FIELD_NUMBER: _ClassVar[int]
    auto_accept: bool
    def __init__(self, auto_accept: _Optional[bool] = ...) -> None: ...

class GetStatisticsRequest(_message.Message):
    __slots__ = ("site_id",)
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    def __init__(self, site_id: _Optional[str] = ...) -> None: ...

class DepartmentStatistics(_message.Message):
    __slots__ = ("department_id", "name", "waiting", "active", "on_hold", "missed", "operators_online", "first_response_ms")
    DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    WAITING_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    ON_HOLD_FIELD_NUMBER: _ClassVar[int]
    MISSED_FIELD_NUMBER: _ClassVar[int]
    OPERATORS_ONLINE_FIELD_NUMBER: _ClassVar[int]
    FIRST_RESPONSE_MS_FIELD_NUMBER: _ClassVar[int]
    department_id: str
    name: str
    waiting: int
    active: int
    on_hold: int
    missed: int
    operators_online: int
    first_response_ms: int
    def __init__(self, department_id: _Optional[str] = ..., name: _Optional[str] = ..., waiting: _Optional[int] = ..., active: _Optional[int] = ..., on_hold: _Optional[int] = ..., missed: _Optional[int] = ..., operators_online: _Optional[int] = ..., first_response_ms: _Optional[int] = ...) -> None: ...

class Statistics(_message.Message):
    __slots__ = ("departments",)
    DEPARTMENTS_FIELD_NUMBER: _ClassVar[int]
    departments: _containers.RepeatedCompositeFieldContainer[DepartmentStatistics]
    def __init__(self, departments: _Optional[_Iterable[_Union[DepartmentStatistics, _Mapping]]] = ...) -> None: ...

class AddBlockRequest(_message.Message):
    __slots__ = ("site_id", "ip", "visitor_id", "reason", "expires_in_seconds")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    VISITOR_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    ip: str
    visitor_id: str
    reason: str
    expires_in_seconds: int
    def __init__(self, site_id: _Optional[str] = ..., ip: _Optional[str] = ..., visitor_id: _Optional[str] = ..., reason: _Optional[str] = ..., expires_in_seconds: _Optional[int] = ...) -> None: ...

class Block(_message.Message):
    __slots__ = ("id", "site_id", "kind", "value", "reason", "created_ms", "expires_ms")
    ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_MS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_MS_FIELD_NUMBER: _ClassVar[int]
    id: str
    site_id: str
    kind: str
    value: str
    reason: str
    created_ms: int
    expires_ms: int
    def __init__(self, id: _Optional[str] = ..., site_id: _Optional[str] = ..., kind: _Optional[str] = ..., value: _Optional[str] = ..., reason: _Optional[str] = ..., created_ms: _Optional[int] = ..., expires_ms: _Optional[int] = ...) -> None: ...

class ListBlocksRequest(_message.Message):
    __slots__ = ("site_id",)
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    def __init__(self, site_id: _Optional[str] = ...) -> None: ...

class ListBlocksReply(_message.Message):
    __slots__ = ("blocks",)
    BLOCKS_FIELD_NUMBER: _ClassVar[int]
    blocks: _containers.RepeatedCompositeFieldContainer[Block]
    def __init__(self, blocks: _Optional[_Iterable[_Union[Block, _Mapping]]] = ...) -> None: ...

class RemoveBlockRequest(_message.Message):
    __slots__ = ("block_id",)
    BLOCK_ID_FIELD_NUMBER: _ClassVar[int]
    block_id: str
    def __init__(self, block_id: _Optional[str] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("sites", "departments", "operators", "conversations", "messages", "store_bytes")
    SITES_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENTS_FIELD_NUMBER: _ClassVar[int]
    OPERATORS_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    STORE_BYTES_FIELD_NUMBER: _ClassVar[int]
    sites: int
    departments: int
    operators: int
    conversations: int
    messages: int
    store_bytes: int
    def __init__(self, sites: _Optional[int] = ..., departments: _Optional[int] = ..., operators: _Optional[int] = ..., conversations: _Optional[int] = ..., messages: _Optional[int] = ..., store_bytes: _Optional[int] = ...) -> None: ...
