from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AuthorKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUTHOR_KIND_UNSPECIFIED: _ClassVar[AuthorKind]
    AUTHOR_KIND_VISITOR: _ClassVar[AuthorKind]
    AUTHOR_KIND_OPERATOR: _ClassVar[AuthorKind]
    AUTHOR_KIND_SYSTEM: _ClassVar[AuthorKind]
    AUTHOR_KIND_NOTE: _ClassVar[AuthorKind]

class ConversationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONVERSATION_STATUS_UNSPECIFIED: _ClassVar[ConversationStatus]
    CONVERSATION_STATUS_QUEUED: _ClassVar[ConversationStatus]
    CONVERSATION_STATUS_ACTIVE: _ClassVar[ConversationStatus]
    CONVERSATION_STATUS_CLOSED: _ClassVar[ConversationStatus]
AUTHOR_KIND_UNSPECIFIED: AuthorKind
AUTHOR_KIND_VISITOR: AuthorKind
AUTHOR_KIND_OPERATOR: AuthorKind
AUTHOR_KIND_SYSTEM: AuthorKind
AUTHOR_KIND_NOTE: AuthorKind
CONVERSATION_STATUS_UNSPECIFIED: ConversationStatus
CONVERSATION_STATUS_QUEUED: ConversationStatus
CONVERSATION_STATUS_ACTIVE: ConversationStatus
CONVERSATION_STATUS_CLOSED: ConversationStatus

class ChatMessage(_message.Message):
    __slots__ = ("conversation_id", "seq", "author_kind", "author_id", "author_name", "text", "client_msg_id", "sent_at_ms")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_KIND_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_NAME_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_MS_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    seq: int
    author_kind: AuthorKind
    author_id: str
    author_name: str
    text: str
    client_msg_id: str
    sent_at_ms: int
    def __init__(self, conversation_id: _Optional[str] = ..., seq: _Optional[int] = ..., author_kind: _Optional[_Union[AuthorKind, str]] = ..., author_id: _Optional[str] = ..., author_name: _Optional[str] = ..., text: _Optional[str] = ..., client_msg_id: _Optional[str] = ..., sent_at_ms: _Optional[int] = ...) -> None: ...

class CommandError(_message.Message):
    __slots__ = ("code", "message", "retryable", "client_msg_id", "conversation_id")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    retryable: bool
    client_msg_id: str
    conversation_id: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., retryable: _Optional[bool] = ..., client_msg_id: _Optional[str] = ..., conversation_id: _Optional[str] = ...) -> None: ...

class MessageAck(_message.Message):
    __slots__ = ("conversation_id", "client_msg_id", "seq")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    client_msg_id: str
    seq: int
    def __init__(self, conversation_id: _Optional[str] = ..., client_msg_id: _Optional[str] = ..., seq: _Optional[int] = ...) -> None: ...

class ResumePoint(_message.Message):
    __slots__ = ("conversation_id", "after_seq")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    after_seq: int
    def __init__(self, conversation_id: _Optional[str] = ..., after_seq: _Optional[int] = ...) -> None: ...

class TypingNotice(_message.Message):
    __slots__ = ("conversation_id", "author_kind", "author_name", "active", "preview")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_KIND_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_NAME_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    author_kind: AuthorKind
    author_name: str
    active: bool
    preview: str
    def __init__(self, conversation_id: _Optional[str] = ..., author_kind: _Optional[_Union[AuthorKind, str]] = ..., author_name: _Optional[str] = ..., active: _Optional[bool] = ..., preview: _Optional[str] = ...) -> None: ...

class ReadReceipt(_message.Message):
    __slots__ = ("conversation_id", "reader_kind", "reader_name", "seq")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    READER_KIND_FIELD_NUMBER: _ClassVar[int]
    READER_NAME_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    reader_kind: AuthorKind
    reader_name: str
    seq: int
    def __init__(self, conversation_id: _Optional[str] = ..., reader_kind: _Optional[_Union[AuthorKind, str]] = ..., reader_name: _Optional[str] = ..., seq: _Optional[int] = ...) -> None: ...

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
