"""Every refusal code the server can answer is a known reason: documented in
the README's gRPC section, which is what a client matches ErrorInfo.reason
against. A new code without its line there fails here."""

from __future__ import annotations

import functools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A refusal built with its code: SomeRefusal("code", ...), or a refusal class
# passing its code up (super().__init__("code", ...)).
REFUSAL = re.compile(
    r"\b(?:InvalidArgument|NotFound|AlreadyExists|Unauthenticated|PermissionDenied|"
    r"FailedPrecondition|Unavailable|Refused|super\(\)\.__init__)\(\s*\"([a-z_]+)\"",
    re.S,
)


def raised_codes() -> set[str]:
    found: set[str] = set()
    for folder in ("engine", "control", "edge"):
        for path in (ROOT / folder).rglob("*.py"):
            found.update(REFUSAL.findall(path.read_text()))
    return found


@functools.cache
def known_reasons() -> frozenset[str]:
    """The codes the README's gRPC section documents, as ErrorInfo reasons."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## gRPC API", 1)[1].split("\n## ", 1)[0]
    return frozenset(code.upper() for code in re.findall(r"`([a-z][a-z_]+)`", section))


def test_every_code_raised_is_documented() -> None:
    codes = raised_codes()
    assert len(codes) > 40  # the pattern still finds them
    missing = sorted(c for c in codes if c.upper() not in known_reasons())
    assert not missing, f"document these refusal codes in README's gRPC API: {missing}"


def test_the_finder_sees_a_refusal() -> None:
    sample = 'raise NotFound(\n    "unknown_thing", "no such thing")'
    assert REFUSAL.findall(sample) == ["unknown_thing"]
