"""The committed generated code matches proto/ (run scripts/genproto.py if not)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("genproto", ROOT / "scripts" / "genproto.py")
    assert spec is not None and spec.loader is not None
    genproto = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(genproto)
    written = genproto.generate(tmp_path)
    assert written
    for path in written:
        rel = path.relative_to(tmp_path)
        committed = ROOT / rel
        assert committed.exists(), f"{rel} is not committed: run python scripts/genproto.py"
        assert committed.read_bytes() == path.read_bytes(), (
            f"{rel} is stale: run python scripts/genproto.py"
        )
