"""gRPC servicers. They translate and check permissions; they hold no chat rules.

Each method is wrapped by :func:`rpc`, which authenticates the bearer token in
the call metadata, checks the method's permission in ``permissions.RPC_PERMISSIONS``
and turns engine refusals into gRPC statuses (``control.errors``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from control import converters, permissions
from control.errors import detail_of, status_of
from engine.app import Engine
from engine.chat.auth import Principal
from engine.chat.events import CommandFailed, Event
from engine.chat.internal import pair_id
from engine.chat.messages import (
    ConfigChanged,
    GetBoardStats,
    GetPresence,
    GetQueue,
    GetVisitorInfo,
    SettingsChanged,
)
from engine.chat.permissions import (
    MANAGE_DEPARTMENTS,
    MANAGE_TEMPLATES,
    VIEW_OPERATORS,
    may_manage,
)
from engine.chat.records import DEPARTMENT_SETTINGS
from engine.chat.sessions import OperatorSession, VisitorSession, chat_in_sight, failure
from engine.errors import InvalidArgument, NotFound, PermissionDenied, Refused, Unavailable
from parley.v1 import (
    common_pb2,
    control_pb2,
    control_pb2_grpc,
    operator_pb2,
    operator_pb2_grpc,
    visitor_pb2,
    visitor_pb2_grpc,
)

log = logging.getLogger("parley.grpc")


def bearer_token(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and isinstance(value, str) and value.startswith("Bearer "):
            return value[7:].strip()
    return None


def peer_address(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    """The caller's IP address without the port ("ipv4:1.2.3.4:5678" -> "1.2.3.4")."""
    peer = context.peer() or ""
    kind, _, rest = peer.partition(":")
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]").replace("%5B", "").replace("%5D", "")
    return rest.rsplit(":", 1)[0] if kind == "ipv4" else peer


def authorize(
    engine: Engine, context: grpc.aio.ServicerContext[Any, Any], method: str
) -> Principal | None:
    """The caller, checked against the method's permission; raises a refusal."""
    if method not in permissions.RPC_PERMISSIONS:
        raise PermissionDenied("permission_denied", f"{method} is not open to anyone")
    needed = permissions.RPC_PERMISSIONS[method]
    if needed is None:
        return None
    principal = engine.auth.authenticate(bearer_token(context))
    if needed not in engine.directory.role_permissions(principal.account_id, principal.role):
        raise PermissionDenied(
            "permission_denied", f"the {principal.role} role may not {needed.replace('_', ' ')}"
        )
    return principal


# (servicer, request, principal, context): the principal is None only for Login.
Handler = Callable[[Any, Any, Any, Any], Awaitable[Any]]


