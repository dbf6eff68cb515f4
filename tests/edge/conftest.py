"""One Chromium per test worker for the page tests.

Each test runs on its own event loop (tests/conftest.py), and a Playwright browser
belongs to the loop that launched it; so the browser is a plain process started
once per worker, and each test attaches to it over the DevTools protocol with a
fresh context (its own storage, cookies, cache, viewport and language: nothing a
test leaves behind reaches the next). Attaching takes a few milliseconds where a
launch takes about a second, and the page tests spread over a dozen modules."""

from __future__ import annotations

import re
import subprocess
import tempfile
import threading
from collections.abc import Iterator

import pytest

from tests.conftest import CHROMIUM_ARGS

_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


@pytest.fixture(scope="session")
def chromium_cdp(chromium_path: str) -> Iterator[str]:
    """The DevTools endpoint of a headless Chromium kept for the worker."""
    with tempfile.TemporaryDirectory(prefix="parley-chromium-") as profile:
        process = subprocess.Popen(
            [
                chromium_path,
                "--headless=new",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                *CHROMIUM_ARGS,
                # A page the test serves through request interception has no
                # network address of its own, so Chromium's local network access
                # check would stop it from opening the loopback websocket that the
                # same page served by the server may open.
                "--disable-features=LocalNetworkAccessChecks",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        drain: threading.Thread | None = None
        try:
            assert process.stderr is not None
            endpoint = ""
            for line in process.stderr:  # the line comes within a second of the start
                found = _LISTENING.search(line)
                if found:
                    endpoint = found.group(1)
                    break
            if not endpoint:
                pytest.fail(f"Chromium did not start: exit {process.wait(10)}")
            # Keep draining its log so a chatty browser never blocks on a full pipe.
            drain = threading.Thread(target=process.stderr.read, daemon=True)
            drain.start()
            yield endpoint
        finally:
            process.kill()
            process.wait(10)
            if process.stderr is not None:
                if drain is not None:
                    drain.join(10)
                process.stderr.close()
