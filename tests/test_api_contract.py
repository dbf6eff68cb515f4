"""The gRPC contract (proto/) passes buf lint and keeps every promise of the
released one (api/parley-v1.binpb): parley.v1 only grows. buf is pinned in
tools/buf/package.json and installed with npm ci on the first run; rules in
buf.yaml. A release rewrites the image: python scripts/release_api.py"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _release_api() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "release_api", ROOT / "scripts" / "release_api.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


release_api = _release_api()


@pytest.fixture(scope="module", autouse=True)
def buf_installed() -> None:
    """No silent skip: CI reaches the npm registry, so buf missing is a failure."""
    try:
        release_api.BUF.ensure()
    except release_api.ToolUnavailable as e:
        pytest.fail(str(e), pytrace=False)


def test_buf_is_the_pinned_version() -> None:
    done = release_api.buf("--version")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == release_api.BUF.pinned_version()


def test_lint() -> None:
    done = release_api.buf("lint")
    assert done.returncode == 0, f"buf lint (rules in buf.yaml):\n{done.stdout}{done.stderr}"


def test_no_breaking_change_since_the_release() -> None:
    assert release_api.RELEASED.exists(), "no released contract: python scripts/release_api.py"
    done = release_api.buf("breaking", "--against", str(release_api.RELEASED))
    assert done.returncode == 0, (
        "proto/ breaks the released contract api/parley-v1.binpb (parley.v1 only grows; "
        f"a breaking change is a new package, parley.v2):\n{done.stdout}{done.stderr}"
    )


def _copy_module(tmp_path: Path) -> Path:
    """proto/ and buf.yaml in a scratch workspace, to be broken on purpose."""
    shutil.copytree(ROOT / "proto", tmp_path / "proto")
    shutil.copy(ROOT / "buf.yaml", tmp_path / "buf.yaml")
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} not found once in {path.name}"
    path.write_text(text.replace(old, new))


def _breaks(workspace: Path) -> set[str]:
    """The rules buf breaking says the workspace violates (it must say some)."""
    done = release_api.buf(
        "breaking", "--against", str(release_api.RELEASED), "--error-format=json", cwd=workspace
    )
    assert done.returncode != 0, "buf breaking accepted a broken contract"
    found = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert found, done.stdout + done.stderr
    return {f"{item['type']}: {item['message']}" for item in found}


def test_check_reports_a_removed_field(tmp_path: Path) -> None:
    workspace = _copy_module(tmp_path)
    _edit(workspace / "proto/parley/v1/common.proto", "  string author_name = 5;\n", "")
    assert _breaks(workspace) == {
        'FIELD_NO_DELETE: Previously present field "5" with name "author_name" on message '
        '"ChatMessage" was deleted.'
    }


def test_check_reports_a_renumbered_field(tmp_path: Path) -> None:
    workspace = _copy_module(tmp_path)
    _edit(
        workspace / "proto/parley/v1/visitor.proto",
        "string client_msg_id = 1;",
        "string client_msg_id = 15;",
    )
    # Number 1 is gone (15 is a new field that happens to have the same name).
    assert _breaks(workspace) == {
        'FIELD_NO_DELETE: Previously present field "1" with name "client_msg_id" on message '
        '"VisitorSend" was deleted.'
    }


def test_buf_missing_without_npm_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where buf cannot be installed the check fails and says why; it never skips."""
    tool = type(release_api.BUF)
    monkeypatch.setattr(tool, "installed_version", lambda self: None)
    monkeypatch.setattr(sys.modules[tool.__module__].shutil, "which", lambda name: None)
    with pytest.raises(release_api.ToolUnavailable, match="npm is missing"):
        release_api.BUF.ensure()
