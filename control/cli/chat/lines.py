"""What the operator types: plain lines for the chosen chat, and the commands.

Every command naming a chat takes its number (``/chats`` lists them) and is
checked at once: a chat the console does not know is an error on the spot, not
a refusal after the fact. Names of colleagues and departments (``/transfer``,
``/invite``) are looked up with Operators.ListOperators and
Departments.ListDepartments; an unknown or ambiguous name is an error too.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click
import grpc

from control.cli.chat.console import Chat, Console
from control.cli.common import Refusal
from parley.v1 import control_pb2, operator_pb2

HELP = """\
-- commands (N is a chat's number, as /chats shows it):
   TEXT                   send TEXT to the chosen chat (/to N), or to your only open chat
   /to N                  plain lines (and /note, /q) go to chat N from now on
   /chats                 your chats, the New pool and colleagues' chats, by number
   /note TEXT             a note in the chosen chat that only operators see
   /q SHORTCUT, //SHORTCUT  send a quick reply, filled in for the chosen chat
   /accept [N], /decline [N]  answer an offer (the last one without N)
   /take N                take chat N from the New pool
   /join N [invisible]    join a colleague's chat N
   /invite N NAME         bring a colleague into chat N
   /transfer N NAME       hand chat N to a colleague or a department, and leave
   /leave N               leave chat N
   /close [N]             end chat N (the chosen chat without N)
   /status online|away|offline  set your status
   /help                  this list
   /quit                  leave (end of input too)"""


def read_input(console: Console, call: Any) -> None:
    """Turn typed lines into commands until "/quit" or end of input, then hang up."""
    for raw in sys.stdin:
        line = raw.strip()
        if not line:
            continue
        if line == "/quit":
            break
        try:
            handle(console, line)
        except Exception as error:  # a line must never end the console
            click.echo(f"-- that line failed: {error}")
    console.outbox.put(None)
    call.cancel()


def handle(console: Console, line: str) -> None:
    """Do what one typed line says."""
    if line.startswith("//"):
        line = "/q " + line[2:]
    if not line.startswith("/"):
        _say(console, line)
        return
    word, _, rest = line.partition(" ")
    command = COMMANDS.get(word)
    if command is None:
        click.echo(f"-- unknown command {word}; /help lists them")
        return
    command(console, rest.strip())


def _say(
    console: Console, text: str, note: bool = False, quick: str = "", to: Chat | None = None
) -> None:
    """Send TEXT (a note, a quick reply) to where plain lines go (TO, when it was
    filled in for that chat and is still where they go), and echo it there."""
    chat = console.destination()
    if isinstance(chat, str):
        click.echo(f"-- {chat}")
        return
    if to is not None and chat is not to:
        click.echo(f"-- not sent: {to.label} is no longer where lines go; /to N, then again")
        return
    message = console.message(chat.conversation_id, text)
    # Each echo is printed before its line is sent, so that it comes before
    # anything the stream's thread prints about that line (a refusal).
    if note:
        click.echo(f"{chat.label} (note) > {text}")
        console.put(operator_pb2.OperatorCommand(whisper=message))
        return
    # A line-based terminal cannot tell keystrokes: the visitor is told the
    # operator typed with each line, and that it stopped once it is sent.
    typing = operator_pb2.OperatorTyping(conversation_id=chat.conversation_id, active=True)
    stopped = operator_pb2.OperatorTyping(conversation_id=chat.conversation_id, active=False)
    click.echo(f"{chat.label} > {text}" + (f"   (quick reply {quick})" if quick else ""))
    console.put(
        operator_pb2.OperatorCommand(typing=typing),
        operator_pb2.OperatorCommand(send=message),
        operator_pb2.OperatorCommand(typing=stopped),
    )


def _chat(console: Console, ref: str, usage: str) -> Chat | None:
    """The chat REF names, or None after saying why."""
    if not ref:
        click.echo(f"-- usage: {usage}")
        return None
    chat = console.find(ref)
    if chat is None:
        click.echo(f"-- no chat {ref}; /chats lists them")
    return chat


def _action(console: Console, chat: Chat, **action: Any) -> None:
    console.put(
        operator_pb2.OperatorCommand(
            action=operator_pb2.ChatAction(conversation_id=chat.conversation_id, **action)
        )
    )


def cmd_help(console: Console, rest: str) -> None:
    click.echo(HELP)


def cmd_chats(console: Console, rest: str) -> None:
    with console.lock:
        chosen = console.target
        chats = sorted(console.chats.values(), key=lambda c: c.number)
        groups = [
            ("your chats", [c for c in chats if c.mine]),
            ("waiting in the New pool (/take N)", [c for c in chats if c.view == "new"]),
            ("colleagues' chats (/join N)", [c for c in chats if c.view == "others"]),
            ("missed", [c for c in chats if c.view == "missed" and not c.mine]),
        ]
    if not any(group for _, group in groups):
        click.echo("-- no chats yet")
    for title, group in groups:
        if not group:
            continue
        click.echo(f"-- {title}:")
        for c in group:
            mark = "  <- plain lines go here" if c.conversation_id == chosen and c.mine else ""
            click.echo(f"   {c.number:>3}  {c.visitor_name or 'visitor'}{mark}")


def cmd_to(console: Console, rest: str) -> None:
    chat = _chat(console, rest, "/to N")
    if chat is None:
        return
    if not chat.mine:
        hint = f"/take {chat.number}" if chat.view == "new" else f"/join {chat.number}"
        click.echo(f"-- {chat.label} is not one of your chats; {hint} first")
        return
    console.choose(chat)
    click.echo(f"-- plain lines go to {chat.label} now")


def cmd_note(console: Console, rest: str) -> None:
    if not rest:
        click.echo("-- usage: /note TEXT")
        return
    _say(console, rest, note=True)


def cmd_quick(console: Console, rest: str) -> None:
    if not rest:
        click.echo("-- usage: /q SHORTCUT (or //SHORTCUT)")
        return
    chat = console.destination()
    if isinstance(chat, str):
        click.echo(f"-- {chat}")
        return
    shortcut = rest.lstrip("/")
    try:
        reply = console.client.list_all(
            console.client.templates.ListTemplates,
            control_pb2.ListTemplatesRequest(prefix=shortcut, conversation_id=chat.conversation_id),
            "templates",
        )
    except grpc.RpcError as error:
        click.echo(f"-- cannot read the quick replies: {Refusal.of(error).text()}")
        return
    exact = [t for t in reply.templates if t.shortcut == shortcut]
    chosen = exact or (list(reply.templates) if len(reply.templates) == 1 else [])
    if not chosen:
        found = ", ".join(sorted(t.shortcut for t in reply.templates))
        click.echo(f"-- no quick reply {shortcut}" + (f"; it begins {found}" if found else ""))
        return
    _say(console, chosen[0].rendered, quick=chosen[0].shortcut, to=chat)


def _answer(console: Console, rest: str, accept: bool) -> None:
    if rest:
        chat = _chat(console, rest, "/accept [N]")
        if chat is None:
            return
        conversation_id = chat.conversation_id
    elif console.offered:
        conversation_id = console.offered
    else:
        click.echo("-- no offer to answer")
        return
    console.put(
        operator_pb2.OperatorCommand(
            answer=operator_pb2.OfferAnswer(conversation_id=conversation_id, accept=accept)
        )
    )


def cmd_accept(console: Console, rest: str) -> None:
    _answer(console, rest, True)


def cmd_decline(console: Console, rest: str) -> None:
    _answer(console, rest, False)


def cmd_take(console: Console, rest: str) -> None:
    chat = _chat(console, rest, "/take N")
    if chat is not None:
        console.put(
            operator_pb2.OperatorCommand(
                pick=operator_pb2.PickConversation(conversation_id=chat.conversation_id)
            )
        )


def cmd_join(console: Console, rest: str) -> None:
    ref, _, how = rest.partition(" ")
    chat = _chat(console, ref, "/join N [invisible]")
    if chat is not None:
        invisible = how.strip() == "invisible"
        _action(console, chat, join=operator_pb2.JoinChat(invisible=invisible))


def cmd_leave(console: Console, rest: str) -> None:
    chat = _chat(console, rest, "/leave N")
    if chat is not None:
        console.leaving.add(chat.conversation_id)
        _action(console, chat, leave=operator_pb2.LeaveChat())


def cmd_close(console: Console, rest: str) -> None:
    if rest:
        chat: Chat | str | None = _chat(console, rest, "/close N")
    else:
        chat = console.destination()
    if isinstance(chat, str):
        click.echo(f"-- {chat}")
        return
    if chat is not None:
        console.leaving.add(chat.conversation_id)
        console.put(
            operator_pb2.OperatorCommand(
                close=operator_pb2.CloseConversation(conversation_id=chat.conversation_id)
            )
        )


def cmd_invite(console: Console, rest: str) -> None:
    ref, _, name = rest.partition(" ")
    chat = _chat(console, ref, "/invite N NAME")
    if chat is None:
        return
    if not name.strip():
        click.echo("-- usage: /invite N NAME")
        return
    found = _lookup(console, name.strip(), departments=False)
    if found is not None:
        # Said before it is sent: the stream's answer may be printed at once.
        click.echo(f"-- {chat.label} inviting {found[2]}")
        _action(console, chat, invite_operator_id=found[1])


def cmd_transfer(console: Console, rest: str) -> None:
    ref, _, name = rest.partition(" ")
    chat = _chat(console, ref, "/transfer N NAME")
    if chat is None:
        return
    if not name.strip():
        click.echo("-- usage: /transfer N COLLEAGUE-OR-DEPARTMENT")
        return
    found = _lookup(console, name.strip(), departments=True)
    if found is None:
        return
    kind, target_id, label = found
    console.leaving.add(chat.conversation_id)
    # Said before it is sent: the stream's thread may print the outcome (the
    # chat no longer the operator's) as soon as the server has it.
    click.echo(f"-- {chat.label} transferring to {label}")
    if kind == "operator":
        _action(console, chat, transfer_to_operator_id=target_id)
    else:
        _action(console, chat, transfer_to_department_id=target_id)


def _lookup(console: Console, name: str, departments: bool) -> tuple[str, str, str] | None:
    """(kind, id, label) of the colleague (or department) NAME means: its id, its
    name or email in any case, or the start of only one name; None after saying
    why not."""
    client = console.client
    candidates: list[tuple[str, str, str, tuple[str, ...]]] = []
    try:
        operators = client.list_all(
            client.operators.ListOperators, control_pb2.ListOperatorsRequest(), "operators"
        ).operators
        for o in operators:
            if o.id != console.operator_id:
                names = (o.id, o.display_name, o.email)
                candidates.append(("operator", o.id, f"{o.display_name} (colleague)", names))
        if departments:
            for d in client.list_all(
                client.departments.ListDepartments,
                control_pb2.ListDepartmentsRequest(),
                "departments",
            ).departments:
                candidates.append(("department", d.id, f"{d.name} (department)", (d.id, d.name)))
    except grpc.RpcError as error:
        click.echo(f"-- cannot look {name} up: {Refusal.of(error).text()}")
        return None
    wanted = name.casefold()
    exact = [c for c in candidates if wanted in (n.casefold() for n in c[3])]
    matches = exact or [c for c in candidates if c[3][1].casefold().startswith(wanted)]
    what = "colleague or department" if departments else "colleague"
    if not matches:
        click.echo(f"-- no {what} called {name}")
        return None
    if len(matches) > 1:
        listed = ", ".join(sorted(c[2] for c in matches))
        click.echo(f"-- {name} is ambiguous: {listed}; give more of the name, or the id")
        return None
    return matches[0][0], matches[0][1], matches[0][2]


def cmd_status(console: Console, rest: str) -> None:
    if rest not in ("online", "away", "offline"):
        click.echo("-- usage: /status online|away|offline")
        return
    console.put(operator_pb2.OperatorCommand(status=operator_pb2.SetStatus(status=rest)))


COMMANDS: dict[str, Callable[[Console, str], None]] = {
    "/help": cmd_help,
    "/chats": cmd_chats,
    "/to": cmd_to,
    "/note": cmd_note,
    "/q": cmd_quick,
    "/accept": cmd_accept,
    "/decline": cmd_decline,
    "/take": cmd_take,
    "/pick": cmd_take,
    "/join": cmd_join,
    "/invite": cmd_invite,
    "/transfer": cmd_transfer,
    "/leave": cmd_leave,
    "/close": cmd_close,
    "/status": cmd_status,
}
