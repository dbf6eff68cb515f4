"""``parley chat``: a terminal operator console over the operator session stream.

The console is a client of ``parley.v1.OperatorSession`` like the web console:
one thread reads typed lines and queues commands for the stream (``lines``), the
main thread prints the stream's events as they arrive (``console``). Every chat
it sees gets a short number for the session, and every line about a chat, in
or out, starts with that number and the visitor's name (``[2 Ada]``), so a line
never reaches a visitor the operator did not mean.
"""

from __future__ import annotations

import threading

import click
import grpc

from control.cli.chat.console import Console
from control.cli.chat.lines import read_input
from control.cli.common import EXIT_REFUSED, EXIT_UNREACHABLE, Ctx, Refusal, pass_ctx
from parley.v1 import operator_pb2_grpc


@click.command()
@pass_ctx
def chat(ctx: Ctx) -> None:
    """Answer chats from the terminal, as the logged-in operator.

    Each chat gets a number; incoming lines show it with the visitor's name
    ("[2 Ada] Ada: hello"), and so does every line you send ("[2 Ada] > hi").
    A plain line goes to the chat chosen with "/to N" (or to your only open
    chat); with two chats open and none chosen it is refused, never guessed.
    "/help" lists the commands; "/quit" (or end of input) leaves.
    """
    console = Console(ctx.client())
    stub = operator_pb2_grpc.OperatorSessionStub(console.client.channel)
    call = stub.Connect(console.batches(), metadata=console.client.metadata())
    threading.Thread(target=read_input, args=(console, call), daemon=True).start()
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
