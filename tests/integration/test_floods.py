"""Floods on the real servers: malformed frames are rate limited like good ones."""

from __future__ import annotations

from pathlib import Path

from tests.integration.helpers import Visitor, on_duty, running, visitor_url


async def test_a_flood_of_malformed_frames_is_rate_limited(tmp_path: Path) -> None:
    """300 malformed frames at once: a few parse errors (the burst), then
    rate_limited, then the connection closed as a flood (4429) -- not 300
    bad_json answers, and not closed as a mere run of bad frames (4400)."""
    async with running(tmp_path, visitor_rate=1.0, visitor_burst=5.0) as app:
        await on_duty(app)
        bystander = await Visitor(visitor_url(app)).connect()
        await bystander.hello()
        v = await Visitor(visitor_url(app)).connect()
        for _ in range(300):
            v.send_raw(b"{not json")
        codes: list[str] = []
        while True:
            frame = await v.recv()
            if frame["type"] == "_disconnected":
                break
            assert frame["type"] == "error"
            codes.append(frame["code"])
        assert frame["code"] == 4429
        assert 1 <= codes.count("bad_json") <= 6  # the burst of 5 (and a refill)
        assert codes.count("rate_limited") >= 40
        assert set(codes) == {"bad_json", "rate_limited"}
        # Another visitor of the same address, with its own bucket, still chats.
        bystander.send({"type": "msg", "cid": "b", "text": "still here"})
        assert (await bystander.recv("ack"))["seq"] == 1
