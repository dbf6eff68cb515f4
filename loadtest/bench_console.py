"""The operators' console in a browser (Chromium through Playwright, as the page
tests drive it): how long it takes to become usable with many chats, and to
switch between them; and, from ``loadtest.bench_bridge`` run beside it, what
the web bridge adds per event and how fast an event reaches CONSOLES consoles
connected at once to one edge.

    python -m loadtest.bench_console [--chats 200] [--messages 50] [--switches 40]
        [--consoles 100] [--console-only] [--smoke]

The server runs on core 0 (taskset). An operator with room for every chat goes
online through a direct gRPC session (accepting each offer); CHATS visitors each
write MESSAGES messages; that session ends. Then the console signs in: "usable"
is the click on Sign in until every chat is listed in Mine, "replayed" until the
stream has brought every message. A switch is a click on a chat's row until its
transcript is drawn (a MutationObserver in the page), and until the next frame.
With PARLEY_BENCH_PORT=N the servers listen on N and N+1 (loadtest/server.py).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
import orjson
import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from edge.visitor.frames import client_hello, client_msg
from loadtest import server as parley_server
from loadtest.chatload import new_operator
from loadtest.machine import describe, table
from parley.v1 import operator_pb2, operator_pb2_grpc

EMAIL = "console-bench@parley.local"
PASSWORD = "console-bench-password"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]

SWITCH = """async (ids) => {
  const out = [];
  const log = document.getElementById("transcript");
  for (const id of ids) {
    const button = document.querySelector(`#lists button.open[data-chat="${id}"]`);
    const t0 = performance.now();
    const drawn = new Promise((resolve) => {
      const done = () => log.dataset.chat === id && log.querySelector(".msg");
      if (done()) { resolve(); return; }
      const watch = new MutationObserver(() => { if (done()) { watch.disconnect(); resolve(); } });
      watch.observe(log, {childList: true, attributes: true});
    });
    button.click();
    await drawn;
    const t1 = performance.now();
    await new Promise((resolve) => requestAnimationFrame(() => resolve()));
    out.push([t1 - t0, performance.now() - t0]);
  }
  return out;
}"""


class VisitorClient(WSListener):  # type: ignore[misc]
    """A visitor that counts its acks."""

    def __init__(self) -> None:
        self.welcomed = asyncio.get_running_loop().create_future()
        self.acks = 0

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        kind = orjson.loads(frame.get_payload_as_bytes()).get("type")
        if kind == "welcome" and not self.welcomed.done():
            self.welcomed.set_result(None)
        elif kind == "ack":
            self.acks += 1


async def on_duty(channel: grpc.aio.Channel, token: str) -> tuple[Any, asyncio.Task[None]]:
    """The operator online through a direct session that accepts every offer."""
    stub = operator_pb2_grpc.OperatorSessionStub(channel)
    outbox: asyncio.Queue[Any] = asyncio.Queue()
    hello = operator_pb2.OperatorCommand(hello=operator_pb2.OperatorHello())
    outbox.put_nowait(operator_pb2.OperatorCommandBatch(commands=[hello]))

    async def commands() -> Any:
        while (item := await outbox.get()) is not None:
            yield item

    call = stub.Connect(commands(), metadata=[("authorization", f"Bearer {token}")])
    ready = asyncio.get_running_loop().create_future()

    async def read() -> None:
        async for batch in call:
            accept = []
            for event in batch.events:
                kind = event.WhichOneof("event")
                if kind == "ready" and not ready.done():
                    ready.set_result(None)
                elif kind == "offered":
                    answer = operator_pb2.OfferAnswer(
                        conversation_id=event.offered.conversation_id, accept=True
                    )
                    accept.append(operator_pb2.OperatorCommand(answer=answer))
            if accept:
                outbox.put_nowait(operator_pb2.OperatorCommandBatch(commands=accept))

    task = asyncio.create_task(read())
    await ready
    return outbox, task


async def fill(srv: parley_server.Server, chats: int, messages: int) -> float:
    """CHATS chats of MESSAGES visitor messages each, all the operator's; seconds taken."""
    info = srv.info
    started = time.perf_counter()
    async with grpc.aio.insecure_channel(info["grpc"]) as channel:
        token = await new_operator(channel, info, EMAIL, PASSWORD, chats, "Console bench")
        # The demo operator stays offline: every chat comes to this one.
        outbox, task = await on_duty(channel, token)
        clients: list[tuple[WSTransport, VisitorClient]] = []
        for i in range(chats):
            transport, client = await ws_connect(VisitorClient, srv.visitor_url())
            transport.send(WSMsgType.TEXT, client_hello(name=f"Visitor {i:03d}"))
            await client.welcomed
            clients.append((transport, client))
        for m in range(messages):
            for i, (transport, _) in enumerate(clients):
                transport.send(
                    WSMsgType.TEXT, client_msg(f"m{i}-{m}", f"message {m} of visitor {i}")
                )
            async with asyncio.timeout(120):
                while sum(c.acks for _, c in clients) < chats * (m + 1):
                    await asyncio.sleep(0.01)
        outbox.put_nowait(None)
        task.cancel()
        # The visitors stay: a visitor who leaves ends its chat.
        srv.visitors = clients  # type: ignore[attr-defined]
    return time.perf_counter() - started


