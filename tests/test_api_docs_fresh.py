"""The committed API reference, docs/api.md, matches the comments in proto/
(run python scripts/gen_api_docs.py if not)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _gen_api_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_api_docs", ROOT / "scripts" / "gen_api_docs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_api_reference_is_fresh(tmp_path: Path) -> None:
    fresh = tmp_path / "api.md"
    fresh.write_text(_gen_api_docs().render())
    committed = ROOT / "docs" / "api.md"
    assert committed.exists(), "docs/api.md is not committed: run python scripts/gen_api_docs.py"
    assert committed.read_text() == fresh.read_text(), (
        "docs/api.md is stale (proto/ comments changed): run python scripts/gen_api_docs.py"
    )


def test_every_service_method_and_message_is_documented() -> None:
    """The page names each service, method and message of the contract."""
    gen = _gen_api_docs()
    text = (ROOT / "docs" / "api.md").read_text()
    for f in gen.compile_descriptors().file:
        if f.package != gen.PUBLIC_PACKAGE:
            continue  # internal services (the edge link) are not the public API
        for service in f.service:
            assert f'id="service-{service.name}"' in text, service.name
            for method in service.method:
                assert f'id="method-{service.name}-{method.name}"' in text, method.name
        for message in f.message_type:
            assert f'id="type-{message.name}"' in text, message.name
