"""An edge process's metrics and health, and the engine's view of its edges:
a real engine and a real edge attached over gRPC (``test_link.linked``),
visitors on real websockets, the metrics read by real HTTP scrapes."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from control.metrics import MetricsServer, edge_registry, registry
from edge.link import client as link_client
from engine.status import load
from tests.control.test_metrics import _scrape, _value
from tests.edge.test_link import linked, url
from tests.integration.helpers import Visitor, on_duty


@pytest.fixture(autouse=True)
def probes_at_attachment_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A probe at each attachment, no timed ones: what the tests see of the
    lag is from the probes they know of."""
    monkeypatch.setattr(link_client, "PROBE_EVERY", 3600.0)


async def test_an_edges_metrics_follow_its_visitors_refusals_and_link(tmp_path: Path) -> None:
    async with linked(tmp_path) as (app, edge):
        assert app.engine is not None
        edge_metrics = MetricsServer(edge_registry(edge))
        engine_metrics = MetricsServer(registry(app.engine, None, app.link))
        port = await edge_metrics.start("127.0.0.1", 0)
        engine_port = await engine_metrics.start("127.0.0.1", 0)
        try:
            op = await on_duty(app)
            v = await Visitor(url(app, edge)).connect()
            await v.hello()  # behind the attachment's probe: answered by now
            v.send({"type": "msg", "cid": "a", "text": "hello"})
            await v.recv("ack")
            v.send_raw(b"not json")
            assert (await v.recv("error"))["code"] == "bad_json"

            status, body = await _scrape(port)
            assert status == "HTTP/1.1 200 OK"
            assert _value(body, 'parley_connections{kind="visitor_websocket"}') == 1
            assert _value(body, 'parley_connections{kind="console_bridge"}') == 0
            assert _value(body, "parley_link_up") == 1
            assert _value(body, "parley_link_attachments_total") == 1
            assert _value(body, "parley_link_round_trip_seconds_count") >= 1
            lag = _value(body, "parley_link_lag_seconds")
            assert 0 < lag <= _value(body, "parley_link_round_trip_seconds_sum")
            assert _value(body, 'parley_edge_refusals_total{code="bad_json"}') == 1
            assert _value(body, "parley_visitor_cuts_total") == 0
            assert "parley_link_queued_items " in body
            # No id of a visitor, conversation or operator is a label.
            assert "visitor=" not in body and "conversation=" not in body

            _, engine_body = await _scrape(engine_port)
            assert _value(engine_body, 'parley_connections{kind="edge_link"}') == 1
            # The visitor's socket is the edge's: counted there, not here again.
            assert _value(engine_body, 'parley_connections{kind="visitor_websocket"}') == 0
            assert _value(engine_body, 'parley_connections{kind="visitor_on_edge"}') == 1
            assert app.engine.status().visitor_websockets == 1  # connected to this engine
            # Its open-files health rule counts the engine's own sockets alone.
            assert load(app.engine, 0, 1 << 30).visitor_websockets == 0
            assert _value(engine_body, 'parley_messages_total{direction="from_visitor"}') == 1
            assert "parley_link_queued_items " in engine_body
            status, health = await _scrape(edge.port, "/healthz")
            assert status == "HTTP/1.1 200 OK"
            doc = orjson.loads(health)
            assert (doc["status"], doc["link"], doc["connections"]) == ("ok", "up", 1)

            # The engine's streams end: the edge says so, in its metrics and health.
            app.engine.stopping = True
            app.engine.connections.end_streams()
            assert (await v.recv("service"))["state"] == "reconnecting"
            v.send({"type": "msg", "cid": "b", "text": "while away"})
            assert (await v.recv("error"))["code"] == "reconnecting"
            _, body = await _scrape(port)
            assert _value(body, "parley_link_up") == 0
            assert _value(body, 'parley_edge_refusals_total{code="reconnecting"}') == 1
            status, health = await _scrape(edge.port, "/healthz")
            assert status == "HTTP/1.1 503 Service Unavailable"
            assert orjson.loads(health)["status"] == "reconnecting"

            app.engine.stopping = False
            assert (await v.recv("service", timeout=10))["state"] == "connected"
            _, body = await _scrape(port)
            assert _value(body, "parley_link_up") == 1
            assert _value(body, "parley_link_attachments_total") == 2
            status, _ = await _scrape(edge.port, "/healthz")
            assert status == "HTTP/1.1 200 OK"
            await v.close()
            await op.close()
        finally:
            await edge_metrics.close()
            await engine_metrics.close()


async def test_a_probe_not_answered_yet_shows_as_a_growing_lag(tmp_path: Path) -> None:
    async with linked(tmp_path) as (app, edge):
        link = edge.link
        v = await Visitor(url(app, edge)).connect()
        await v.hello()  # the attachment's probe is answered: it went first
        answered = link.round_trips.count
        assert answered >= 1 and link.lag(time.monotonic()) == link.last_round_trip
        link.probe()
        link.probe()  # one out at a time: no second
        now = time.monotonic()
        assert link.lag(now + 3) >= 3  # still out three seconds on: that is the lag
        link.probed(0)  # not its number: nothing
        assert link.lag(now + 3) >= 3
        # A round trip behind the probe: its answer came first.
        v.send({"type": "ping"})
        await v.recv("pong")
        assert link.round_trips.count == answered + 1
        assert link.lag(now + 3) == link.last_round_trip < 3
        await v.close()
