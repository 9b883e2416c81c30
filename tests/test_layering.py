"""DESIGN.md's import rules, checked by parsing every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("metabase", "pipelines", "cli")


def _modules():
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            yield path.relative_to(REPO).with_suffix("").as_posix().replace("/", "."), path


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _violations(rule) -> list[str]:
    bad = []
    for module, path in _modules():
        for imported in _imports(path):
            reason = rule(module, imported)
            if reason:
                bad.append(f"{module} imports {imported}: {reason}")
    return bad


def _is(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_only_the_store_imports_duckdb():
    assert _violations(lambda m, i: _is(i, "duckdb") and not _is(m, "metabase.store")
                       and "only metabase.store may import duckdb") == []


def test_only_the_gateway_talks_to_openml():
    def rule(module, imported):
        talks = _is(imported, "openml", "requests", "urllib3", "urllib.request", "http.client")
        allowed = _is(module, "metabase.openml", "metabase.testing", "metabase.publish")
        return talks and not allowed and "only metabase.openml talks to OpenML"
    assert _violations(rule) == []


def test_algorithms_are_pure():
    pure = ("metabase.metafeatures", "metabase.surrogate", "metabase.recommend", "metabase.evaluate",
            "metabase.runner", "metabase.records")
    forbidden = ("duckdb", "metabase.store", "metabase.openml", "metabase.workspace", "requests", "urllib3", "openml")
    assert _violations(lambda m, i: _is(m, *pure) and _is(i, *forbidden)
                       and "strategies, surrogates and meta-features never see persistence or the network") == []


def test_pipelines_depend_only_on_ml_libraries():
    assert _violations(lambda m, i: _is(m, "pipelines") and _is(i, "metabase") and not _is(i, "metabase.errors")
                       and "pipelines may use metabase.errors only") == []


def test_nothing_imports_the_cli():
    assert _violations(lambda m, i: _is(i, "cli") and not _is(m, "cli") and "nothing imports cli") == []


@pytest.mark.parametrize("heavy", ["torch", "lightgbm", "openml", "ray", "duckdb"])
def test_importing_metabase_is_cheap(heavy):
    import subprocess
    import sys

    code = f"import metabase, sys; print({heavy!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
