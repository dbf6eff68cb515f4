"""The audit log and one visitor's data: the Audit and Visitors services.

They translate: the log is ``engine/audit.py``, finding, exporting and erasing
a visitor's data ``engine/privacy.py``."""

from __future__ import annotations

import orjson

from control.grpc.audit import CURRENT
from control.grpc.calls import Ctx, rpc
from control.grpc.paging import bad_token, page_of
from engine import privacy
from engine.app import Engine
from engine.audit import AuditEvent
from engine.chat import invitations
from engine.chat.auth import Principal
from engine.chat.lobby_messages import OnlineVisitor
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


def online_pb(v: OnlineVisitor) -> pb.OnlineVisitor:
    return pb.OnlineVisitor(
        visitor_id=v.visitor_id,
        site_id=v.site_id,
        name=v.name,
        page_url=v.page_url,
        page_title=v.page_title,
        referrer=v.referrer,
        language=v.language,
        returning=v.returning,
        arrived_ms=v.arrived_ms,
        conversation_id=v.conversation_id,
        connections=v.connections,
        invited_by=v.invited_by,
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

    @rpc("Visitors", "ListOnlineVisitors")
    async def ListOnlineVisitors(
        self, request: pb.ListOnlineVisitorsRequest, p: Principal, context: Ctx
    ) -> pb.ListOnlineVisitorsResponse:
        page = page_of(request, "online_visitors", p.account_id, request.site_id)
        after = None
        if page.after is not None:
            try:
                arrived_ms, visitor_id = page.after
                after = (int(arrived_ms), str(visitor_id))
            except (TypeError, ValueError):
                raise bad_token("is not one this server gave") from None
        found = await invitations.list_online(self.engine, p, request.site_id, after, page.size + 1)
        shown, token = page.cut(found, lambda v: (v.arrived_ms, v.visitor_id))
        return pb.ListOnlineVisitorsResponse(
            visitors=[online_pb(v) for v in shown], next_page_token=token
        )

    @rpc("Visitors", "InviteVisitor")
    async def InviteVisitor(
        self, request: pb.InviteVisitorRequest, p: Principal, context: Ctx
    ) -> pb.InviteVisitorResponse:
        invitation_id = await invitations.invite(self.engine, p, request.visitor_id, request.text)
        return pb.InviteVisitorResponse(invitation_id=invitation_id)
