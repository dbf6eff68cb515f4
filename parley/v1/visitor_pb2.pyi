from parley.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VisitorCommandBatch(_message.Message):
    __slots__ = ("commands",)
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    commands: _containers.RepeatedCompositeFieldContainer[VisitorCommand]
    def __init__(self, commands: _Optional[_Iterable[_Union[VisitorCommand, _Mapping]]] = ...) -> None: ...

class VisitorCommand(_message.Message):
    __slots__ = ("hello", "send", "rate", "typing", "read", "choose", "ticket", "page", "close")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    SEND_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    TYPING_FIELD_NUMBER: _ClassVar[int]
    READ_FIELD_NUMBER: _ClassVar[int]
    CHOOSE_FIELD_NUMBER: _ClassVar[int]
    TICKET_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    hello: VisitorHello
    send: VisitorSend
    rate: VisitorRate
    typing: VisitorTyping
    read: VisitorRead
    choose: VisitorChoose
    ticket: VisitorTicket
    page: VisitorPage
    close: VisitorClose
    def __init__(self, hello: _Optional[_Union[VisitorHello, _Mapping]] = ..., send: _Optional[_Union[VisitorSend, _Mapping]] = ..., rate: _Optional[_Union[VisitorRate, _Mapping]] = ..., typing: _Optional[_Union[VisitorTyping, _Mapping]] = ..., read: _Optional[_Union[VisitorRead, _Mapping]] = ..., choose: _Optional[_Union[VisitorChoose, _Mapping]] = ..., ticket: _Optional[_Union[VisitorTicket, _Mapping]] = ..., page: _Optional[_Union[VisitorPage, _Mapping]] = ..., close: _Optional[_Union[VisitorClose, _Mapping]] = ...) -> None: ...

