"""The console's committed protobuf schema (edge/static/console/schema.js) is
what scripts/gen_console_schema.py writes from the proto descriptors now."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_console_schema_is_fresh() -> None:
    spec = importlib.util.spec_from_file_location(
        "gen_console_schema", ROOT / "scripts" / "gen_console_schema.py"
    )
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    committed = (ROOT / "edge" / "static" / "console" / "schema.js").read_text(encoding="utf-8")
    assert committed == gen.render(), "stale: run .venv/bin/python scripts/gen_console_schema.py"
    assert "parley.v1.OperatorEvent" in committed and "parley.v1.VisitorInfo" in committed
