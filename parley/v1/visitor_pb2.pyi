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
    __slots__ = ("hello", "send", "rate", "typing", "read")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    SEND_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    TYPING_FIELD_NUMBER: _ClassVar[int]
    READ_FIELD_NUMBER: _ClassVar[int]
    hello: VisitorHello
    send: VisitorSend
    rate: VisitorRate
    typing: VisitorTyping
    read: VisitorRead
    def __init__(self, hello: _Optional[_Union[VisitorHello, _Mapping]] = ..., send: _Optional[_Union[VisitorSend, _Mapping]] = ..., rate: _Optional[_Union[VisitorRate, _Mapping]] = ..., typing: _Optional[_Union[VisitorTyping, _Mapping]] = ..., read: _Optional[_Union[VisitorRead, _Mapping]] = ...) -> None: ...

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
    __slots__ = ("site_id", "department_id", "token", "last_seq", "name", "email")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQ_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    department_id: str
    token: str
    last_seq: int
    name: str
    email: str
    def __init__(self, site_id: _Optional[str] = ..., department_id: _Optional[str] = ..., token: _Optional[str] = ..., last_seq: _Optional[int] = ..., name: _Optional[str] = ..., email: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("welcome", "message", "ack", "error", "queued", "assigned", "closed", "rated", "typing", "read")
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
    def __init__(self, welcome: _Optional[_Union[VisitorWelcome, _Mapping]] = ..., message: _Optional[_Union[_common_pb2.ChatMessage, _Mapping]] = ..., ack: _Optional[_Union[_common_pb2.MessageAck, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.CommandError, _Mapping]] = ..., queued: _Optional[_Union[QueuePosition, _Mapping]] = ..., assigned: _Optional[_Union[OperatorJoined, _Mapping]] = ..., closed: _Optional[_Union[ConversationClosedForVisitor, _Mapping]] = ..., rated: _Optional[_Union[ConversationRatedForVisitor, _Mapping]] = ..., typing: _Optional[_Union[_common_pb2.TypingNotice, _Mapping]] = ..., read: _Optional[_Union[_common_pb2.ReadReceipt, _Mapping]] = ...) -> None: ...

class ConversationRatedForVisitor(_message.Message):
    __slots__ = ("conversation_id", "score")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    score: int
    def __init__(self, conversation_id: _Optional[str] = ..., score: _Optional[int] = ...) -> None: ...

class VisitorWelcome(_message.Message):
    __slots__ = ("visitor_id", "token", "conversation_id", "last_seq")
    VISITOR_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQ_FIELD_NUMBER: _ClassVar[int]
    visitor_id: str
    token: str
    conversation_id: str
    last_seq: int
    def __init__(self, visitor_id: _Optional[str] = ..., token: _Optional[str] = ..., conversation_id: _Optional[str] = ..., last_seq: _Optional[int] = ...) -> None: ...

class QueuePosition(_message.Message):
    __slots__ = ("conversation_id", "position")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    position: int
    def __init__(self, conversation_id: _Optional[str] = ..., position: _Optional[int] = ...) -> None: ...

class OperatorJoined(_message.Message):
    __slots__ = ("conversation_id", "operator_name")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_NAME_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    operator_name: str
    def __init__(self, conversation_id: _Optional[str] = ..., operator_name: _Optional[str] = ...) -> None: ...

class ConversationClosedForVisitor(_message.Message):
    __slots__ = ("conversation_id",)
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    def __init__(self, conversation_id: _Optional[str] = ...) -> None: ...
