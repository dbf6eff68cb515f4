"""Build the browser code as served: its readable, commented sources (the ones
to edit) bundled and minified by esbuild into files that are committed, so
serving needs no Node:

* edge/static/widget.js, the embed every page loads (the launcher and the socket
  of a closed widget), into widget.min.js;
* edge/static/widget-panel.js, the panel, an ES module the embed imports only
  when it is needed, into widget-panel.min.js;
* edge/static/console/app.js and the 31 modules it imports, the operators'
  console, into console.min.js: one file rather than 32, which a browser
  fetched over its six connections a level of imports at a time (a load took
  about 1.1 s at 100 ms of latency, against 0.35 s bundled).

tests/edge/test_widget_build.py rebuilds them into a temporary folder and fails
when a committed file is stale: after editing a source (or merging edits to
it, or regenerating the console's schema.js), run: python scripts/build_assets.py

esbuild is pinned in tools/esbuild/package.json and installed from its lock
file (npm ci) into tools/esbuild/node_modules on first use. It is used rather
than our own stripping of comments and indentation because it also renames
local variables and folds the code safely: the widget comes out about a third
smaller gzipped than the stripped source.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # as a script or loaded by path
from node_tool import NodeTool  # noqa: E402 - after the path

ROOT = Path(__file__).resolve().parent.parent
ESBUILD = NodeTool("esbuild", "esbuild", "esbuild")
STATIC = ROOT / "edge" / "static"
# Each source, what it is built into, its format and target: targets old
# enough that every browser the widget supports (it needs shadow DOM and
# dynamic import) runs them as they are. The embed is a classic script (it
# uses import(), so ES2020); the panel a module; the console's modules use
# ES2020 (optional chaining, ??) as written.
BUILDS = (
    ("widget.js", "widget.min.js", "iife", "es2020"),
    ("widget-panel.js", "widget-panel.min.js", "esm", "es2017"),
    ("console/app.js", "console.min.js", "esm", "es2020"),
)


def build(folder: Path = STATIC) -> list[Path]:
    """Minify the embed, the panel and the console into ``folder``; the files
    written."""
    esbuild, out = ESBUILD.ensure(), []
    for source, built, form, target in BUILDS:
        done = subprocess.run(
            [
                str(esbuild),
                str(STATIC / source),
                "--bundle",
                "--minify",
                f"--format={form}",
                f"--target={target}",
                "--charset=utf8",
                "--legal-comments=none",
                f"--outfile={folder / built}",
                "--log-level=warning",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"esbuild failed on {source}:\n{done.stdout}{done.stderr}")
        out.append(folder / built)
    return out


if __name__ == "__main__":
    for path in build():
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes)")
    sys.exit(0)
