"""Shared fixtures: uvloop, asyncio tests, temporary data directories, and the
cheap password hasher every test server uses."""

from __future__ import annotations

import asyncio
import compileall
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import uvloop
from argon2 import PasswordHasher
from playwright.async_api import Playwright, async_playwright, expect

CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
"""argon2id at its lowest settings: tests hash and check hundreds of passwords,
and at the production defaults each costs a fifth of a second of CPU. Passed to
the engine explicitly; production never sees it (tests/engine/test_auth.py
checks the default)."""

TAKE_SHOTS = os.environ.get("PARLEY_SHOTS", "") not in ("", "0")
"""Whether the page tests save a screenshot of each key state, to look at
(PARLEY_SHOTS=1): no test compares them, and each costs Chromium a render and a
PNG (70 of them took about 10 s of the suite's time)."""

CHEAP_SERVER_ENV = {"PARLEY_PASSWORD_HASH_MEMORY_KIB": "32"}
"""The same for a server started as a process (``parley serve`` or ``parley
engine``): its setting for the cost of new hashes at its least. A demo server
hashes three passwords as it starts, each about a tenth of a second of CPU at
the default; its logins check against those cheap hashes."""


DEBUG_EVERYWHERE = os.environ.get("PARLEY_ASYNCIO_DEBUG", "") not in ("", "0")
"""Whether every async test runs its loop in debug mode (PARLEY_ASYNCIO_DEBUG=1).
By default only the engine's own tests do (tests/engine: the runtime and the
store, where the writer thread hands back to the loop, so a call from the wrong
thread fails there): in debug mode uvloop records a traceback for every
callback it schedules, which made the other tests cost about 60% more CPU
(tests/integration on one worker: 45 CPU-seconds in debug mode, 28 without)."""


def _runner(debug: bool) -> asyncio.Runner:
    runner = asyncio.Runner(loop_factory=uvloop.new_event_loop, debug=debug)
    runner.get_loop().slow_callback_duration = 1.0
    return runner


class PageLoop:
    """One loop for a worker's page tests (those that use ``chromium_cdp``), so
    that they share one Playwright driver (``PageLoop.driver``): a driver
    belongs to the loop that started it, and starting one (a Node.js process)
    costs about 0.4 s of CPU, which forty page tests paid each. Each test still
    runs alone on it: what a test leaves running when it ends is cancelled, as
    a fresh loop's close would, before the next begins."""

    runner: asyncio.Runner | None = None
    driver: Playwright | None = None

    @classmethod
    def run(cls, coro: Any) -> None:
        if cls.runner is None:
            cls.runner = _runner(DEBUG_EVERYWHERE)
        runner = cls.runner
        if cls.driver is None:
            cls.driver = runner.run(async_playwright().start())
            # Twice Playwright's 5 s for an expectation: a worker's first page
            # (Chromium's caches cold) on a loaded two-core machine can take
            # longer; a passing expectation returns as soon as it holds.
            expect.set_options(timeout=10_000)
        before = asyncio.all_tasks(runner.get_loop())  # the driver's own among them
        try:
            runner.run(coro)
        finally:
            left = asyncio.all_tasks(runner.get_loop()) - before
            for task in left:
                task.cancel()
            if left:
                runner.run(_gathered(left))

    @classmethod
    def close(cls) -> None:
        runner, driver, cls.runner, cls.driver = cls.runner, cls.driver, None, None
        if runner is None:
            return
        with runner:
            if driver is not None:
                runner.run(driver.stop())


async def _gathered(tasks: set[asyncio.Task[Any]]) -> None:
    await asyncio.gather(*tasks, return_exceptions=True)


ENGINE_TESTS = Path(__file__).parent / "engine"


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests on a fresh uvloop loop (page tests on their
    worker's :class:`PageLoop`), in debug mode where :data:`DEBUG_EVERYWHERE`
    says."""
    func: Callable[..., Any] = pyfuncitem.obj
    if not inspect.iscoroutinefunction(func):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    if "chromium_cdp" in names:
        PageLoop.run(func(**kwargs))
        return True
    debug = DEBUG_EVERYWHERE or pyfuncitem.path.is_relative_to(ENGINE_TESTS)
    with _runner(debug) as runner:
        runner.run(func(**kwargs))
    return True


def pytest_sessionfinish(session: pytest.Session) -> None:
    PageLoop.close()


PROJECT = Path(__file__).resolve().parent.parent
_PACKAGES = ("engine", "edge", "control", "parley", "loadtest", "tests", "examples", "scripts")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: a worker per core and one more. A test spends part of its
    time waiting (on a server it started, a browser, a subprocess), and a third
    worker on two cores fills those waits: 90-108 s against 100-107 s for the
    whole suite in alternating runs on this machine, for about a tenth more CPU."""
    return (os.cpu_count() or 1) + 1


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # once, before the workers start
        share_compiled_modules()


def share_compiled_modules() -> None:
    """Compile the project's modules once for every Python process of the run.

    Besides its workers the suite starts about 200 Python processes (servers,
    benchmarks, example bots, the CLI). Where writing bytecode is off
    (PYTHONDONTWRITEBYTECODE), each compiled the project from source as it
    started (about 0.15 s of CPU a server; the whole suite took a tenth longer).
    So the run compiles the project's own modules once, into their
    ``__pycache__`` as Python would have (ignored by git), and every process
    reads them from there; the installed packages come compiled already. A
    cache kept elsewhere (PYTHONPYCACHEPREFIX) is left alone: it holds the
    installed packages' compiled modules too, or none."""
    if not sys.flags.dont_write_bytecode or sys.pycache_prefix:
        return
    for name in _PACKAGES:
        if (PROJECT / name).is_dir():
            compileall.compile_dir(PROJECT / name, quiet=2)  # a broken module fails its tests


def _install_chromium() -> str | None:
    """Debian's chromium, installed on first use where we may (CI runs as root)."""
    import fcntl
    import os
    import shutil
    import subprocess

    found = shutil.which("chromium")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    with open("/tmp/parley-chromium-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not shutil.which("chromium"):
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
            subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env)
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _install_chromium()
    if path is None:
        pytest.skip("Chromium is missing and this user cannot install it: apt-get install chromium")
    return path


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


# Tests that start other programs (benchmarks, example bots, mypy, Chromium) or
# generate hundreds of examples take seconds each where most take milliseconds.
_HEAVY_FOLDERS = ("loadtest", "examples")
_HEAVY_FIXTURES = {"chromium_cdp", "chromium_path"}


def _weight(item: pytest.Item) -> int:
    """0 for the heaviest tests, 1 for those that start a server in a subprocess
    or crash one, 2 for the rest (an order, not a measure)."""
    path = item.path.relative_to(item.config.rootpath)
    names = set(getattr(item, "fixturenames", ()))
    if (
        path.parts[1:2]
        and path.parts[1] in _HEAVY_FOLDERS
        or names & _HEAVY_FIXTURES
        or path.name == "test_toolchain.py"
        or getattr(getattr(item, "obj", None), "is_hypothesis_test", False)
    ):
        return 0
    if path.parts[1:2] in (("integration",), ("delivery",)):
        return 1
    return 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The heaviest tests first, each module's tests still together and in order.
    The workers (``--dist worksteal`` in pyproject.toml) take the run from the
    front and the idle one takes half of the other's queue from its back, so the
    run ends on short tests and both workers finish together, not one waiting
    on a benchmark begun last."""
    items.sort(key=_weight)
