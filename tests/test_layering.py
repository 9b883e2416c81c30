"""DESIGN.md's import rules, checked by parsing every module's imports."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("metabase", "pipelines", "cli")


def _modules():
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            yield path.relative_to(REPO).with_suffix("").as_posix().replace("/", "."), path


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute name ``from .x import y`` refers to, seen from ``module`` at ``path``."""
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _type_checking_only(tree: ast.AST) -> set[int]:
    """Ids of import nodes under ``if TYPE_CHECKING:``: they never run, so they tie nothing."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skipped


def _imports(path: Path, module: str | None = None, runtime_only: bool = False) -> set[str]:
    """Every name a module imports, at module level or inside functions, relative ones resolved."""
    module = module or path.relative_to(REPO).with_suffix("").as_posix().replace("/", ".")
    tree = ast.parse(path.read_text(), filename=str(path))
    skipped = _type_checking_only(tree) if runtime_only else set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, path, node)
            if not runtime_only:  # for the graph, "from pkg import sub" ties to pkg.sub alone
                found.add(source)
            found.update(f"{source}.{alias.name}" for alias in node.names)
    return found


def _violations(rule) -> list[str]:
    bad = []
    for module, path in _modules():
        for imported in _imports(path, module):
            reason = rule(module, imported)
            if reason:
                bad.append(f"{module} imports {imported}: {reason}")
    return bad


def _is(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_only_the_store_imports_duckdb():
    assert (
        _violations(
            lambda m, i: (
                _is(i, "duckdb")
                and not _is(m, "metabase.store")
                and "only metabase.store may import duckdb"
            )
        )
        == []
    )


def test_only_the_gateway_talks_to_openml():
    def rule(module, imported):
        talks = _is(imported, "openml", "requests", "urllib3", "urllib.request", "http.client")
        allowed = _is(module, "metabase.openml", "metabase.testing", "metabase.publish")
        return talks and not allowed and "only metabase.openml talks to OpenML"

    assert _violations(rule) == []


def test_algorithms_are_pure():
    pure = (
        "metabase.metafeatures",
        "metabase.surrogate",
        "metabase.recommend",
        "metabase.evaluate",
        "metabase.runner",
        "metabase.records",
    )
    forbidden = (
        "duckdb",
        "metabase.store",
        "metabase.openml",
        "metabase.workspace",
        "requests",
        "urllib3",
        "openml",
    )
    assert (
        _violations(
            lambda m, i: (
                _is(m, *pure)
                and _is(i, *forbidden)
                and "strategies, surrogates and meta-features never see persistence or the network"
            )
        )
        == []
    )


def test_pipelines_depend_only_on_ml_libraries():
    assert (
        _violations(
            lambda m, i: (
                _is(m, "pipelines")
                and _is(i, "metabase")
                and not _is(i, "metabase.errors")
                and "pipelines may use metabase.errors only"
            )
        )
        == []
    )


def test_the_cli_reaches_the_store_only_through_the_workspace():
    behind = (
        "metabase.store",
        "metabase.services",
        "metabase.imports.api",
        "metabase.sync.engine",
        "metabase.exports",
    )
    parsing = {"metabase.services.evaluate", "metabase.services.evaluate.parse_ks"}  # --k text
    assert (
        _violations(
            lambda m, i: (
                _is(m, "cli")
                and _is(i, *behind)
                and i not in parsing
                and "a command calls one Workspace method"
            )
        )
        == []
    )


def test_nothing_imports_the_cli():
    assert (
        _violations(lambda m, i: _is(i, "cli") and not _is(m, "cli") and "nothing imports cli")
        == []
    )


@pytest.mark.parametrize("heavy", ["torch", "lightgbm", "openml", "ray", "duckdb"])
def test_importing_metabase_is_cheap(heavy):
    import subprocess
    import sys

    code = f"import metabase, sys; print({heavy!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_relative_imports_are_resolved():
    node = ast.parse("from ..store import open_reader").body[0]
    assert (
        _absolute("metabase.services.x", REPO / "metabase/services/x.py", node) == "metabase.store"
    )
    node = ast.parse("from . import writer").body[0]
    assert (
        _absolute("metabase.store", REPO / "metabase/store/__init__.py", node) == "metabase.store"
    )


def _graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports when run (module level and inside functions)."""
    modules = dict(_modules())
    names = {m.removesuffix(".__init__") for m in modules}
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        name = module.removesuffix(".__init__")
        targets = set()
        for imported in _imports(path, module, runtime_only=True):
            # "from pkg import name" names pkg.name when that is a module, else pkg itself.
            while imported and imported not in names:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    assert _cycles(_graph()) == []


# A statement DuckDB would run: the shapes of a query, a write, DDL or a store command.
_SQL = re.compile(
    r"""^\s*(
    select\b[\s\S]*\bfrom\b | with\b[\s\S]*\bas\s*\([\s\S]*select\b |
    insert\s+(or\s+\w+\s+)?into\b | delete\s+from\b | update\s+\w+[\s\S]*\bset\b |
    create\s+(or\s+replace\s+)?(temp\w*\s+)?(table|view|index|sequence|schema|macro)\b |
    drop\s+(table|view|index|sequence|schema|macro)\b | alter\s+table\b |
    copy\s+[\s\S]*\b(to|from)\b | attach\b | pragma\b | checkpoint\b
)""",
    re.I | re.X,
)
# Modules that read SQL written by others (MySQL dumps), never SQL for the store.
_READS_FOREIGN_SQL = {"metabase.imports._sqldump"}


def _string_literals(path: Path):
    """(line, text) of each string literal that is not a docstring; f-strings with {} holes."""
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    inner = {
        id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            yield (
                node.lineno,
                "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values),
            )
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and id(node) not in inner
        ):
            yield node.lineno, node.value


def test_the_sql_finder_knows_sql_from_prose():
    assert _SQL.match("SELECT count(*) FROM runs")
    assert _SQL.match("\n  with t AS (select 1) select * from t")
    assert _SQL.match("insert or replace into runs VALUES (1)")
    assert not _SQL.match("selected from the catalogue, then updated to set the defaults")
    assert not _SQL.match("no runs for pipeline X: run `metabase sync --flows ...`")


def test_no_sql_text_outside_the_store():
    found = [
        f"{module}:{line}: {text.strip()[:60]!r}"
        for module, path in _modules()
        if not _is(module, "metabase.store") and module not in _READS_FOREIGN_SQL
        for line, text in _string_literals(path)
        if _SQL.match(text)
    ]
    assert found == []


def test_the_bot_reaches_the_store_and_openml_only_through_the_workspace():
    forbidden = ("metabase.store", "metabase.openml", "duckdb", "openml", "metabase.services")
    assert (
        _violations(
            lambda m, i: (
                _is(m, "metabase.bot")
                and _is(i, *forbidden)
                and "the bot calls only the Workspace (and the runner's executors)"
            )
        )
        == []
    )
