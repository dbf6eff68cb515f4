"""The audit log and one visitor's data: the Audit and Visitors services.

They translate: the log is ``engine/audit.py``, finding, exporting and erasing
a visitor's data ``engine/privacy.py``."""

from __future__ import annotations

import orjson

from control.grpc.audit import CURRENT
from control.grpc.calls import Ctx, rpc
from control.grpc.paging import page_of
from engine import privacy
from engine.app import Engine
from engine.audit import AuditEvent
from engine.chat.auth import Principal
from engine.errors import InvalidArgument
from parley.v1 import control_pb2 as pb
from parley.v1 import control_pb2_grpc as grpc_pb


def event_pb(e: AuditEvent) -> pb.AuditEvent:
    return pb.AuditEvent(
        id=e.key.hex(),
        at_ms=e.at_ms,
        actor_id=e.actor_id,
        kind=e.kind,
        target_ids=list(e.target_ids),
        fields=list(e.fields),
        address=e.address,
        outcome=e.outcome,
    )


class AuditService(grpc_pb.AuditServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @rpc("Audit", "ListAuditEvents")
    async def ListAuditEvents(
        self, request: pb.ListAuditEventsRequest, p: Principal, context: Ctx
    ) -> pb.ListAuditEventsResponse:
        if request.since_ms < 0 or request.until_ms < 0:
            raise InvalidArgument("invalid_argument", "times are ms since 1970", field="since_ms")
        page = page_of(
            request,
            "audit",
            p.account_id,
            request.since_ms,
            request.until_ms,
            request.actor_id,
            request.kind,
        )
        after = bytes.fromhex(str(page.after[0])) if page.after else None
        events = self.engine.audit.list(
            p.account_id,
            after=after,
            since_ms=request.since_ms,
            until_ms=request.until_ms,
            actor_id=request.actor_id,
            kind=request.kind,
            limit=page.size + 1,
        )
        shown, token = page.cut(events, lambda e: (e.key.hex(),))
        return pb.ListAuditEventsResponse(
            events=[event_pb(e) for e in shown], next_page_token=token
        )


class VisitorsService(grpc_pb.VisitorsServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _found(
        self, request: pb.ExportVisitorRequest | pb.EraseVisitorRequest, p: Principal
    ) -> list[privacy.VisitorData]:
        found = privacy.find(self.engine, p.account_id, request.visitor_id, request.email)
        note = CURRENT.get()
        if note is not None:  # the audit event names the visitors, never the email
            note.add_targets(v.visitor_id for v in found)
        return found

    @rpc("Visitors", "ExportVisitor")
    async def ExportVisitor(
        self, request: pb.ExportVisitorRequest, p: Principal, context: Ctx
    ) -> pb.ExportVisitorResponse:
        found = self._found(request, p)
        doc = privacy.export_doc(self.engine, found)
        return pb.ExportVisitorResponse(
            visitor_ids=[v.visitor_id for v in found], document=orjson.dumps(doc)
        )

    @rpc("Visitors", "EraseVisitor")
    async def EraseVisitor(
        self, request: pb.EraseVisitorRequest, p: Principal, context: Ctx
    ) -> pb.EraseVisitorResponse:
        found = self._found(request, p)
        done = await privacy.erase(self.engine, p.account_id, found)
        return pb.EraseVisitorResponse(
            visitor_ids=list(done.visitor_ids),
            conversations=done.conversations,
            messages=done.messages,
            tickets=done.tickets,
        )