async def browse(
    srv: parley_server.Server, args: argparse.Namespace, chromium: str
) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    out: dict[str, Any] = {}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1366, "height": 768})
        await page.goto(f"http://{srv.info['ws']}/console")
        await page.fill("#email", EMAIL)
        await page.fill("#password", PASSWORD)
        t0 = time.perf_counter()
        await page.click("#sign-in")
        await page.wait_for_function(
            f"() => document.querySelector('[data-count=mine]')?.textContent === '{args.chats}'",
            timeout=120_000,
            polling=10,
        )
        out["usable"] = time.perf_counter() - t0
        total = args.chats * args.messages
        await page.wait_for_function(
            f"() => window.parleyNav && window.parleyNav.streamMessages >= {total}",
            timeout=120_000,
            polling=10,
        )
        out["replayed"] = time.perf_counter() - t0
        out["stream"] = await page.evaluate("window.parleyNav.streamMessages")
        ids = await page.locator("#lists button.open[data-chat]").evaluate_all(
            "els => els.map(e => e.dataset.chat)"
        )
        picks = [ids[(i * 7919) % len(ids)] for i in range(args.switches)]
        picks = [p for i, p in enumerate(picks) if i == 0 or p != picks[i - 1]]
        await page.evaluate(SWITCH, picks[:2])  # warm
        out["switches"] = await page.evaluate(SWITCH, picks)
        await browser.close()
    return out


def bridge_latency(consoles: int) -> tuple[str, str, str]:
    """bench_bridge at ~1,000 events/s: what it added, its direct and bridge
    rows, and its row of CONSOLES consoles at once on the one edge."""
    argv = [sys.executable, "-m", "loadtest.bench_bridge"]
    argv += ["--rate", "1000", "--seconds", "5", "--consoles", str(consoles)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=True)
    lines = done.stdout.splitlines()
    added = next(ln for ln in lines if ln.startswith("Added by the bridge"))
    rows = [ln for ln in lines if ln.startswith("|")][2:4]
    many = lines.index(next(ln for ln in lines if "consoles at once on the one edge" in ln))
    head, row = lines[many + 1], lines[many + 3]
    fields = dict(zip(cells(head), cells(row), strict=True))
    at_once = (
        f"{fields['consoles']} consoles connected: an event to all of them in"
        f" p50 {fields['p50 ms']} ms, p99 {fields['p99 ms']} ms"
        f" ({fields['server KiB each']} KiB of server memory each)"
    )
    return (
        added.removeprefix("Added by the bridge: "),
        " ; ".join(r.strip("| ") for r in rows),
        at_once,
    )


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(args: argparse.Namespace) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        sys.exit("Chromium is missing: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="parley-bench-console-") as tmp:
        srv = await parley_server.start(
            Path(tmp) / "data",
            # Every visitor comes from this one address and writes fast.
            *("--max-visitors-per-ip", "1000000", "--visitor-ip-rate", "100000000"),
            *("--visitor-rate", "1000000", "--visitor-burst", "1000000"),
            *("--visitor-messages-per-hour", "0"),
            cpu=0,
            required=(*parley_server.REQUIRED, "owner_email"),
        )
        try:
            filled = await fill(srv, args.chats, args.messages)
            seen = await browse(srv, args, chromium)
        finally:
            for transport, _ in getattr(srv, "visitors", []):
                transport.disconnect()
            await srv.stop()
    # The bridge's own benchmark, at full size (its smoke run is in the suite apart).
    skipped = "(not run)"
    added, rows, at_once = (
        bridge_latency(args.consoles)
        if not (args.smoke or args.console_only)
        else (skipped, "", skipped)
    )
    drawn = [s[0] for s in seen["switches"]]
    framed = [s[1] for s in seen["switches"]]
    print(f"Operators' console in Chromium, server on core 0. Machine: {describe()}")
    print(
        f"{args.chats} chats of {args.messages} visitor messages "
        f"({args.chats * args.messages:,}) made in {filled:.1f} s; "
        f"the console's stream brought {seen['stream']:,} messages"
    )
    print()
    rows_out = [
        ["sign in to every chat listed (usable)", f"{seen['usable'] * 1000:,.0f} ms", ""],
        ["sign in to every message replayed", f"{seen['replayed'] * 1000:,.0f} ms", ""],
        [
            f"switch chats, to transcript drawn ({len(drawn)} switches)",
            f"{statistics.median(drawn):.1f} ms",
            f"{pct(drawn, 0.95):.1f} ms",
        ],
        [
            "switch chats, to the next frame",
            f"{statistics.median(framed):.1f} ms",
            f"{pct(framed, 0.95):.1f} ms",
        ],
    ]
    print(table(rows_out, ["measure", "p50 (or once)", "p95"]))
    print()
    print(f"Bridge latency at ~1,000 events/s (loadtest.bench_bridge): added {added}")
    print(f"  ({rows})")
    print(f"Consoles on one edge (loadtest.bench_bridge): {at_once}")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--switches", type=int, default=40)
    parser.add_argument(
        "--consoles", type=int, default=100, help="consoles at once on the edge (bench_bridge)"
    )
    parser.add_argument(
        "--console-only", action="store_true", help="the browser's figures, not bench_bridge's"
    )
    parser.add_argument("--smoke", action="store_true", help="a tiny run for the test suite")
    args = parser.parse_args(argv)
    if args.smoke:
        args.chats, args.messages, args.switches = 10, 5, 6
    return args


if __name__ == "__main__":
    uvloop.run(main(parse(sys.argv[1:])))
