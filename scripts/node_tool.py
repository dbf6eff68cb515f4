"""A command-line tool from npm at a pinned version, for the project's scripts.

Each tool has a folder under ``tools/`` whose package.json pins it exactly
(and whose lock file pins what it brings); it is installed there with
``npm ci`` on first use, or again when the pin changed. Parallel callers
(pytest-xdist workers) take a file lock, so one installs and the others find
it done. Where it cannot be installed, :class:`ToolUnavailable` says why and
what to run: a check that needs the tool fails, it never skips.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

TOOLS = Path(__file__).resolve().parent.parent / "tools"


class ToolUnavailable(RuntimeError):
    """The tool is not installed and npm could not install it."""


@dataclass(frozen=True)
class NodeTool:
    folder: str  # under tools/
    package: str  # the npm package, as package.json names it
    binary: str  # its command, in node_modules/.bin

    @property
    def home(self) -> Path:
        return TOOLS / self.folder

    @property
    def path(self) -> Path:
        return self.home / "node_modules" / ".bin" / self.binary

    def pinned_version(self) -> str:
        """The exact version the folder's package.json pins."""
        manifest = json.loads((self.home / "package.json").read_text())
        return str(manifest["devDependencies"][self.package])

    def installed_version(self) -> str | None:
        manifest = self.home / "node_modules" / self.package / "package.json"
        if not self.path.exists() or not manifest.exists():
            return None
        return str(json.loads(manifest.read_text())["version"])

    def ensure(self) -> Path:
        """The tool's command at the pinned version, installed when missing or stale."""
        want = self.pinned_version()
        if self.installed_version() == want:
            return self.path
        where = f"tools/{self.folder}"
        npm = shutil.which("npm")
        if npm is None:
            raise ToolUnavailable(
                f"{self.binary} is not installed and npm is missing: install Node.js "
                f"(with npm), then run npm ci --prefix {where}"
            )
        lock_path = Path(tempfile.gettempdir()) / f"parley-{self.folder}-install.lock"
        with lock_path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.installed_version() != want:
                done = subprocess.run(
                    [npm, "ci", "--prefix", str(self.home), "--no-audit", "--no-fund"],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if done.returncode != 0 or self.installed_version() != want:
                    raise ToolUnavailable(
                        f"npm ci --prefix {where} could not install {self.package} {want} "
                        f"(exit {done.returncode}; is the npm registry reachable?):\n"
                        f"{done.stdout}{done.stderr}"
                    )
        return self.path
