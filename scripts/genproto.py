"""Regenerate the protobuf and gRPC modules in parley/v1 from proto/.

Generated code is committed so that installing Parley needs no code generator;
tests/test_proto_fresh.py regenerates into a temporary folder and fails when the
committed files are stale. Run: python scripts/genproto.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"


def generate(out_dir: Path) -> list[Path]:
    """Run grpc_tools.protoc over every .proto file; return the files written."""
    from grpc_tools import protoc  # imported here: a test-only dependency

    include = Path(protoc.__file__).parent / "_proto"
    sources = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *sources,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for pkg in (out_dir / "parley", out_dir / "parley" / "v1"):
        init = pkg / "__init__.py"
        if not init.exists():
            init.write_text('"""Generated from proto/ by scripts/genproto.py; do not edit."""\n')
    return sorted(p for p in (out_dir / "parley").rglob("*") if p.is_file())


if __name__ == "__main__":
    written = generate(ROOT)
    sys.stdout.write("".join(f"{p.relative_to(ROOT)}\n" for p in written))
