from parley.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OperatorCommandBatch(_message.Message):
    __slots__ = ("commands",)
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    commands: _containers.RepeatedCompositeFieldContainer[OperatorCommand]
    def __init__(self, commands: _Optional[_Iterable[_Union[OperatorCommand, _Mapping]]] = ...) -> None: ...

class OperatorCommand(_message.Message):
    __slots__ = ("hello", "send", "close", "typing", "read", "status", "answer", "pick", "action", "whisper", "direct")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    SEND_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    TYPING_FIELD_NUMBER: _ClassVar[int]
    READ_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    PICK_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    WHISPER_FIELD_NUMBER: _ClassVar[int]
    DIRECT_FIELD_NUMBER: _ClassVar[int]
    hello: OperatorHello
    send: OperatorSend
    close: CloseConversation
    typing: OperatorTyping
    read: OperatorRead
    status: SetStatus
    answer: OfferAnswer
    pick: PickConversation
    action: ChatAction
    whisper: OperatorSend
    direct: DirectSend
    def __init__(self, hello: _Optional[_Union[OperatorHello, _Mapping]] = ..., send: _Optional[_Union[OperatorSend, _Mapping]] = ..., close: _Optional[_Union[CloseConversation, _Mapping]] = ..., typing: _Optional[_Union[OperatorTyping, _Mapping]] = ..., read: _Optional[_Union[OperatorRead, _Mapping]] = ..., status: _Optional[_Union[SetStatus, _Mapping]] = ..., answer: _Optional[_Union[OfferAnswer, _Mapping]] = ..., pick: _Optional[_Union[PickConversation, _Mapping]] = ..., action: _Optional[_Union[ChatAction, _Mapping]] = ..., whisper: _Optional[_Union[OperatorSend, _Mapping]] = ..., direct: _Optional[_Union[DirectSend, _Mapping]] = ...) -> None: ...

