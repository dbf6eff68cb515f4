"""The committed generated code matches proto/ (run scripts/genproto.py if not):
every generated module and typed stub (.pyi) is committed and current, and no
generated file is left whose .proto is gone."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ("*_pb2.py", "*_pb2.pyi", "*_pb2_grpc.py", "*_pb2_grpc.pyi")


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("genproto", ROOT / "scripts" / "genproto.py")
    assert spec is not None and spec.loader is not None
    genproto = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(genproto)
    written = genproto.generate(tmp_path)
    assert written
    assert any(p.name.endswith("_pb2.pyi") for p in written), "no message stubs generated"
    assert any(p.name.endswith("_pb2_grpc.pyi") for p in written), "no service stubs generated"
    for path in written:
        rel = path.relative_to(tmp_path)
        committed = ROOT / rel
        assert committed.exists(), f"{rel} is not committed: run python scripts/genproto.py"
        assert committed.read_bytes() == path.read_bytes(), (
            f"{rel} is stale: run python scripts/genproto.py"
        )
    expected = {path.relative_to(tmp_path) for path in written}
    orphans = sorted(
        str(path.relative_to(ROOT))
        for pattern in GENERATED
        for path in (ROOT / "parley").rglob(pattern)
        if path.relative_to(ROOT) not in expected
    )
    assert not orphans, f"generated from a .proto that is gone (delete them): {orphans}"
