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


def _check_string(path: str, is_id: bool, value: str | bytes) -> None:
    nul = b"\x00" in value if isinstance(value, bytes) else "\x00" in value
    if nul:
        raise InvalidArgument("invalid_argument", f"{path} holds a NUL character", field=path)
    limit = MAX_ID if is_id else MAX_STRING
    if len(value) > limit:
        raise InvalidArgument(
            "invalid_argument", f"{path} is longer than {limit} characters", field=path
        )


def check_request(message: Message, path: str = "", ids: bool = False) -> None:
    """Refuse ``message`` (a request or a stream command) when any field of it,
    nested ones included, breaks a limit (``ids``: the message is a list of ids)."""
    for field, value in message.ListFields():
        where = f"{path}{field.name}"
        is_id = ids or _is_id(field.name)
        if field.is_repeated:
            if len(value) > MAX_ITEMS:
                raise InvalidArgument(
                    "invalid_argument", f"{where} has more than {MAX_ITEMS} entries", field=where
                )
            items = value
        else:
            items = (value,)
        if field.type in _STRING:
            if field.full_name in RAW_BYTES:
                continue  # a file's bytes: any byte, limited by its handler
            for item in items:
                _check_string(where, is_id, item)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            for item in items:
                check_request(item, where + ".", is_id)


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
