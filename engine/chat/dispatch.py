"""Client commands onto their session: the one dispatch every front end calls.

The websocket edge, the gRPC visitor channel and the operator session stream (and
the operator web bridge to come) each turn their wire format into the commands
of :mod:`engine.chat.commands` and hand them here, so a command means the same
on every front end: the same checks, the same refusals, in the same order. A
hello is awaited (it asks actors); every other command answers on the session's
sink. A visitor command sent before a hello, including ``typing``, is refused
with ``no_hello``; an unknown command with ``unknown_command``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import assert_never

from engine.chat.commands import (
    ChatAction,
    Choose,
    CloseChat,
    DeclineInvitation,
    DirectSend,
    Hello,
    LeaveTicket,
    OfferAnswer,
    OperatorClose,
    OperatorCommand,
    OperatorHello,
    OperatorRead,
    OperatorSend,
    OperatorTyping,
    PageChange,
    PickChat,
    Prechat,
    RateChat,
    ReadTo,
    Send,
    SetMyStatus,
    TypingNow,
    UnknownCommand,
    VisitorCommand,
)
from engine.chat.events import CommandFailed, Sink
from engine.chat.sessions import OperatorSession, VisitorSession, Welcome
from engine.chat.sessions.common import failure, no_hello
from engine.errors import Refused
from engine.runtime import AskTimeout, MailboxFull


def unknown_command() -> CommandFailed:
    """The refusal of a command this server does not know."""
    return CommandFailed("unknown_command", "this server does not know that command")


async def visitor_hello(session: VisitorSession, hello: Hello) -> Welcome | None:
    """Identify the visitor and resume its chat: the welcome, or None when the
    hello was refused (a second hello included: ``already_hello``) and the
    refusal is on the session's sink."""
    try:
        return await session.hello(
            department_id=hello.department,
            token=hello.token,
            last_seq=hello.last_seq,
            name=hello.name,
            email=hello.email,
            region_id=hello.region,
            page_url=hello.page_url,
            language=hello.language,
            page_title=hello.title,
            referrer=hello.referrer,
            tz_offset_minutes=hello.tz_offset,
            conversation_id=hello.conversation,
        )
    except (Refused, MailboxFull, AskTimeout) as error:  # busy or slow: retryable
        session.sink.push(failure(error))
        return None


def visitor_command(sink: Sink, session: VisitorSession | None, command: VisitorCommand) -> None:
    """Carry a visitor command other than hello onto ``session`` (None: a front
    end that opens the session with the hello, and has none yet). Answers go to
    the session's sink, or to ``sink`` before there is a session."""
    if session is None:
        match command:
            case UnknownCommand():
                sink.push(unknown_command())
            case Send():
                sink.push(no_hello(command.cid))
            case _:
                sink.push(no_hello())
        return
    if type(command) is Send:  # the hot path: one check before the match
        session.send(command.cid, command.text)
        return
    match command:
        case Send():
            session.send(command.cid, command.text)
        case TypingNow():
            session.typing(command.active, command.text)
        case ReadTo():
            session.read(command.seq)
        case RateChat():
            session.rate(command.score, command.comment)
        case Choose():
            session.choose(command.department, command.region)
        case PageChange():
            session.page(command.url, command.title)
        case LeaveTicket():
            session.leave_ticket(command.name, command.email, command.text)
        case CloseChat():
            session.close_conversation()
        case DeclineInvitation():
            session.decline_invitation()
        case Prechat():
            session.prechat(command.name, command.email, command.question, command.cid)
        case UnknownCommand():
            session.sink.push(unknown_command())
        case Hello():
            raise TypeError("a hello is awaited through visitor_hello")
        case _:
            assert_never(command)


async def operator_command(
    session: OperatorSession, command: OperatorCommand, ready: Callable[[], None]
) -> None:
    """Carry an operator command onto ``session``; answers and refusals go to its
    sink. After a hello attached the session, ``ready`` is called (the front end
    tells its client) before the operators list and the board follow."""
    match command:
        case OperatorSend():
            session.send(command.conversation_id, command.client_msg_id, command.text, command.note)
        case OperatorClose():
            session.close_conversation(command.conversation_id)
        case OperatorTyping():
            session.typing(command.conversation_id, command.active)
        case OperatorRead():
            session.read(command.conversation_id, command.seq)
        case SetMyStatus():
            session.set_status(command.status)
        case OfferAnswer():
            session.answer_offer(command.conversation_id, command.accept)
        case PickChat():
            await session.pick(command.conversation_id)
        case ChatAction():
            await _act(session, command)
        case DirectSend():
            session.direct(command.to_operator_id, command.client_msg_id, command.text)
        case OperatorHello():
            try:
                await session.hello(command.resume)
            except Refused as error:
                session.sink.push(failure(error))
                return
            ready()
            await session.watch()
        case UnknownCommand():
            session.sink.push(unknown_command())
        case _:
            assert_never(command)


async def _act(session: OperatorSession, a: ChatAction) -> None:
    if a.action == "join":
        await session.act(a.conversation_id, "join", invisible=a.invisible)
    elif a.action == "leave":
        await session.act(a.conversation_id, "leave")
    elif a.action == "invite":
        await session.act(a.conversation_id, "invite", operator_id=a.operator_id)
    elif a.action == "transfer":
        await session.act(
            a.conversation_id,
            "transfer",
            operator_id=a.operator_id,
            department_id=a.department_id,
        )
    elif a.action == "take_over":
        await session.act(a.conversation_id, "take_over", from_id=a.from_id)
    elif a.action == "chat_status":
        await session.act(a.conversation_id, "chat_status", status=a.status)
    else:
        session.sink.push(unknown_command())
