"""Regenerate the protobuf and gRPC modules in parley/v1 from proto/, with their
typed stubs (.pyi, from mypy-protobuf) for messages and services.

Generated code is committed so that installing Parley needs no code generator;
tests/test_proto_fresh.py regenerates into a temporary folder and fails when the
committed files are stale. Run: python scripts/genproto.py
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"


def generate(out_dir: Path) -> list[Path]:
    """Run grpc_tools.protoc over every .proto file; return the files written."""
    from grpc_tools import protoc  # imported here: a test-only dependency

    include = Path(protoc.__file__).parent / "_proto"
    plugins = {name: _plugin(name) for name in ("protoc-gen-mypy", "protoc-gen-mypy_grpc")}
    sources = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        # Typed stubs (mypy-protobuf) for the messages and the gRPC services:
        # mypy checks the servicers and clients against them.
        *(f"--plugin={name}={path}" for name, path in plugins.items()),
        f"--mypy_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *sources,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    packages = {out_dir / "parley"} | {p.parent for p in (out_dir / "parley").rglob("*_pb2.py")}
    packages |= {p.parent for p in packages if p.parent != out_dir}
    for pkg in sorted(packages):
        init = pkg / "__init__.py"
        if not init.exists():
            init.write_text('"""Generated from proto/ by scripts/genproto.py; do not edit."""\n')
    return sorted(p for p in (out_dir / "parley").rglob("*") if p.is_file())


def _plugin(name: str) -> str:
    """The protoc plugin installed beside this Python (mypy-protobuf's scripts)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is missing: pip install -e '.[test]' (mypy-protobuf)")
    return found


if __name__ == "__main__":
    written = generate(ROOT)
    sys.stdout.write("".join(f"{p.relative_to(ROOT)}\n" for p in written))
