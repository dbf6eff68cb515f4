"""The Presence actor, one per account: who is online, and what the widget shows.

Operator actors tell it the status they show and whether they take chats now.
From that it keeps, per site being watched, the departments' live state (online
when chat is enabled, inside business hours, and an operator of it takes chats;
the languages those operators speak; the regions, listed only when operators of
more than one of them are online) and pushes a new ``Departments`` event to the
site's visitor connections when it changes. Operator sessions watch the
operators list and get each status change. A minute tick re-checks business
hours while anyone watches.
"""

from __future__ import annotations

from engine.chat import schedule
from engine.chat.events import (
    Departments,
    DepartmentState,
    OperatorPresence,
    RegionState,
    Sink,
)
from engine.chat.messages import (
    ConfigChanged,
    GetPresence,
    PresenceCommand,
    PresenceTick,
    PresenceUpdate,
    UnwatchOperators,
    UnwatchSite,
    WatchOperators,
    WatchSite,
)
from engine.chat.services import ChatServices, Context
from engine.runtime import Actor, unhandled

HOURS_TICK = 60.0  # seconds between business-hours checks, while a site is watched
_TICK = "tick"  # its timer's key


class Presence(Actor[PresenceCommand, ChatServices]):
    def __init__(self, key: str, snapshot: bytes | None) -> None:
        self.account_id = key
        self.ops: dict[str, PresenceUpdate] = {}
        self.site_watchers: dict[str, set[Sink]] = {}
        self.views: dict[str, Departments] = {}
        self.op_watchers: set[Sink] = set()

    def can_passivate(self) -> bool:
        return (
            not self.site_watchers
            and not self.op_watchers
            and all(u.status == "offline" for u in self.ops.values())
        )

    def receive(self, message: PresenceCommand, ctx: Context) -> object:
        match message:
            case PresenceUpdate(op_id, status):
                before = self.ops.get(op_id)
                self.ops[op_id] = message
                if before is None or before.status != status:
                    op = ctx.services.directory.operators.get(op_id)
                    name = op.display_name if op is not None else op_id
                    event = OperatorPresence(op_id, name, status)
                    for sink in self.op_watchers:
                        sink.push(event)
                self._refresh(ctx)
                return None
            case WatchSite(site_id, sink):
                if not self.site_watchers:
                    ctx.start_timer(_TICK, HOURS_TICK, PresenceTick())
                self.site_watchers.setdefault(site_id, set()).add(sink)
                view = self.views.get(site_id)
                if view is None:
                    view = self.views[site_id] = self._view(site_id, ctx)
                return view
            case UnwatchSite(site_id, sink):
                watchers = self.site_watchers.get(site_id)
                if watchers is not None:
                    watchers.discard(sink)
                    if not watchers:
                        del self.site_watchers[site_id]
                        self.views.pop(site_id, None)
                        if not self.site_watchers:
                            ctx.cancel_timer(_TICK)  # nobody looks: no hours to check
                return None
            case WatchOperators(sink):
                self.op_watchers.add(sink)
                directory = ctx.services.directory
                return [
                    (op.id, op.display_name, self._status(op.id))
                    for op in directory.list_operators(self.account_id)
                ]
            case UnwatchOperators(sink):
                self.op_watchers.discard(sink)
                return None
            case GetPresence():
                return {op_id: u.status for op_id, u in self.ops.items()}
            case ConfigChanged():
                self._refresh(ctx)
                return None
            case PresenceTick():
                self._refresh(ctx)  # someone watches: the last one gone cancels the tick
                ctx.start_timer(_TICK, HOURS_TICK, PresenceTick())
                return None
        unhandled(message)

    def _status(self, op_id: str) -> str:
        update = self.ops.get(op_id)
        return update.status if update is not None else "offline"

    def _refresh(self, ctx: Context) -> None:
        """Recompute the watched sites' views; push the ones that changed."""
        for site_id, watchers in self.site_watchers.items():
            view = self._view(site_id, ctx)
            if view != self.views.get(site_id):
                self.views[site_id] = view
                for sink in watchers:
                    sink.push(view)

    def _view(self, site_id: str, ctx: Context) -> Departments:
        directory = ctx.services.directory
        now = ctx.clock.wall_ms()
        available = [
            (directory.operators[op_id], u)
            for op_id, u in self.ops.items()
            if u.available and op_id in directory.operators
        ]
        depts = sorted(
            (d for d in directory.departments.values() if d.site_id == site_id),
            key=lambda d: d.name,
        )
        states = []
        for dept in depts:
            serving = [u for op, u in available if dept.id in op.department_ids]
            open_now = dept.chat_enabled and schedule.is_open(
                dept.hours, directory.department_timezone(dept), now
            )
            online = open_now and bool(serving)
            languages: set[str] = set()
            regions_online: set[str] = set()
            if online:
                for u in serving:
                    languages.update(u.languages or ("*",))
                    regions_online.update(u.region_ids)
            regions = [r for r in directory.regions.values() if r.department_id == dept.id]
            shown: tuple[RegionState, ...] = ()
            if len(regions_online.intersection(r.id for r in regions)) > 1:
                shown = tuple(
                    RegionState(r.id, r.name, r.id in regions_online)
                    for r in sorted(regions, key=lambda r: r.name)
                )
            states.append(DepartmentState(dept.id, dept.name, online, frozenset(languages), shown))
        return Departments(site_id, tuple(states))