class VisitorClose(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VisitorPage(_message.Message):
    __slots__ = ("url", "title")
    URL_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    url: str
    title: str
    def __init__(self, url: _Optional[str] = ..., title: _Optional[str] = ...) -> None: ...

class VisitorChoose(_message.Message):
    __slots__ = ("department_id", "region_id")
    DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    department_id: str
    region_id: str
    def __init__(self, department_id: _Optional[str] = ..., region_id: _Optional[str] = ...) -> None: ...

class VisitorTicket(_message.Message):
    __slots__ = ("name", "email", "text")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    name: str
    email: str
    text: str
    def __init__(self, name: _Optional[str] = ..., email: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class VisitorRead(_message.Message):
    __slots__ = ("seq",)
    SEQ_FIELD_NUMBER: _ClassVar[int]
    seq: int
    def __init__(self, seq: _Optional[int] = ...) -> None: ...

class VisitorTyping(_message.Message):
    __slots__ = ("active", "text")
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    active: bool
    text: str
    def __init__(self, active: _Optional[bool] = ..., text: _Optional[str] = ...) -> None: ...

class VisitorRate(_message.Message):
    __slots__ = ("score", "comment")
    SCORE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    score: int
    comment: str
    def __init__(self, score: _Optional[int] = ..., comment: _Optional[str] = ...) -> None: ...

class VisitorHello(_message.Message):
    __slots__ = ("site_id", "department_id", "token", "last_seq", "name", "email", "region_id", "page_url", "language", "page_title", "referrer", "tz_offset_minutes", "user_agent", "ip")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQ_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_URL_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TITLE_FIELD_NUMBER: _ClassVar[int]
    REFERRER_FIELD_NUMBER: _ClassVar[int]
    TZ_OFFSET_MINUTES_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    department_id: str
    token: str
    last_seq: int
    name: str
    email: str
    region_id: str
    page_url: str
    language: str
    page_title: str
    referrer: str
    tz_offset_minutes: int
    user_agent: str
    ip: str
    def __init__(self, site_id: _Optional[str] = ..., department_id: _Optional[str] = ..., token: _Optional[str] = ..., last_seq: _Optional[int] = ..., name: _Optional[str] = ..., email: _Optional[str] = ..., region_id: _Optional[str] = ..., page_url: _Optional[str] = ..., language: _Optional[str] = ..., page_title: _Optional[str] = ..., referrer: _Optional[str] = ..., tz_offset_minutes: _Optional[int] = ..., user_agent: _Optional[str] = ..., ip: _Optional[str] = ...) -> None: ...

class VisitorSend(_message.Message):
    __slots__ = ("client_msg_id", "text")
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    client_msg_id: str
    text: str
    def __init__(self, client_msg_id: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class VisitorEventBatch(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[VisitorEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[VisitorEvent, _Mapping]]] = ...) -> None: ...

class VisitorEvent(_message.Message):
    __slots__ = ("welcome", "message", "ack", "error", "queued", "assigned", "closed", "rated", "typing", "read", "departments", "ticket")
    WELCOME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_FIELD_NUMBER: _ClassVar[int]
    CLOSED_FIELD_NUMBER: _ClassVar[int]
    RATED_FIELD_NUMBER: _ClassVar[int]
    TYPING_FIELD_NUMBER: _ClassVar[int]
    READ_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENTS_FIELD_NUMBER: _ClassVar[int]
    TICKET_FIELD_NUMBER: _ClassVar[int]
    welcome: VisitorWelcome
    message: _common_pb2.ChatMessage
    ack: _common_pb2.MessageAck
    error: _common_pb2.CommandError
    queued: QueuePosition
    assigned: OperatorJoined
    closed: ConversationClosedForVisitor
    rated: ConversationRatedForVisitor
    typing: _common_pb2.TypingNotice
    read: _common_pb2.ReadReceipt
    departments: DepartmentsState
    ticket: TicketSaved
    def __init__(self, welcome: _Optional[_Union[VisitorWelcome, _Mapping]] = ..., message: _Optional[_Union[_common_pb2.ChatMessage, _Mapping]] = ..., ack: _Optional[_Union[_common_pb2.MessageAck, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.CommandError, _Mapping]] = ..., queued: _Optional[_Union[QueuePosition, _Mapping]] = ..., assigned: _Optional[_Union[OperatorJoined, _Mapping]] = ..., closed: _Optional[_Union[ConversationClosedForVisitor, _Mapping]] = ..., rated: _Optional[_Union[ConversationRatedForVisitor, _Mapping]] = ..., typing: _Optional[_Union[_common_pb2.TypingNotice, _Mapping]] = ..., read: _Optional[_Union[_common_pb2.ReadReceipt, _Mapping]] = ..., departments: _Optional[_Union[DepartmentsState, _Mapping]] = ..., ticket: _Optional[_Union[TicketSaved, _Mapping]] = ...) -> None: ...

class TicketSaved(_message.Message):
    __slots__ = ("ticket_id",)
    TICKET_ID_FIELD_NUMBER: _ClassVar[int]
    ticket_id: str
    def __init__(self, ticket_id: _Optional[str] = ...) -> None: ...

class RegionState(_message.Message):
    __slots__ = ("region_id", "name", "online")
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    region_id: str
    name: str
    online: bool
    def __init__(self, region_id: _Optional[str] = ..., name: _Optional[str] = ..., online: _Optional[bool] = ...) -> None: ...

class DepartmentState(_message.Message):
    __slots__ = ("department_id", "name", "online", "regions")
    DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    department_id: str
    name: str
    online: bool
    regions: _containers.RepeatedCompositeFieldContainer[RegionState]
    def __init__(self, department_id: _Optional[str] = ..., name: _Optional[str] = ..., online: _Optional[bool] = ..., regions: _Optional[_Iterable[_Union[RegionState, _Mapping]]] = ...) -> None: ...

class DepartmentsState(_message.Message):
    __slots__ = ("departments", "chosen_department_id", "offline")
    DEPARTMENTS_FIELD_NUMBER: _ClassVar[int]
    CHOSEN_DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    OFFLINE_FIELD_NUMBER: _ClassVar[int]
    departments: _containers.RepeatedCompositeFieldContainer[DepartmentState]
    chosen_department_id: str
    offline: bool
    def __init__(self, departments: _Optional[_Iterable[_Union[DepartmentState, _Mapping]]] = ..., chosen_department_id: _Optional[str] = ..., offline: _Optional[bool] = ...) -> None: ...

class ConversationRatedForVisitor(_message.Message):
    __slots__ = ("conversation_id", "score")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    score: int
    def __init__(self, conversation_id: _Optional[str] = ..., score: _Optional[int] = ...) -> None: ...

class VisitorWelcome(_message.Message):
    __slots__ = ("visitor_id", "token", "conversation_id", "last_seq", "departments")
    VISITOR_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQ_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENTS_FIELD_NUMBER: _ClassVar[int]
    visitor_id: str
    token: str
    conversation_id: str
    last_seq: int
    departments: DepartmentsState
    def __init__(self, visitor_id: _Optional[str] = ..., token: _Optional[str] = ..., conversation_id: _Optional[str] = ..., last_seq: _Optional[int] = ..., departments: _Optional[_Union[DepartmentsState, _Mapping]] = ...) -> None: ...

class QueuePosition(_message.Message):
    __slots__ = ("conversation_id", "position", "eta_seconds")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    position: int
    eta_seconds: int
    def __init__(self, conversation_id: _Optional[str] = ..., position: _Optional[int] = ..., eta_seconds: _Optional[int] = ...) -> None: ...

class OperatorJoined(_message.Message):
    __slots__ = ("conversation_id", "operator_name")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_NAME_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    operator_name: str
    def __init__(self, conversation_id: _Optional[str] = ..., operator_name: _Optional[str] = ...) -> None: ...

class ConversationClosedForVisitor(_message.Message):
    __slots__ = ("conversation_id", "reason")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    reason: str
    def __init__(self, conversation_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
