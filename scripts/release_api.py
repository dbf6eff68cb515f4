"""Cut a release of the gRPC contract: rewrite api/parley-v1.binpb, the image of
proto/ that every later change is checked against (buf breaking, rules in
buf.yaml; tests/test_api_contract.py runs the check).

parley.v1 only grows, so a release first checks the current proto/ against the
last released image and refuses a breaking change (that belongs in parley.v2).
The image leaves out comments (source info): editing documentation never
changes it. Run: python scripts/release_api.py

buf itself is pinned in tools/buf/package.json and installed from its lock file
(npm ci) into tools/buf/node_modules on first use.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # as a script or loaded by path
from node_tool import NodeTool, ToolUnavailable  # noqa: E402 - after the path

ROOT = Path(__file__).resolve().parent.parent
BUF = NodeTool("buf", "@bufbuild/buf", "buf")
RELEASED = ROOT / "api" / "parley-v1.binpb"


def buf(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run buf (installing it first if need be); the caller reads the result."""
    return subprocess.run(
        [str(BUF.ensure()), *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def build_image(out: Path) -> None:
    """Build the image of proto/ (as buf.yaml lays out the module) into out."""
    done = buf("build", "--exclude-source-info", "-o", str(out))
    if done.returncode != 0:
        raise SystemExit(f"buf build failed:\n{done.stdout}{done.stderr}")


def main() -> int:
    try:
        BUF.ensure()
    except ToolUnavailable as e:
        sys.stderr.write(f"{e}\n")
        return 1
    for args in (("lint",), ("breaking", "--against", str(RELEASED))):
        if args[0] == "breaking" and not RELEASED.exists():
            continue
        done = buf(*args)
        if done.returncode != 0:
            sys.stderr.write(f"buf {args[0]} found problems; nothing released:\n")
            sys.stderr.write(done.stdout + done.stderr)
            return 1
    RELEASED.parent.mkdir(parents=True, exist_ok=True)
    build_image(RELEASED)
    sys.stdout.write(f"{RELEASED.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
