"""Who listens to a conversation, and how its events reach them.

Subscribers are sinks: visitor connections and operator sessions, each with its
role ("visitor" or "operator"). A subscribe replays the journal from the sink's
last seen seq, a page per turn, then the sink is live; meanwhile a stand-in
(:class:`CatchingUp`) takes its place, so the sink sees every seq once and in
order, and every other event (queue position, joined, closed, typing, read)
where it happened between them. :class:`Subscribers` holds the sinks and does
the fan-out: a stored post to everyone but its author, notes to operators only,
visitor-only events to visitor connections.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from engine.chat.events import Event, MessageEvent, Sink
from engine.chat.journal import Journal
from engine.chat.services import Context
from engine.runtime import Reply


class CatchingUp:
    """A subscriber while its replay runs, standing in ``subs`` for its sink: it
    hashes and compares equal to the sink, so ``subs.pop(sink)`` finds it and an
    origin check ``sink != origin`` skips it. Messages reach it live but are
    dropped (the replay reads them from the store, in order); every other event
    (queue position, joined, closed, typing, read) is held with the seq it came
    after and released right after the replay delivers that seq."""

    __slots__ = ("sink", "role", "journal", "held", "skip", "reply")

    def __init__(
        self, sink: Sink, role: str, journal: Journal[MessageEvent], reply: Reply | None
    ) -> None:
        self.sink = sink
        self.role = role
        self.journal = journal
        self.held: deque[tuple[int, Event]] = deque()
        self.skip: set[int] = set()  # its own posts: it has their acks
        self.reply = reply

    def push(self, event: Event) -> None:
        if type(event) is not MessageEvent:
            self.held.append((self.journal.last_seq, event))

    def replayed(self, event: MessageEvent) -> None:
        sink = self.sink
        if self.skip and event.seq in self.skip:
            self.skip.discard(event.seq)
        elif self.role != "visitor" or event.author_kind != "note":
            sink.push(event)
        held = self.held
        while held and held[0][0] <= event.seq:
            sink.push(held.popleft()[1])

    def release(self) -> None:
        held = self.held
        while held:
            self.sink.push(held.popleft()[1])

    def __hash__(self) -> int:
        return hash(self.sink)

    def __eq__(self, other: object) -> bool:
        return other is self or other is self.sink


class Subscribers:
    """The sinks of one conversation and their roles, live or catching up."""

    __slots__ = ("journal", "subs", "visitors", "catching")

    def __init__(self, journal: Journal[MessageEvent]) -> None:
        self.journal = journal
        # Each sink (or its stand-in while it catches up) with its role, in the
        # order they became live: the order events are pushed in.
        self.subs: dict[Sink, str] = {}
        self.visitors = 0  # visitor connections subscribed
        self.catching: dict[Sink, CatchingUp] = {}  # sinks whose replay runs

    def __bool__(self) -> bool:
        return bool(self.subs)

    # -- joining and leaving --------------------------------------------------------

    def subscribe(
        self, sink: Sink, after_seq: int, role: str, held: Iterable[Event], ctx: Context
    ) -> bool:
        """Replay from ``after_seq`` (a page per turn), then live; ``held`` goes
        to the sink where it stands now (after the last stored seq). The current
        message is answered with the last seq delivered when the replay reaches
        the live end. Returns whether a visitor connection came (back)."""
        was = self.subs.pop(sink, None)  # a live sink subscribing again
        visitor_came = was != role and role == "visitor"
        if visitor_came:
            self.visitors += 1
        catching = CatchingUp(sink, role, self.journal, ctx.defer())
        self.subs[catching] = role  # stands in for the sink until caught up
        self.catching[sink] = catching
        for event in held:
            catching.push(event)

        def done() -> None:
            self._caught_up(catching)

        def alive() -> bool:
            return self._still_catching(catching)

        # A sink that can say whether its client keeps up (an operator's
        # stream, a visitor's connection) sets the replay's pace.
        room = getattr(sink, "has_room", None)
        when_room = getattr(sink, "when_room", None)
        self.journal.replay(
            after_seq, catching.replayed, done, ctx, alive=alive, room=room, when_room=when_room
        )
        return visitor_came

    def unsubscribe(self, sink: Sink) -> bool:
        """Drop ``sink`` (live or catching up). Returns whether it was the last
        visitor connection."""
        if self.subs.pop(sink, None) != "visitor":
            return False
        self.visitors -= 1
        return not self.visitors

    def _still_catching(self, catching: CatchingUp) -> bool:
        """Whether a replay is still wanted (its sink did not leave or start over)."""
        sink = catching.sink
        if self.catching.get(sink) is catching and sink in self.subs:
            return True
        if self.catching.get(sink) is catching:
            del self.catching[sink]
        if catching.reply is not None:
            catching.reply(self.journal.last_seq, None)
        return False

    def _caught_up(self, catching: CatchingUp) -> None:
        sink = catching.sink
        catching.release()
        del self.catching[sink]
        role = self.subs.pop(sink)  # the stand-in
        self.subs[sink] = role
        if catching.reply is not None:
            catching.reply(self.journal.last_seq, None)

    # -- fan-out --------------------------------------------------------------------

    def posted(self, event: MessageEvent, origin: Sink | None) -> None:
        """A post or notice is stored: to the subscribers but the one it came
        from (which has its ack); notes to operators only."""
        if origin is not None and self.catching:
            catching = self.catching.get(origin)
            if catching is not None:
                catching.skip.add(event.seq)  # its replay must not echo it either
        if event.author_kind == "note":
            for sink, role in self.subs.items():
                if sink is not origin and role == "operator":
                    sink.push(event)
        else:
            for sink in self.subs:
                if sink is not origin:
                    sink.push(event)

    def to_all(self, event: Event) -> None:
        for sink in self.subs:
            sink.push(event)

    def to_visitors(self, event: Event) -> None:
        for sink, role in self.subs.items():
            if role == "visitor":
                sink.push(event)

    def later_to_visitors(self, event: Event) -> Callable[[], None]:
        """A callable that pushes ``event`` to the visitor connections then."""

        def push() -> None:
            self.to_visitors(event)

        return push

    def to_others(self, origin: Sink | None, event: Event, operators: Event) -> None:
        """To every subscriber but ``origin`` (``!=``: a catching-up stand-in
        equals its sink): ``operators`` to operator sessions, ``event`` to
        visitor connections."""
        for sink, role in self.subs.items():
            if sink != origin:
                sink.push(operators if role == "operator" else event)
