"""The layer rule of ARCHITECTURE.md, enforced: no module imports a layer above its own, and nothing
below the UI glue imports Streamlit. The runtime package never imports the dev tools."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "parity"


def _layers_from_architecture() -> dict[str, int]:
    """The table in ARCHITECTURE.md: '| N | `name`, `name/` | ...' rows, read so the doc and the test agree."""
    layers: dict[str, int] = {}
    for line in (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\|\s*(\d+)\s*\|([^|]*)\|", line)
        if not match:
            continue
        for name in re.findall(r"`([a-z_]+)/?`", match.group(2)):
            layers[name] = int(match.group(1))
    return layers


LAYERS = _layers_from_architecture()
UI_LAYER = LAYERS.get("ui", 0)


def _top_module(path: Path) -> str:
    """`parity/measures/outcomes.py` -> 'measures'; `parity/db.py` -> 'db'."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the file, absolute, including lazy ones in functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, int]] = []
    package_parts = ["parity", *path.relative_to(PACKAGE).with_suffix("").parts[:-1]]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module == "parity":
                found.extend((f"parity.{alias.name}", node.lineno) for alias in node.names)
            else:
                found.append((module, node.lineno))
    return found


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_has_a_layer() -> None:
    missing = sorted({_top_module(p) for p in SOURCES} - set(LAYERS) - {"__init__"})
    assert not missing, f"modules with no layer in ARCHITECTURE.md: {missing}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_layer_above_it(path: Path) -> None:
    own = _top_module(path)
    if own == "__init__":
        return
    problems = []
    for module, line in _imports(path):
        if module == "streamlit" or module.startswith("streamlit."):
            if LAYERS[own] < UI_LAYER:
                problems.append(f"line {line}: imports {module} below the UI glue")
        elif module.startswith("tools") and module.split(".")[0] == "tools":
            problems.append(f"line {line}: the runtime package imports the dev tool {module}")
        elif module.startswith("parity."):
            target = module.split(".")[1]
            if target in LAYERS and LAYERS[target] > LAYERS[own]:
                problems.append(f"line {line}: {own} (layer {LAYERS[own]}) imports {target} (layer {LAYERS[target]})")
    assert not problems, f"{path.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_the_rule_can_fail() -> None:
    """The checker itself sees an upward import (a test that cannot fail proves nothing)."""
    assert LAYERS["stats"] < LAYERS["measures"] < LAYERS["ui"]
    assert LAYERS["db"] < LAYERS["stats"]


def test_pages_never_open_duckdb() -> None:
    for page in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        text = page.read_text(encoding="utf-8")
        assert "duckdb" not in text, f"{page.name} talks to DuckDB directly"
