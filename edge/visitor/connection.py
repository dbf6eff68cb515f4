"""The visitor connection's state machine, without I/O.

A connection starts waiting for its hello, which must come before a deadline
(a value here, "deadline at T" on the monotonic clock the glue passes in; the
glue arms a timer for it and asks :meth:`ConnectionState.deadline_reached`
when it fires). While a hello runs (it asks actors, so it takes a while) every frame
that arrives is held, then handed back in order when the hello completes, so a
message sent right behind the hello is answered after the welcome; only a
refusal that closes the connection is acted on at once. A refused
hello leaves the connection as it was (waiting, or ready for a second hello's
refusal). What each command means is not decided here: the glue hands commands
to :mod:`engine.chat.dispatch`, the same dispatch the gRPC visitor channel uses.
"""

from __future__ import annotations

import enum

from edge.visitor.frames import Command, FrameError, Hello


class Phase(enum.Enum):
    WAITING = "waiting"  # no hello yet
    GREETING = "greeting"  # a hello is running; frames are held
    READY = "ready"  # welcomed


# Module constants: a global is quicker to reach than an enum's member, and
# accept() runs for every frame.
_WAITING, _GREETING, _READY = Phase.WAITING, Phase.GREETING, Phase.READY


class ConnectionState:
    """One visitor connection's hello state, held frames and hello deadline."""

    __slots__ = ("phase", "held", "hello_deadline", "_before")

    def __init__(self, now: float, hello_timeout: float) -> None:
        if hello_timeout <= 0:
            raise ValueError(f"hello_timeout must be > 0 seconds, not {hello_timeout!r}")
        self.phase = Phase.WAITING
        self.held: list[Command | FrameError] = []
        # When the hello must have completed; None once welcomed or overdue.
        self.hello_deadline: float | None = now + hello_timeout
        self._before = Phase.WAITING

    @property
    def ready(self) -> bool:
        return self.phase is Phase.READY

    def accept(self, frame: Command | FrameError) -> Command | FrameError | None:
        """What to act on now: ``frame`` itself, or None when it is held until
        the running hello completes. A hello returned here is to be run (the
        glue reports its outcome with :meth:`hello_done`)."""
        phase = self.phase
        if phase is _GREETING:
            if type(frame) is FrameError and frame.close_code:
                # A refusal that closes the connection (a flood, too many bad
                # frames) does not wait: a hello resuming a long chat at a
                # slow reader's pace may run for minutes.
                return frame
            self.held.append(frame)
            return None
        if type(frame) is Hello:
            self._before = phase
            self.phase = _GREETING
        return frame

    def hello_done(self, welcomed: bool) -> list[Command | FrameError]:
        """The hello completed (``welcomed``) or was refused; returns the frames
        held meanwhile, in order, to be accepted again."""
        if self.phase is not Phase.GREETING:
            raise RuntimeError("hello_done without a hello running")
        if welcomed:
            self.phase = Phase.READY
            self.hello_deadline = None
        else:
            self.phase = self._before
        held, self.held = self.held, []
        return held

    def deadline_reached(self) -> bool:
        """The glue's timer for :attr:`hello_deadline` fired: True when the
        connection has no welcome and is to be closed (``hello_timeout``). The
        timer, not a comparison of clocks, says the time has come, so a timer
        that fires a hair early still closes the connection. A hello that is
        running when it fires decides: a resume replays what was missed at
        the reader's pace, which may take longer than the deadline; if that
        hello is refused, the glue arms the timer again, due at once."""
        if self.hello_deadline is None or self.phase is not _WAITING:
            return False
        self.hello_deadline = None
        return True