class DirectSend(_message.Message):
    __slots__ = ("to_operator_id", "client_msg_id", "text")
    TO_OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    to_operator_id: str
    client_msg_id: str
    text: str
    def __init__(self, to_operator_id: _Optional[str] = ..., client_msg_id: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class ChatAction(_message.Message):
    __slots__ = ("conversation_id", "join", "leave", "invite_operator_id", "transfer_to_operator_id", "transfer_to_department_id", "take_over", "chat_status")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    JOIN_FIELD_NUMBER: _ClassVar[int]
    LEAVE_FIELD_NUMBER: _ClassVar[int]
    INVITE_OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_TO_OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_TO_DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    TAKE_OVER_FIELD_NUMBER: _ClassVar[int]
    CHAT_STATUS_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    join: JoinChat
    leave: LeaveChat
    invite_operator_id: str
    transfer_to_operator_id: str
    transfer_to_department_id: str
    take_over: TakeOver
    chat_status: str
    def __init__(self, conversation_id: _Optional[str] = ..., join: _Optional[_Union[JoinChat, _Mapping]] = ..., leave: _Optional[_Union[LeaveChat, _Mapping]] = ..., invite_operator_id: _Optional[str] = ..., transfer_to_operator_id: _Optional[str] = ..., transfer_to_department_id: _Optional[str] = ..., take_over: _Optional[_Union[TakeOver, _Mapping]] = ..., chat_status: _Optional[str] = ...) -> None: ...

class JoinChat(_message.Message):
    __slots__ = ("invisible",)
    INVISIBLE_FIELD_NUMBER: _ClassVar[int]
    invisible: bool
    def __init__(self, invisible: _Optional[bool] = ...) -> None: ...

class LeaveChat(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TakeOver(_message.Message):
    __slots__ = ("from_operator_id",)
    FROM_OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    from_operator_id: str
    def __init__(self, from_operator_id: _Optional[str] = ...) -> None: ...

class SetStatus(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: str
    def __init__(self, status: _Optional[str] = ...) -> None: ...

class OfferAnswer(_message.Message):
    __slots__ = ("conversation_id", "accept")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    accept: bool
    def __init__(self, conversation_id: _Optional[str] = ..., accept: _Optional[bool] = ...) -> None: ...

class PickConversation(_message.Message):
    __slots__ = ("conversation_id",)
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    def __init__(self, conversation_id: _Optional[str] = ...) -> None: ...

class OperatorRead(_message.Message):
    __slots__ = ("conversation_id", "seq")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    seq: int
    def __init__(self, conversation_id: _Optional[str] = ..., seq: _Optional[int] = ...) -> None: ...

class OperatorTyping(_message.Message):
    __slots__ = ("conversation_id", "active")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    active: bool
    def __init__(self, conversation_id: _Optional[str] = ..., active: _Optional[bool] = ...) -> None: ...

class OperatorHello(_message.Message):
    __slots__ = ("resume",)
    RESUME_FIELD_NUMBER: _ClassVar[int]
    resume: _containers.RepeatedCompositeFieldContainer[_common_pb2.ResumePoint]
    def __init__(self, resume: _Optional[_Iterable[_Union[_common_pb2.ResumePoint, _Mapping]]] = ...) -> None: ...

class OperatorSend(_message.Message):
    __slots__ = ("conversation_id", "client_msg_id", "text")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    client_msg_id: str
    text: str
    def __init__(self, conversation_id: _Optional[str] = ..., client_msg_id: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class CloseConversation(_message.Message):
    __slots__ = ("conversation_id",)
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    def __init__(self, conversation_id: _Optional[str] = ...) -> None: ...

class OperatorEventBatch(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[OperatorEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[OperatorEvent, _Mapping]]] = ...) -> None: ...

class OperatorEvent(_message.Message):
    __slots__ = ("ready", "assigned", "message", "ack", "error", "closed", "rated", "typing", "read", "offered", "withdrawn", "presence", "listed", "unlisted", "direct")
    READY_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CLOSED_FIELD_NUMBER: _ClassVar[int]
    RATED_FIELD_NUMBER: _ClassVar[int]
    TYPING_FIELD_NUMBER: _ClassVar[int]
    READ_FIELD_NUMBER: _ClassVar[int]
    OFFERED_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_FIELD_NUMBER: _ClassVar[int]
    LISTED_FIELD_NUMBER: _ClassVar[int]
    UNLISTED_FIELD_NUMBER: _ClassVar[int]
    DIRECT_FIELD_NUMBER: _ClassVar[int]
    ready: SessionReady
    assigned: ConversationAssigned
    message: _common_pb2.ChatMessage
    ack: _common_pb2.MessageAck
    error: _common_pb2.CommandError
    closed: ConversationClosed
    rated: ConversationRated
    typing: _common_pb2.TypingNotice
    read: _common_pb2.ReadReceipt
    offered: ChatOffered
    withdrawn: OfferWithdrawn
    presence: OperatorStatus
    listed: ChatListed
    unlisted: ChatUnlisted
    direct: DirectMessage
    def __init__(self, ready: _Optional[_Union[SessionReady, _Mapping]] = ..., assigned: _Optional[_Union[ConversationAssigned, _Mapping]] = ..., message: _Optional[_Union[_common_pb2.ChatMessage, _Mapping]] = ..., ack: _Optional[_Union[_common_pb2.MessageAck, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.CommandError, _Mapping]] = ..., closed: _Optional[_Union[ConversationClosed, _Mapping]] = ..., rated: _Optional[_Union[ConversationRated, _Mapping]] = ..., typing: _Optional[_Union[_common_pb2.TypingNotice, _Mapping]] = ..., read: _Optional[_Union[_common_pb2.ReadReceipt, _Mapping]] = ..., offered: _Optional[_Union[ChatOffered, _Mapping]] = ..., withdrawn: _Optional[_Union[OfferWithdrawn, _Mapping]] = ..., presence: _Optional[_Union[OperatorStatus, _Mapping]] = ..., listed: _Optional[_Union[ChatListed, _Mapping]] = ..., unlisted: _Optional[_Union[ChatUnlisted, _Mapping]] = ..., direct: _Optional[_Union[DirectMessage, _Mapping]] = ...) -> None: ...

class DirectMessage(_message.Message):
    __slots__ = ("pair_id", "seq", "from_operator_id", "from_name", "to_operator_id", "text", "client_msg_id", "sent_at_ms")
    PAIR_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    FROM_OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_NAME_FIELD_NUMBER: _ClassVar[int]
    TO_OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MSG_ID_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_MS_FIELD_NUMBER: _ClassVar[int]
    pair_id: str
    seq: int
    from_operator_id: str
    from_name: str
    to_operator_id: str
    text: str
    client_msg_id: str
    sent_at_ms: int
    def __init__(self, pair_id: _Optional[str] = ..., seq: _Optional[int] = ..., from_operator_id: _Optional[str] = ..., from_name: _Optional[str] = ..., to_operator_id: _Optional[str] = ..., text: _Optional[str] = ..., client_msg_id: _Optional[str] = ..., sent_at_ms: _Optional[int] = ...) -> None: ...

class ChatCard(_message.Message):
    __slots__ = ("conversation_id", "site_id", "department_id", "visitor_id", "visitor_name", "status", "operator_ids", "invisible_operator_ids", "missed", "chat_status", "started_ms", "updated_ms")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    VISITOR_ID_FIELD_NUMBER: _ClassVar[int]
    VISITOR_NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_IDS_FIELD_NUMBER: _ClassVar[int]
    INVISIBLE_OPERATOR_IDS_FIELD_NUMBER: _ClassVar[int]
    MISSED_FIELD_NUMBER: _ClassVar[int]
    CHAT_STATUS_FIELD_NUMBER: _ClassVar[int]
    STARTED_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_MS_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    site_id: str
    department_id: str
    visitor_id: str
    visitor_name: str
    status: str
    operator_ids: _containers.RepeatedScalarFieldContainer[str]
    invisible_operator_ids: _containers.RepeatedScalarFieldContainer[str]
    missed: bool
    chat_status: str
    started_ms: int
    updated_ms: int
    def __init__(self, conversation_id: _Optional[str] = ..., site_id: _Optional[str] = ..., department_id: _Optional[str] = ..., visitor_id: _Optional[str] = ..., visitor_name: _Optional[str] = ..., status: _Optional[str] = ..., operator_ids: _Optional[_Iterable[str]] = ..., invisible_operator_ids: _Optional[_Iterable[str]] = ..., missed: _Optional[bool] = ..., chat_status: _Optional[str] = ..., started_ms: _Optional[int] = ..., updated_ms: _Optional[int] = ...) -> None: ...

class ChatListed(_message.Message):
    __slots__ = ("card", "view")
    CARD_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    card: ChatCard
    view: str
    def __init__(self, card: _Optional[_Union[ChatCard, _Mapping]] = ..., view: _Optional[str] = ...) -> None: ...

class ChatUnlisted(_message.Message):
    __slots__ = ("conversation_id",)
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    def __init__(self, conversation_id: _Optional[str] = ...) -> None: ...

class ChatOffered(_message.Message):
    __slots__ = ("conversation_id", "site_id", "department_id", "visitor_id", "visitor_name", "expires_in_seconds")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    VISITOR_ID_FIELD_NUMBER: _ClassVar[int]
    VISITOR_NAME_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    site_id: str
    department_id: str
    visitor_id: str
    visitor_name: str
    expires_in_seconds: int
    def __init__(self, conversation_id: _Optional[str] = ..., site_id: _Optional[str] = ..., department_id: _Optional[str] = ..., visitor_id: _Optional[str] = ..., visitor_name: _Optional[str] = ..., expires_in_seconds: _Optional[int] = ...) -> None: ...

class OfferWithdrawn(_message.Message):
    __slots__ = ("conversation_id", "reason")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    reason: str
    def __init__(self, conversation_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class OperatorStatus(_message.Message):
    __slots__ = ("operator_id", "display_name", "status")
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    operator_id: str
    display_name: str
    status: str
    def __init__(self, operator_id: _Optional[str] = ..., display_name: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class ConversationRated(_message.Message):
    __slots__ = ("conversation_id", "score")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    score: int
    def __init__(self, conversation_id: _Optional[str] = ..., score: _Optional[int] = ...) -> None: ...

class SessionReady(_message.Message):
    __slots__ = ("operator_id", "display_name", "max_chats", "status")
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    MAX_CHATS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    operator_id: str
    display_name: str
    max_chats: int
    status: str
    def __init__(self, operator_id: _Optional[str] = ..., display_name: _Optional[str] = ..., max_chats: _Optional[int] = ..., status: _Optional[str] = ...) -> None: ...

class ConversationAssigned(_message.Message):
    __slots__ = ("conversation_id", "site_id", "department_id", "visitor_id", "visitor_name", "last_seq")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    VISITOR_ID_FIELD_NUMBER: _ClassVar[int]
    VISITOR_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQ_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    site_id: str
    department_id: str
    visitor_id: str
    visitor_name: str
    last_seq: int
    def __init__(self, conversation_id: _Optional[str] = ..., site_id: _Optional[str] = ..., department_id: _Optional[str] = ..., visitor_id: _Optional[str] = ..., visitor_name: _Optional[str] = ..., last_seq: _Optional[int] = ...) -> None: ...

class ConversationClosed(_message.Message):
    __slots__ = ("conversation_id", "closed_by", "reason")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    CLOSED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    closed_by: str
    reason: str
    def __init__(self, conversation_id: _Optional[str] = ..., closed_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
