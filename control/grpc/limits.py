"""Odd input turned away at the door: every request and stream command is
checked against the same few limits before a handler sees it.

A string holding a NUL character, an id longer than any id Parley makes, a
string or a list past its size, a unary request leaving out the id of what it
acts on: each is refused with INVALID_ARGUMENT and a message naming the field
(never echoing the value), whichever RPC it came in.
The handlers' own checks (an empty id is unknown, a message has at most so many
characters) come after, with their own codes. Walking the message by its
descriptor means a new RPC or field is covered without a line here.
"""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from engine.errors import InvalidArgument
from parley.v1 import operator_pb2

MAX_ID = 64  # ids Parley makes are shorter; a session id, a template id...
MAX_STRING = 65_536  # characters of any other string (texts have tighter limits)
MAX_ITEMS = 1_000  # entries of a repeated field
_STRING = (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES)
# Id fields of unary requests that may be left empty (the rest name what the
# call acts on; fields declared ``optional`` may be left out anyway).
OPTIONAL_IDS = frozenset(
    {
        "parley.v1.ListTemplatesRequest.conversation_id",
        # Filters of lists: left out, the list is the whole account's.
        "parley.v1.ListDepartmentsRequest.site_id",
        "parley.v1.ListOperatorsRequest.department_id",
        # Audit log and privacy: a filter; a visitor id or an email.
        "parley.v1.ListAuditEventsRequest.actor_id",
        "parley.v1.ExportVisitorRequest.visitor_id",
        "parley.v1.EraseVisitorRequest.visitor_id",
        # The visitors online: of every site when no site is named.
        "parley.v1.ListOnlineVisitorsRequest.site_id",
        # A report's scope: left out, the whole site's.
        "parley.v1.GetReportRequest.department_id",
        "parley.v1.GetReportRequest.operator_id",
        # An upload's first piece has no upload yet.
        "parley.v1.UploadAttachmentRequest.upload_id",
        "parley.v1.UploadAttachmentRequest.client_msg_id",  # the first call's
    }
)


# Bytes fields that carry files, not text: their handler limits their size.
RAW_BYTES = frozenset({"parley.v1.UploadAttachmentRequest.data"})


def _is_id(name: str) -> bool:
    return name == "id" or name.endswith(("_id", "_ids"))


# Per field (by its descriptor's full name): whether it is an id, a string, a
# message, repeated; read once, since every command of a stream walks
# its fields (the hot path of an operator's sends).
_FIELDS: dict[str, tuple[bool, bool, bool, bool]] = {}


def _field_kind(field: FieldDescriptor) -> tuple[bool, bool, bool, bool]:
    kind = _FIELDS.get(field.full_name)
    if kind is None:
        kind = _FIELDS[field.full_name] = (
            _is_id(field.name),
            field.type in _STRING,
            field.type == FieldDescriptor.TYPE_MESSAGE,
            field.is_repeated,
        )
    return kind


def _check_string(path: str, is_id: bool, value: str | bytes) -> None:
    nul = b"\x00" in value if isinstance(value, bytes) else "\x00" in value
    if nul:
        raise InvalidArgument("invalid_argument", f"{path} holds a NUL character", field=path)
    limit = MAX_ID if is_id else MAX_STRING
    if len(value) > limit:
        raise InvalidArgument(
            "invalid_argument", f"{path} is longer than {limit} characters", field=path
        )


_OPERATOR_COMMAND = operator_pb2.OperatorCommand
# The fast path below reads these fields by name: it is only taken while they
# are all of OperatorSend (a field added later is then walked like any other).
_SEND_FAST = [f.name for f in operator_pb2.OperatorSend.DESCRIPTOR.fields] == [
    "conversation_id",
    "client_msg_id",
    "text",
]


def _send_fits(command: operator_pb2.OperatorCommand) -> bool:
    """An operator's send (the command every answer is) within the limits, in a
    few C-level tests; False for any other command, or a send to walk in full
    (which then names the field that does not fit)."""
    if not _SEND_FAST or command.WhichOneof("command") != "send":
        return False
    send = command.send
    conversation_id, client_msg_id, text = send.conversation_id, send.client_msg_id, send.text
    return (
        len(conversation_id) <= MAX_ID
        and len(client_msg_id) <= MAX_ID
        and len(text) <= MAX_STRING
        and "\x00" not in conversation_id
        and "\x00" not in client_msg_id
        and "\x00" not in text
    )


def check_request(message: Message, path: str = "", ids: bool = False) -> None:
    """Refuse ``message`` (a request or a stream command) when any field of it,
    nested ones included, breaks a limit (``ids``: the message is a list of ids)."""
    if type(message) is _OPERATOR_COMMAND and _send_fits(message):
        return
    for field, value in message.ListFields():
        field_is_id, is_string, is_message, repeated = _field_kind(field)
        is_id = ids or field_is_id
        if repeated:
            if len(value) > MAX_ITEMS:
                where = f"{path}{field.name}"
                raise InvalidArgument(
                    "invalid_argument", f"{where} has more than {MAX_ITEMS} entries", field=where
                )
            items = value
        else:
            items = (value,)
        if is_string:
            if field.full_name in RAW_BYTES:
                continue  # a file's bytes: any byte, limited by its handler
            limit = MAX_ID if is_id else MAX_STRING
            for item in items:
                # The common case in two C-level tests; the refusal names the field.
                if len(item) > limit or ("\x00" if type(item) is str else b"\x00") in item:
                    _check_string(f"{path}{field.name}", is_id, item)
        elif is_message:
            for item in items:
                check_request(item, f"{path}{field.name}.", is_id)


def check_ids_given(request: Message) -> None:
    """Refuse a unary request that leaves out the id of what it acts on (a
    singular ``..._id`` field, neither ``optional`` nor in ``OPTIONAL_IDS``)."""
    for field in request.DESCRIPTOR.fields:
        if (
            field.type == FieldDescriptor.TYPE_STRING
            and field.name.endswith("_id")
            and field.name != "request_id"  # a create's retry key, when the client has one
            and not field.is_repeated
            and not field.has_presence
            and field.full_name not in OPTIONAL_IDS
            and not getattr(request, field.name)
        ):
            raise InvalidArgument("invalid_argument", f"{field.name} is required", field=field.name)
