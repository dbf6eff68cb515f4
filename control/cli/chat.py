"""``parley chat``: a terminal operator console over the operator session stream.

The console is a client of ``parley.v1.OperatorSession`` like the web console:
one thread reads typed lines and queues commands for the stream, the main thread
prints the stream's events as they arrive. It remembers two things, both set by
what arrives and by ``/to``: the chat a plain line goes to (the one that spoke
last) and the last offer, which ``/accept`` and ``/decline`` answer.
"""

from __future__ import annotations

import itertools
import os
import queue
import sys
import threading
from collections.abc import Iterator
from typing import Any

import click
import grpc

from control.cli.common import EXIT_REFUSED, EXIT_UNREACHABLE, Ctx, Refusal, pass_ctx
from control.client import Client
from parley.v1 import control_pb2, operator_pb2, operator_pb2_grpc


@click.command()
@pass_ctx
def chat(ctx: Ctx) -> None:
    """Answer chats from the terminal, as the logged-in operator.

    Incoming messages are printed as they arrive. A typed line goes to the
    conversation that spoke last; "/to CONVERSATION_ID" switches, "/close" closes
    the current one, "/status online|away|offline" sets your status, "/accept"
    and "/decline" answer the last offer, "/pick CONVERSATION_ID" takes a waiting
    chat, "/note TEXT" whispers to the chat's operators, "/q SHORTCUT" sends a
    quick reply filled in for the chat, "/quit" (or end of input) leaves.
    """
    console = _Console(ctx.client())
    stub = operator_pb2_grpc.OperatorSessionStub(console.client.channel)
    call = stub.Connect(console.batches(), metadata=console.client.metadata())
    threading.Thread(target=console.read_input, args=(call,), daemon=True).start()
    try:
        for batch in call:
            for event in batch.events:
                console.show(event)
    except grpc.RpcError as error:
        if error.code() is not grpc.StatusCode.CANCELLED:
            ctx.refuse(
                Refusal.of(error),
                EXIT_UNREACHABLE if error.code() is grpc.StatusCode.UNAVAILABLE else EXIT_REFUSED,
            )


class _Console:
    """The console's state, shared by the input thread and the event printer."""

    def __init__(self, client: Client) -> None:
        self.client = client
        # Batches of commands for the stream; None ends it.
        self.outbox: queue.Queue[Any] = queue.Queue()
        self.outbox.put([operator_pb2.OperatorCommand(hello=operator_pb2.OperatorHello())])
        self.current = ""  # the chat a plain line goes to
        self.offered = ""  # the last offer, until it is gone
        self._ids = itertools.count(1)
        self._prefix = os.urandom(4).hex()

    def batches(self) -> Iterator[Any]:
        """The stream's requests: each queued batch, until None."""
        while (batch := self.outbox.get()) is not None:
            yield operator_pb2.OperatorCommandBatch(commands=batch)

    def put(self, command: Any) -> None:
        """Queue one command for the stream."""
        self.outbox.put([command])

    def send(self, text: str, whisper: bool = False) -> None:
        """Send TEXT to the current chat (to its operators only, as a whisper)."""
        message = operator_pb2.OperatorSend(
            conversation_id=self.current,
            client_msg_id=f"{self._prefix}-{next(self._ids)}",
            text=text,
        )
        if whisper:
            self.put(operator_pb2.OperatorCommand(whisper=message))
        else:
            self.put(operator_pb2.OperatorCommand(send=message))

    def read_input(self, call: Any) -> None:
        """Turn typed lines into commands until "/quit" or end of input, then hang up."""
        for raw in sys.stdin:
            line = raw.strip()
            if not line:
                continue
            if line == "/quit":
                break
            command = _console_command(line, self.offered)
            if command is not None:
                self.put(command)
            elif line.startswith("/to "):
                self.current = line[4:].strip()
                click.echo(f"-- now writing to {self.current}")
            elif line.startswith("/note ") and self.current:
                self.send(line[6:].strip(), whisper=True)
            elif line.startswith("/q ") and self.current:
                text = _quick_reply(self.client, line[3:].strip(), self.current)
                if text is None:
                    click.echo("-- no quick reply by that shortcut")
                    continue
                self.send(text)
            elif line.startswith("/") and line != "/close":
                click.echo("-- unknown command, or no offer to answer")
            elif not self.current:
                click.echo("-- no conversation yet; wait for a visitor or use /to ID")
            elif line == "/close":
                self.put(
                    operator_pb2.OperatorCommand(
                        close=operator_pb2.CloseConversation(conversation_id=self.current)
                    )
                )
            else:
                self.send(line)
        self.outbox.put(None)
        call.cancel()

    def show(self, event: Any) -> None:
        """Print one event of the stream, and follow the chat or offer it names."""
        which = event.WhichOneof("event")
        if which == "ready":
            click.echo(f"-- signed in as {event.ready.display_name}; waiting for chats")
        elif which == "assigned":
            a = event.assigned
            self.current = a.conversation_id
            click.echo(
                f"-- chat {a.conversation_id} with {a.visitor_name} (visitor {a.visitor_id})"
            )
        elif which == "message":
            m = event.message
            if m.author_kind == 1:
                self.current = m.conversation_id
            who = {1: m.author_name or "visitor", 2: m.author_name, 3: "*"}.get(m.author_kind, "?")
            click.echo(f"[{m.conversation_id} #{m.seq}] {who}: {m.text}")
        elif which == "closed":
            click.echo(f"-- chat {event.closed.conversation_id} closed")
        elif which == "offered":
            o = event.offered
            self.offered = o.conversation_id
            click.echo(
                f"-- offer: chat {o.conversation_id} with {o.visitor_name} "
                f"(visitor {o.visitor_id}); "
                f"/accept or /decline within {o.expires_in_seconds} s"
            )
        elif which == "withdrawn":
            w = event.withdrawn
            if self.offered == w.conversation_id:
                self.offered = ""
            click.echo(f"-- offer of {w.conversation_id} gone ({w.reason})")
        elif which == "presence":
            p = event.presence
            click.echo(f"-- {p.display_name} is {p.status}")
        elif which == "error":
            click.echo(f"-- refused: {event.error.code}: {event.error.message}")


def _quick_reply(client: Client, shortcut: str, conversation_id: str) -> str | None:
    """The quick reply SHORTCUT (or the only one it begins), filled in for the chat."""
    try:
        reply = client.list_all(
            client.templates.ListTemplates,
            control_pb2.ListTemplatesRequest(
                prefix=shortcut.lstrip("/"), conversation_id=conversation_id
            ),
            "templates",
        )
    except grpc.RpcError:
        return None
    exact = [t for t in reply.templates if t.shortcut == shortcut.lstrip("/")]
    chosen = exact or (list(reply.templates) if len(reply.templates) == 1 else [])
    return chosen[0].rendered if chosen else None


def _console_command(line: str, offered: str) -> Any:
    """The operator command for a console line starting with "/", if it is one."""
    word, _, rest = line.partition(" ")
    rest = rest.strip()
    if word == "/status" and rest:
        return operator_pb2.OperatorCommand(status=operator_pb2.SetStatus(status=rest))
    if word in ("/accept", "/decline") and (rest or offered):
        return operator_pb2.OperatorCommand(
            answer=operator_pb2.OfferAnswer(
                conversation_id=rest or offered, accept=word == "/accept"
            )
        )
    if word == "/pick" and rest:
        return operator_pb2.OperatorCommand(
            pick=operator_pb2.PickConversation(conversation_id=rest)
        )
    return None
