"""Update masks: which fields of a resource an Update call changes.

An update names the fields it changes in ``update_mask`` ("*": every writable
one); the others keep their values. A path that is no field of the resource is
``unknown_field``, a field that cannot be written there ``field_not_writable``,
no path at all ``update_mask_required``; nothing is changed then.
"""

from __future__ import annotations

from collections.abc import Collection

from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from engine.errors import InvalidArgument


def masked(
    mask: FieldMask, resource: Message, writable: Collection[str], resource_field: str
) -> list[str]:
    """The fields ``mask`` names, each writable (in ``writable`` order for "*");
    ``resource_field``: the request's field holding the resource (for errors)."""
    paths = list(dict.fromkeys(mask.paths))
    if not paths:
        raise InvalidArgument(
            "update_mask_required",
            'name the fields to change in update_mask ("*" for all)',
            field="update_mask",
        )
    if paths == ["*"]:
        return list(writable)
    known = resource.DESCRIPTOR.fields_by_name
    for path in paths:
        if path not in known:
            raise InvalidArgument(
                "unknown_field",
                f"{resource.DESCRIPTOR.name} has no field {path[:60]!r}",
                field=f"update_mask.{path[:60]}",
            )
        if path not in writable:
            raise InvalidArgument(
                "field_not_writable",
                f"{resource.DESCRIPTOR.name}.{path} cannot be changed here",
                field=f"{resource_field}.{path}",
            )
    return paths


def changes_of(resource: Message, fields: Collection[str]) -> dict[str, object]:
    """The values of ``fields`` in ``resource`` (lists as lists)."""
    out: dict[str, object] = {}
    for name in fields:
        value = getattr(resource, name)
        out[name] = list(value) if not isinstance(value, (str, bytes, int, float, bool)) else value
    return out