def rpc(service: str, name: str) -> Callable[[Handler], Callable[..., Awaitable[Any]]]:
    method = f"/parley.v1.{service}/{name}"

    def wrap(handler: Handler) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(handler)
        async def call(self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            try:
                principal = authorize(self.engine, context, method)
                return await handler(self, request, principal, context)
            except Refused as error:
                await context.abort(status_of(error), detail_of(error))

        return call

    return wrap


class AuthService(control_pb2_grpc.AuthServicer):  # type: ignore[misc]
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @rpc("Auth", "Login")
    async def Login(self, request: Any, principal: Any, context: Any) -> Any:
        token, expires, op = await self.engine.auth.login(
            request.email, request.password, peer_address(context)
        )
        return control_pb2.LoginReply(
            token=token, expires_at_ms=expires, operator=converters.operator_pb(op)
        )

    @rpc("Auth", "Logout")
    async def Logout(self, request: Any, principal: Principal, context: Any) -> Any:
        await self.engine.auth.logout(principal)
        return common_pb2.Empty()

    @rpc("Auth", "WhoAmI")
    async def WhoAmI(self, request: Any, principal: Principal, context: Any) -> Any:
        return converters.operator_pb(self.engine.directory.operator(principal.operator_id))

    @rpc("Auth", "ChangePassword")
    async def ChangePassword(self, request: Any, principal: Principal, context: Any) -> Any:
        await self.engine.auth.change_password(
            principal, request.current_password, request.new_password
        )
        return common_pb2.Empty()

    @rpc("Auth", "ListMySessions")
    async def ListMySessions(self, request: Any, principal: Principal, context: Any) -> Any:
        sessions = self.engine.auth.sessions(principal.operator_id, principal.token_digest)
        return control_pb2.ListSessionsReply(
            sessions=[
                control_pb2.SessionInfo(
                    id=s["id"],
                    created_at_ms=s["created_ms"],
                    expires_at_ms=s["expires_ms"],
                    current=s["current"],
                    name=s["name"],
                )
                for s in sessions
            ]
        )

    @rpc("Auth", "CreateApiToken")
    async def CreateApiToken(self, request: Any, principal: Principal, context: Any) -> Any:
        token, expires = await self.engine.auth.create_api_token(
            principal, request.name, request.days or 90
        )
        op = self.engine.directory.operator(principal.operator_id)
        return control_pb2.LoginReply(
            token=token, expires_at_ms=expires, operator=converters.operator_pb(op)
        )

    @rpc("Auth", "SetDisplayName")
    async def SetDisplayName(self, request: Any, principal: Principal, context: Any) -> Any:
        op = await self.engine.directory.update_profile(
            principal.operator_id, display_name=request.display_name
        )
        return converters.operator_pb(op)

    @rpc("Auth", "SetAvatar")
    async def SetAvatar(self, request: Any, principal: Principal, context: Any) -> Any:
        op = await self.engine.directory.update_profile(
            principal.operator_id, avatar_url=request.avatar_url
        )
        return converters.operator_pb(op)

    @rpc("Auth", "SetMyAutoAccept")
    async def SetMyAutoAccept(self, request: Any, principal: Principal, context: Any) -> Any:
        op = await self.engine.directory.update_operator(
            principal.account_id, principal.operator_id, {"auto_accept": request.auto_accept}
        )
        self.engine.system.ref("operator", op.id).tell(SettingsChanged())
        return converters.operator_pb(op)

    @rpc("Auth", "RevokeMySession")
    async def RevokeMySession(self, request: Any, principal: Principal, context: Any) -> Any:
        await self.engine.auth.revoke_session(principal.operator_id, request.session_id)
        return common_pb2.Empty()


class ControlService(control_pb2_grpc.ControlServicer):  # type: ignore[misc]
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.directory = engine.directory

    @rpc("Control", "CreateSite")
    async def CreateSite(self, request: Any, p: Principal, context: Any) -> Any:
        site = await self.directory.create_site(
            p.account_id,
            request.name,
            list(request.allowed_origins),
            request.timezone or "UTC",
            typing_preview=not request.no_typing_preview,
        )
        return converters.site_pb(site)

    @rpc("Control", "ListSites")
    async def ListSites(self, request: Any, p: Principal, context: Any) -> Any:
        return control_pb2.ListSitesReply(
            sites=[converters.site_pb(s) for s in self.directory.list_sites(p.account_id)]
        )

    @rpc("Control", "CreateDepartment")
    async def CreateDepartment(self, request: Any, p: Principal, context: Any) -> Any:
        dept = await self.directory.create_department(
            p.account_id, request.site_id, request.name, request.description
        )
        return converters.department_pb(dept)

    @rpc("Control", "ListDepartments")
    async def ListDepartments(self, request: Any, p: Principal, context: Any) -> Any:
        depts = self.directory.list_departments(p.account_id, request.site_id)
        return control_pb2.ListDepartmentsReply(
            departments=[converters.department_pb(d) for d in depts]
        )

    @rpc("Control", "AddOperator")
    async def AddOperator(self, request: Any, p: Principal, context: Any) -> Any:
        role = request.role or "operator"
        if role == "owner" and p.role != "owner":
            raise PermissionDenied("permission_denied", "only an owner may add an owner")
        directory = self.directory
        beyond = directory.role_permissions(p.account_id, role) - directory.role_permissions(
            p.account_id, p.role
        )
        if beyond:
            raise PermissionDenied(
                "permission_denied", f"the {role} role holds more than yours: {sorted(beyond)}"
            )
        op = await self.directory.add_operator(
            p.account_id,
            email=request.email,
            password=request.password,
            display_name=request.display_name,
            role=role,
            department_ids=list(request.department_ids),
            max_chats=request.max_chats if request.HasField("max_chats") else 5,
        )
        return converters.operator_pb(op)

    @rpc("Control", "ListOperators")
    async def ListOperators(self, request: Any, p: Principal, context: Any) -> Any:
        ops = self.directory.list_operators(p.account_id)
        statuses = await self.engine.system.ref("presence", p.account_id).ask(GetPresence())
        return control_pb2.ListOperatorsReply(
            operators=[converters.operator_pb(o, statuses.get(o.id, "offline")) for o in ops]
        )

    @rpc("Control", "UpdateOperator")
    async def UpdateOperator(self, request: Any, p: Principal, context: Any) -> Any:
        target = self.directory.operator(request.operator_id, p.account_id)
        if not may_manage(p.role, target.role):
            raise PermissionDenied("permission_denied", "you may not change a higher role")
        changes: dict[str, Any] = {}
        for name in ("max_chats", "schedule", "timezone", "auto_distribution", "auto_accept"):
            if request.HasField(name):
                changes[name] = getattr(request, name)
        for name in ("department_ids", "languages", "region_ids", "group_ids"):
            if request.HasField(name):
                changes[name] = list(getattr(request, name).values)
        op = await self.directory.update_operator(p.account_id, target.id, changes)
        self.engine.system.ref("operator", op.id).tell(SettingsChanged())
        self._config_changed(p)
        return converters.operator_pb(op)

    def _config_changed(self, p: Principal) -> None:
        self.engine.system.ref("presence", p.account_id).tell(ConfigChanged())

    @rpc("Control", "UpdateDepartment")
    async def UpdateDepartment(self, request: Any, p: Principal, context: Any) -> Any:
        changes = {f: getattr(request, f) for f in DEPARTMENT_SETTINGS if request.HasField(f)}
        dept = await self.directory.update_department(p.account_id, request.department_id, changes)
        self._config_changed(p)
        return converters.department_pb(dept)

    @rpc("Control", "CreateRegion")
    async def CreateRegion(self, request: Any, p: Principal, context: Any) -> Any:
        region = await self.directory.create_region(
            p.account_id, request.department_id, request.name
        )
        return converters.region_pb(region)

    @rpc("Control", "ListRegions")
    async def ListRegions(self, request: Any, p: Principal, context: Any) -> Any:
        regions = self.directory.list_regions(p.account_id, request.department_id)
        return control_pb2.ListRegionsReply(regions=[converters.region_pb(r) for r in regions])

    @rpc("Control", "CreateGroup")
    async def CreateGroup(self, request: Any, p: Principal, context: Any) -> Any:
        group = await self.directory.create_group(p.account_id, request.site_id, request.name)
        return converters.group_pb(group)

    @rpc("Control", "ListGroups")
    async def ListGroups(self, request: Any, p: Principal, context: Any) -> Any:
        groups = self.directory.list_groups(p.account_id, request.site_id)
        return control_pb2.ListGroupsReply(groups=[converters.group_pb(g) for g in groups])

    @rpc("Control", "AddLinkRule")
    async def AddLinkRule(self, request: Any, p: Principal, context: Any) -> Any:
        link = await self.directory.add_link(
            p.account_id, request.site_id, request.pattern, request.group_id, request.position
        )
        return converters.link_pb(link)

    @rpc("Control", "ListLinkRules")
    async def ListLinkRules(self, request: Any, p: Principal, context: Any) -> Any:
        links = self.directory.list_links(p.account_id, request.site_id)
        return control_pb2.ListLinkRulesReply(rules=[converters.link_pb(x) for x in links])

    @rpc("Control", "DeleteLinkRule")
    async def DeleteLinkRule(self, request: Any, p: Principal, context: Any) -> Any:
        await self.directory.delete_link(p.account_id, request.link_id)
        return common_pb2.Empty()

    @rpc("Control", "SetSiteLanguages")
    async def SetSiteLanguages(self, request: Any, p: Principal, context: Any) -> Any:
        site = await self.directory.set_site_languages(
            p.account_id, request.site_id, list(request.languages)
        )
        return converters.site_pb(site)

    @rpc("Control", "ListWaiting")
    async def ListWaiting(self, request: Any, p: Principal, context: Any) -> Any:
        dept = self.directory.department_of_account(request.department_id, p.account_id)
        me = self.directory.operator(p.operator_id)
        if dept.id not in me.department_ids and MANAGE_DEPARTMENTS not in (
            self.directory.role_permissions(p.account_id, p.role)
        ):
            raise PermissionDenied("permission_denied", "you do not serve that department")
        waiting = await self.engine.system.ref("queue", dept.id).ask(GetQueue())
        return control_pb2.ListWaitingReply(
            chats=[control_pb2.WaitingChat(**chat._asdict()) for chat in waiting]
        )

    @rpc("Control", "GetVisitorInfo")
    async def GetVisitorInfo(self, request: Any, p: Principal, context: Any) -> Any:
        summary = await chat_in_sight(self.engine, p, request.conversation_id)
        visitor = self.engine.system.ref("visitor", summary.visitor_id)
        info = await visitor.ask(GetVisitorInfo())
        return converters.visitor_info_pb(info, self.engine.clock.wall_ms())

    def _may_share(self, p: Principal) -> None:
        if MANAGE_TEMPLATES not in self.directory.role_permissions(p.account_id, p.role):
            raise PermissionDenied(
                "permission_denied", f"the {p.role} role may not manage the account's replies"
            )

    @rpc("Control", "AddTemplate")
    async def AddTemplate(self, request: Any, p: Principal, context: Any) -> Any:
        if request.shared:
            self._may_share(p)
        template = await self.directory.add_template(
            p.account_id, "" if request.shared else p.operator_id, request.shortcut, request.text
        )
        return converters.template_pb(template)

    @rpc("Control", "ListTemplates")
    async def ListTemplates(self, request: Any, p: Principal, context: Any) -> Any:
        found = self.directory.templates_for(p.account_id, p.operator_id, request.prefix[:40])
        values: dict[str, str] | None = None
        if request.conversation_id:
            summary = await chat_in_sight(self.engine, p, request.conversation_id)
            me = self.directory.operator(p.operator_id)
            site = self.directory.sites[summary.site_id]
            dept = self.directory.departments.get(summary.department_id)
            values = {
                "visitor_name": summary.visitor_name,
                "operator_name": me.display_name,
                "site_name": site.name,
                "department_name": dept.name if dept is not None else "",
            }
        return control_pb2.ListTemplatesReply(
            templates=[converters.template_pb(t, values) for t in found]
        )

    @rpc("Control", "DeleteTemplate")
    async def DeleteTemplate(self, request: Any, p: Principal, context: Any) -> Any:
        template = self.directory.template(request.template_id, p.account_id)
        if not template.operator_id:
            self._may_share(p)
        elif template.operator_id != p.operator_id:
            raise NotFound("unknown_template", f"no quick reply {request.template_id[:40]!r}")
        await self.directory.delete_template(template.id)
        return common_pb2.Empty()

    @rpc("Control", "ListDirectMessages")
    async def ListDirectMessages(self, request: Any, p: Principal, context: Any) -> Any:
        other = self.directory.operator(request.with_operator_id, p.account_id)
        messages = self.engine.direct_messages(
            pair_id(p.operator_id, other.id), request.after_seq, min(request.limit or 100, 1000)
        )
        return control_pb2.ListDirectMessagesReply(
            messages=[converters.direct_pb(m) for m in messages]
        )

    @rpc("Control", "GetStatistics")
    async def GetStatistics(self, request: Any, p: Principal, context: Any) -> Any:
        site = self.directory.site(request.site_id, p.account_id)
        counts = await self.engine.system.ref("board", p.account_id).ask(GetBoardStats(site.id))
        statuses = await self.engine.system.ref("presence", p.account_id).ask(GetPresence())
        online: dict[str, int] = {}
        for op_id, status in statuses.items():
            op = self.directory.operators.get(op_id)
            if op is not None and status == "online":
                for dept_id in op.department_ids:
                    online[dept_id] = online.get(dept_id, 0) + 1
        empty = {"waiting": 0, "active": 0, "on_hold": 0, "missed": 0, "first_response_ms": 0}
        return control_pb2.Statistics(
            departments=[
                control_pb2.DepartmentStatistics(
                    department_id=d.id,
                    name=d.name,
                    operators_online=online.get(d.id, 0),
                    **counts.get(d.id, empty),
                )
                for d in self.directory.list_departments(p.account_id, site.id)
            ]
        )

    @rpc("Control", "AddBlock")
    async def AddBlock(self, request: Any, p: Principal, context: Any) -> Any:
        kind = request.WhichOneof("target")
        if kind is None:
            raise InvalidArgument("invalid_argument", "block an ip or a visitor_id")
        now = self.engine.clock.wall_ms()
        seconds = request.expires_in_seconds
        if seconds > 366 * 86_400:
            raise InvalidArgument("invalid_argument", "a block expires within a year, or never")
        block = await self.directory.add_block(
            p.account_id,
            request.site_id,
            "ip" if kind == "ip" else "visitor",
            getattr(request, kind),
            request.reason,
            now,
            now + seconds * 1000 if seconds else 0,
        )
        return converters.block_pb(block)

    @rpc("Control", "ListBlocks")
    async def ListBlocks(self, request: Any, p: Principal, context: Any) -> Any:
        blocks = self.directory.list_blocks(p.account_id, request.site_id)
        return control_pb2.ListBlocksReply(blocks=[converters.block_pb(b) for b in blocks])

    @rpc("Control", "RemoveBlock")
    async def RemoveBlock(self, request: Any, p: Principal, context: Any) -> Any:
        await self.directory.remove_block(p.account_id, request.block_id)
        return common_pb2.Empty()

    @rpc("Control", "GetUsage")
    async def GetUsage(self, request: Any, p: Principal, context: Any) -> Any:
        sites = self.directory.list_sites(p.account_id)
        conversations = messages = 0
        for site in sites:
            c, m = await asyncio.to_thread(self.engine.site_usage, site.id)
            conversations, messages = conversations + c, messages + m
        return control_pb2.Usage(
            sites=len(sites),
            departments=sum(
                len(self.directory.list_departments(p.account_id, s.id)) for s in sites
            ),
            operators=len(self.directory.list_operators(p.account_id)),
            conversations=conversations,
            messages=messages,
            store_bytes=self.engine.store.stats()["used_bytes"],
        )

    @rpc("Control", "ListTickets")
    async def ListTickets(self, request: Any, p: Principal, context: Any) -> Any:
        site = self.directory.site(request.site_id, p.account_id)
        tickets = self.engine.list_tickets(site.id, min(request.limit or 100, 1000))
        return control_pb2.ListTicketsReply(tickets=[converters.ticket_pb(t) for t in tickets])

    @rpc("Control", "ResetPassword")
    async def ResetPassword(self, request: Any, p: Principal, context: Any) -> Any:
        await self.engine.auth.reset_password(p, request.operator_id, request.new_password)
        return common_pb2.Empty()

    @rpc("Control", "CreateRole")
    async def CreateRole(self, request: Any, p: Principal, context: Any) -> Any:
        granter = self.directory.role_permissions(p.account_id, p.role)
        perms = await self.directory.create_role(
            p.account_id, request.name, list(request.permissions), granter
        )
        return control_pb2.Role(name=request.name, permissions=sorted(perms), builtin=False)

    @rpc("Control", "ListRoles")
    async def ListRoles(self, request: Any, p: Principal, context: Any) -> Any:
        return control_pb2.ListRolesReply(
            roles=[
                control_pb2.Role(name=name, permissions=sorted(perms), builtin=builtin)
                for name, perms, builtin in self.directory.list_roles(p.account_id)
            ]
        )

    @rpc("Control", "GetTranscript")
    async def GetTranscript(self, request: Any, p: Principal, context: Any) -> Any:
        conv_id = request.conversation_id
        site_id = self.engine.conversation_site(conv_id)
        site = self.directory.sites.get(site_id or "")
        if site is None or site.account_id != p.account_id:
            raise NotFound("unknown_conversation", f"no conversation {conv_id[:40]!r}")
        limit = min(request.limit or 1000, 10_000)
        events = self.engine.transcript(conv_id, request.after_seq, limit)
        return control_pb2.Transcript(
            conversation_id=conv_id, messages=[converters.message_pb(e) for e in events]
        )


class BatchSink:
    """Collects events for one stream; the writer sends whatever is ready as one
    batch (one event per stream message caps a stream near 13k events/s)."""

    __slots__ = ("events", "wake", "closed", "overflowed", "limit")

    def __init__(self, limit: int = 100_000) -> None:
        self.events: list[Event] = []
        self.wake = asyncio.Event()
        self.closed = False
        self.overflowed = False
        self.limit = limit  # unsent events before the client counts as too slow

    def push(self, event: Event) -> None:
        events = self.events
        if len(events) >= self.limit:
            # The client does not read: end its stream rather than buffer
            # without bound. It reconnects and resumes by seq.
            self.overflowed = True
            self.wake.set()
            return
        events.append(event)
        if len(events) == 1:
            self.wake.set()

    async def batches(self, limit: int = 500) -> AsyncIterator[list[Event]]:
        while True:
            await self.wake.wait()
            if self.overflowed:
                raise Unavailable(
                    "too_slow", "the client did not read its events; reconnect and resume"
                )
            if self.closed and not self.events:
                return
            self.wake.clear()
            events = self.events
            if len(events) > limit:
                batch, self.events = events[:limit], events[limit:]
                self.wake.set()
            else:
                batch, self.events = events, []
            if batch:
                yield batch

    def close(self) -> None:
        self.closed = True
        self.wake.set()


async def _pump(
    commands: AsyncIterator[Any], handle: Callable[[Any], Awaitable[None]], sink: BatchSink
) -> None:
    try:
        async for batch in commands:
            for command in batch.commands:
                await handle(command)
    except asyncio.CancelledError:
        raise
    except Exception as error:  # the client went away or sent garbage
        log.debug("command stream ended: %r", error)
    finally:
        sink.close()


async def _stream_caller(
    engine: Engine, context: grpc.aio.ServicerContext[Any, Any], method: str
) -> Principal:
    """The authorised caller of a stream, or the call ends with the refusal."""
    try:
        principal = authorize(engine, context, method)
    except Refused as error:
        await context.abort(status_of(error), detail_of(error))
    assert principal is not None
    return principal


async def _serve_stream(
    context: grpc.aio.ServicerContext[Any, Any],
    commands: AsyncIterator[Any],
    handle: Callable[[Any], Awaitable[None]],
    sink: BatchSink,
    encode: Callable[[list[Event]], Any],
    detach: Callable[[], None],
) -> AsyncIterator[Any]:
    """Read commands in a task while writing batches of events; detach the
    session however the stream ends."""
    pump = asyncio.create_task(_pump(commands, handle, sink))
    try:
        async for batch in sink.batches():
            yield encode(batch)
    except Refused as error:
        await context.abort(status_of(error), detail_of(error))
    finally:
        detach()
        pump.cancel()


def _operator_batch(events: list[Event]) -> operator_pb2.OperatorEventBatch:
    out = operator_pb2.OperatorEventBatch()
    converters.add_operator_events(out, events)
    return out


def _visitor_batch(events: list[Any]) -> visitor_pb2.VisitorEventBatch:
    return visitor_pb2.VisitorEventBatch(
        events=[
            e if isinstance(e, visitor_pb2.VisitorEvent) else converters.visitor_event(e)
            for e in events
        ]
    )


class OperatorSessionService(operator_pb2_grpc.OperatorSessionServicer):  # type: ignore[misc]
    def __init__(self, engine: Engine, backlog: int = 100_000) -> None:
        self.engine = engine
        self.backlog = backlog

    async def Connect(
        self, request_iterator: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        principal = await _stream_caller(self.engine, context, "/parley.v1.OperatorSession/Connect")
        sink = BatchSink(self.backlog)
        session = OperatorSession(self.engine, principal, sink)

        async def handle(command: Any) -> None:
            which = command.WhichOneof("command")
            if which == "send":
                s = command.send
                session.send(s.conversation_id, s.client_msg_id, s.text)
            elif which == "close":
                session.close_conversation(command.close.conversation_id)
            elif which == "typing":
                session.typing(command.typing.conversation_id, command.typing.active)
            elif which == "read":
                session.read(command.read.conversation_id, command.read.seq)
            elif which == "status":
                session.set_status(command.status.status)
            elif which == "answer":
                session.answer_offer(command.answer.conversation_id, command.answer.accept)
            elif which == "pick":
                await session.pick(command.pick.conversation_id)
            elif which == "action":
                a = command.action
                kind = a.WhichOneof("action")
                fields: dict[str, Any] = {
                    "join": {"invisible": a.join.invisible},
                    "leave": {},
                    "invite_operator_id": {"operator_id": a.invite_operator_id},
                    "transfer_to_operator_id": {"operator_id": a.transfer_to_operator_id},
                    "transfer_to_department_id": {"department_id": a.transfer_to_department_id},
                    "take_over": {"from_id": a.take_over.from_operator_id},
                    "chat_status": {"status": a.chat_status},
                }.get(kind or "", {})
                action = _ACTIONS.get(kind or "", "")
                if not action:
                    sink.push(_unknown_command())
                else:
                    await session.act(a.conversation_id, action, **fields)
            elif which == "direct":
                d = command.direct
                session.direct(d.to_operator_id, d.client_msg_id, d.text)
            elif which == "whisper":
                w = command.whisper
                session.whisper(w.conversation_id, w.client_msg_id, w.text)
            elif which == "hello":
                try:
                    name, max_chats = await session.hello(
                        {r.conversation_id: r.after_seq for r in command.hello.resume}
                    )
                except Refused as error:
                    sink.push(failure(error))
                    return
                ready = operator_pb2.OperatorEvent(
                    ready=operator_pb2.SessionReady(
                        operator_id=principal.operator_id,
                        display_name=name,
                        max_chats=max_chats,
                        status=session.status,
                    )
                )
                sink.push(ready)  # type: ignore[arg-type]
                if VIEW_OPERATORS in self.engine.directory.role_permissions(
                    principal.account_id, principal.role
                ):
                    await session.watch_operators()
                await session.watch_board()
            else:
                sink.push(_unknown_command())

        async for out in _serve_stream(
            context, request_iterator, handle, sink, _operator_batch, session.detach
        ):
            yield out


_ACTIONS = {
    "join": "join",
    "leave": "leave",
    "invite_operator_id": "invite",
    "transfer_to_operator_id": "transfer",
    "transfer_to_department_id": "transfer",
    "take_over": "take_over",
    "chat_status": "chat_status",
}


def _unknown_command() -> CommandFailed:
    return CommandFailed("unknown_command", "this server does not know that command")


class VisitorChannelService(visitor_pb2_grpc.VisitorChannelServicer):  # type: ignore[misc]
    def __init__(self, engine: Engine, backlog: int = 100_000) -> None:
        self.engine = engine
        self.backlog = backlog

    async def Connect(
        self, request_iterator: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        principal = await _stream_caller(self.engine, context, "/parley.v1.VisitorChannel/Connect")
        sink = BatchSink(self.backlog)
        holder: list[VisitorSession] = []

        async def handle(command: Any) -> None:
            which = command.WhichOneof("command")
            if which == "hello":
                if holder:
                    sink.push(CommandFailed("already_hello", "hello was sent already"))
                    return
                h = command.hello
                site = self.engine.directory.sites.get(h.site_id)
                if site is None or site.account_id != principal.account_id:
                    sink.push(CommandFailed("unknown_site", f"no site {h.site_id[:40]!r}"))
                    return
                session = VisitorSession(self.engine, site, sink)
                session.ip = h.ip[:64] or peer_address(context)
                session.user_agent = h.user_agent[:2000]
                try:
                    w = await session.hello(
                        department_id=h.department_id,
                        token=h.token,
                        last_seq=h.last_seq,
                        name=h.name,
                        email=h.email,
                        region_id=h.region_id,
                        page_url=h.page_url,
                        language=h.language,
                        page_title=h.page_title,
                        referrer=h.referrer,
                        tz_offset_minutes=h.tz_offset_minutes,
                    )
                except Refused as error:
                    sink.push(failure(error))
                    return
                holder.append(session)
                sink.push(
                    visitor_pb2.VisitorEvent(  # type: ignore[arg-type]
                        welcome=visitor_pb2.VisitorWelcome(
                            visitor_id=w["visitor_id"],
                            token=w["token"],
                            conversation_id=w["conversation_id"],
                            last_seq=w["last_seq"],
                            departments=converters.departments_pb(w["departments"]),
                        )
                    )
                )
            elif which == "send":
                if not holder:
                    sink.push(
                        CommandFailed(
                            "no_hello", "send hello first", False, command.send.client_msg_id
                        )
                    )
                    return
                holder[0].send(command.send.client_msg_id, command.send.text)
            elif which == "rate":
                if not holder:
                    sink.push(CommandFailed("no_hello", "send hello first"))
                    return
                holder[0].rate(command.rate.score, command.rate.comment)
            elif which == "typing":
                if holder:
                    holder[0].typing(command.typing.active, command.typing.text)
            elif which == "read":
                if not holder:
                    sink.push(CommandFailed("no_hello", "send hello first"))
                    return
                holder[0].read(command.read.seq)
            elif which == "choose":
                if not holder:
                    sink.push(CommandFailed("no_hello", "send hello first"))
                    return
                holder[0].choose(command.choose.department_id, command.choose.region_id)
            elif which == "page":
                if not holder:
                    sink.push(CommandFailed("no_hello", "send hello first"))
                    return
                holder[0].page(command.page.url, command.page.title)
            elif which == "ticket":
                if not holder:
                    sink.push(CommandFailed("no_hello", "send hello first"))
                    return
                t = command.ticket
                holder[0].leave_ticket(t.name, t.email, t.text)
            else:
                sink.push(_unknown_command())

        def detach() -> None:
            for session in holder:
                session.detach()

        async for out in _serve_stream(
            context, request_iterator, handle, sink, _visitor_batch, detach
        ):
            yield out


SERVICES = (AuthService, ControlService, OperatorSessionService, VisitorChannelService)
