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

import fcntl
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools" / "buf"
BUF = TOOLS / "node_modules" / ".bin" / "buf"
RELEASED = ROOT / "api" / "parley-v1.binpb"
INSTALL_LOCK = Path(tempfile.gettempdir()) / "parley-buf-install.lock"


class BufUnavailable(RuntimeError):
    """buf is not installed and npm could not install it."""


def pinned_version() -> str:
    """The exact @bufbuild/buf version tools/buf/package.json pins."""
    manifest = json.loads((TOOLS / "package.json").read_text())
    return str(manifest["devDependencies"]["@bufbuild/buf"])


def installed_version() -> str | None:
    """The @bufbuild/buf version in tools/buf/node_modules, if any."""
    manifest = TOOLS / "node_modules" / "@bufbuild" / "buf" / "package.json"
    if not BUF.exists() or not manifest.exists():
        return None
    return str(json.loads(manifest.read_text())["version"])


def ensure_buf() -> Path:
    """The buf binary at the pinned version, installed with npm ci when missing
    or stale. Parallel callers (pytest-xdist workers) take a file lock, so one
    installs and the others find it done."""
    want = pinned_version()
    if installed_version() == want:
        return BUF
    npm = shutil.which("npm")
    if npm is None:
        raise BufUnavailable(
            "buf is not installed and npm is missing: install Node.js (with npm), "
            "then run npm ci --prefix tools/buf"
        )
    with INSTALL_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed_version() != want:
            done = subprocess.run(
                [npm, "ci", "--prefix", str(TOOLS), "--no-audit", "--no-fund"],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0 or installed_version() != want:
                raise BufUnavailable(
                    f"npm ci --prefix tools/buf could not install @bufbuild/buf {want} "
                    f"(exit {done.returncode}; is the npm registry reachable?):\n"
                    f"{done.stdout}{done.stderr}"
                )
    return BUF


def buf(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run buf (installing it first if need be); the caller reads the result."""
    return subprocess.run(
        [str(ensure_buf()), *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def build_image(out: Path) -> None:
    """Build the image of proto/ (as buf.yaml lays out the module) into out."""
    done = buf("build", "--exclude-source-info", "-o", str(out))
    if done.returncode != 0:
        raise SystemExit(f"buf build failed:\n{done.stdout}{done.stderr}")


def main() -> int:
    try:
        ensure_buf()
    except BufUnavailable as e:
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
