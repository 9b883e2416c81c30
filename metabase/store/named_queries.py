"""Analyst SQL: the named queries that ship in ``metabase/store/queries/`` and the read-only guard.

A named query is one ``.sql`` file whose header comment gives its name, description and
parameters::

    -- name: best-configs
    -- description: The best configurations per task ...
    -- param: task_id int = NULL   Only this task (default: every task).
    -- param: k int = 1            How many configurations per task.

Parameters are DuckDB named placeholders (``$task_id``) bound as prepared-statement values, never
formatted into the text. A parameter without ``= default`` is required.

``check_read_only`` decides what ``metabase sql`` runs. The store is opened read-only, so DuckDB
refuses writes to it anyway; the guard also refuses statements that would write *other* files or
change the session (``COPY ... TO``, ``EXPORT DATABASE``, ``EXPLAIN ANALYZE COPY``), reach outside
the store (``ATTACH``, ``INSTALL``/``LOAD``, ``SET``/``USE``), or whose effect cannot be seen
before running (``PRAGMA``, ``CALL``, statement batches). Inside a ``SELECT`` only the table
functions of ``READ_ONLY_FUNCTIONS`` may appear (``checkpoint()``, ``enable_logging()`` or
``query('...')`` are refused), and those of ``FILE_FUNCTIONS`` only when the caller opened folders
for reading (``metabase sql --allow-files DIR``). The reader connection enforces the same from
below (:func:`metabase.store.connection.open_reader`): no file, URL or extension outside those
folders.
"""

from __future__ import annotations

import json
import math
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

import duckdb

from metabase.errors import InputError, MetabaseError, NotFoundError, ReadOnlyError

_TYPES = ("int", "float", "str", "bool")
_PARAM_LINE = re.compile(
    r"^--\s*param:\s*(?P<name>[A-Za-z_]\w*)\s+(?P<type>\w+)"
    r"(?:\s*=\s*(?P<default>'[^']*'|\S+))?\s*(?P<description>.*)$"
)
_HEADER_LINE = re.compile(r"^--\s*(?P<key>name|description):\s*(?P<value>.*)$")
_ENGINE_PREFIX = re.compile(r"^Invalid Input Error:\s*")
_EXPLAIN = re.compile(r"^\s*EXPLAIN\s+(?:ANALY[SZ]E\s+)?", re.IGNORECASE)


@dataclass(frozen=True)
class QueryParam:
    name: str
    type: str  # int, float, str, bool
    default: Any  # the typed default; ``REQUIRED`` when the caller must give one
    description: str

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    params: tuple[QueryParam, ...]
    sql: str

    def param(self, name: str) -> QueryParam:
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params) or "none"
        raise InputError(
            f"named query {self.name!r} has no parameter {name!r}; its parameters: {known}"
        )


# -- parameters ----------------------------------------------------------------------------------
def coerce(value: Any, type_: str, name: str = "value") -> Any:
    """Turn a CLI string (or a Python value) into the declared type; ``NULL`` means None."""
    if value is None or (isinstance(value, str) and value.strip().upper() == "NULL"):
        return None
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        if type_ == "int":
            return int(text)
        if type_ == "float":
            result = float(text)
            if math.isnan(result):
                raise ValueError
            return result
        if type_ == "bool":
            lowered = text.lower()
            if lowered in ("true", "1", "yes", "on"):
                return True
            if lowered in ("false", "0", "no", "off"):
                return False
            raise ValueError
    except ValueError:
        raise InputError(f"parameter {name}: {value!r} is not a valid {type_}") from None
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1]
    return text


def guess(value: str) -> Any:
    """Type an ad-hoc query's parameter from its text: int, then float, else the string itself."""
    for type_ in ("int", "float"):
        try:
            return coerce(value, type_)
        except InputError:
            pass
    return coerce(value, "str")


def _parse_param(match: re.Match, path: str) -> QueryParam:
    type_ = match["type"]
    if type_ not in _TYPES:
        raise MetabaseError(f"{path}: parameter {match['name']} has unknown type {type_!r}")
    raw = match["default"]
    default = REQUIRED if raw is None else coerce(raw, type_, match["name"])
    return QueryParam(match["name"], type_, default, match["description"].strip())


def parse_query(text: str, origin: str = "<query>") -> NamedQuery:
    """Read a named query's header comment; the whole file (comments included) is its SQL."""
    fields: dict[str, str] = {}
    params: list[QueryParam] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("--"):
            if stripped:
                break  # the header ends at the first line of SQL
            continue
        header = _HEADER_LINE.match(stripped)
        if header:
            fields[header["key"]] = header["value"].strip()
            continue
        param = _PARAM_LINE.match(stripped)
        if param:
            params.append(_parse_param(param, origin))
    if "name" not in fields:
        raise MetabaseError(f"{origin}: a named query needs a '-- name:' header line")
    return NamedQuery(fields["name"], fields.get("description", ""), tuple(params), text)


@lru_cache(maxsize=1)
def _load_all() -> dict[str, NamedQuery]:
    folder = resources.files("metabase.store") / "queries"
    found: dict[str, NamedQuery] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            query = parse_query(entry.read_text(), f"queries/{entry.name}")
            found[query.name] = query
    return found


def list_queries() -> list[NamedQuery]:
    """The named queries that ship with the package, by name."""
    return list(_load_all().values())


def get_query(name: str) -> NamedQuery:
    try:
        return _load_all()[name]
    except KeyError:
        known = ", ".join(sorted(_load_all()))
        raise NotFoundError(
            f"no named query {name!r}; see `metabase sql --list` ({known})"
        ) from None


def bind(query: NamedQuery, given: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values for every parameter of ``query``: given ones coerced, the rest defaulted."""
    for name in given:
        query.param(name)  # unknown names are an error, not silently ignored
    bound: dict[str, Any] = {}
    for p in query.params:
        if p.name in given:
            bound[p.name] = coerce(given[p.name], p.type, p.name)
        elif p.required:
            raise InputError(
                f"named query {query.name!r} needs --param {p.name}=<{p.type}> ({p.description})"
            )
        else:
            bound[p.name] = p.default
    return bound


# -- the read-only guard -------------------------------------------------------------------------
_REFUSALS = {
    "COPY": "COPY reads into or writes files; save results with `--format csv > file.csv` instead",
    "EXPORT": "EXPORT DATABASE writes files; use `metabase export` or open the store with DuckDB",
    "COPY_DATABASE": "COPY FROM DATABASE writes another database",
    "EXTENSION": "extensions are not managed here",
    "PREPARE": "bind values with --param NAME=VALUE instead of PREPARE/EXECUTE",
    "EXECUTE": "bind values with --param NAME=VALUE instead of PREPARE/EXECUTE",
    "TRANSACTION": (
        "each query runs on its own read-only connection; transactions have no use here"
    ),
    "ATTACH": "ATTACH opens other databases; open the store with the DuckDB CLI for that",
    "DETACH": "DETACH changes the session's databases",
    "LOAD": "INSTALL/LOAD of extensions is not allowed here",
    "SET": "SET/RESET/USE change the session; not allowed here",
    "VARIABLE_SET": "SET VARIABLE changes the session; not allowed here",
    "PRAGMA": "PRAGMA may change settings or write files; use DESCRIBE, SHOW TABLES or SUMMARIZE",
    "CALL": "CALL runs procedures that change the session or the store (the read-only table "
    "functions, such as duckdb_tables() or range(), work in a SELECT)",
    "MULTI": "this statement expands into several (e.g. PIVOT without an IN list); "
    "give the PIVOT values with `ON col IN (...)`",
}


# Table functions a read-only analyst needs: the catalogue, generators, JSON and list unnesting.
READ_ONLY_FUNCTIONS = frozenset(
    {
        "duckdb_columns",
        "duckdb_constraints",
        "duckdb_databases",
        "duckdb_dependencies",
        "duckdb_functions",
        "duckdb_indexes",
        "duckdb_keywords",
        "duckdb_schemas",
        "duckdb_sequences",
        "duckdb_settings",
        "duckdb_tables",
        "duckdb_types",
        "duckdb_views",
        "pragma_table_info",
        "pragma_show",
        "pragma_database_size",
        "pragma_storage_info",
        "pragma_version",
        "pragma_collations",
        "range",
        "generate_series",
        "unnest",
        "repeat",
        "repeat_row",
        "json_each",
        "json_tree",
        "histogram",
        "histogram_values",
        "pg_timezone_names",
        "icu_calendar_names",
    }
)
# Table functions that read files: only with ``--allow-files``, and then only in those folders.
FILE_FUNCTIONS = frozenset(
    {
        "read_csv",
        "read_csv_auto",
        "sniff_csv",
        "read_parquet",
        "parquet_scan",
        "parquet_metadata",
        "parquet_schema",
        "parquet_file_metadata",
        "parquet_kv_metadata",
        "read_json",
        "read_json_auto",
        "read_json_objects",
        "read_json_objects_auto",
        "read_ndjson",
        "read_ndjson_auto",
        "read_ndjson_objects",
        "read_text",
        "read_blob",
        "glob",
    }
)
_PARSER_CONFIG = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "enable_external_access": False,
}
_parser_lock = threading.Lock()


@lru_cache(maxsize=1)
def _parser() -> "duckdb.DuckDBPyConnection":
    """An in-memory connection that only parses (json_serialize_sql), shared under a lock."""
    return duckdb.connect(config=_PARSER_CONFIG)


def table_functions(sql: str) -> list[str]:
    """The table functions one SELECT statement calls, anywhere in it (subqueries, CTEs, lateral
    joins, the query of DESCRIBE or SUMMARIZE), lower-cased, in order of appearance.
    """
    with _parser_lock:
        tree = json.loads(_parser().execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
    if tree.get("error"):  # a SELECT DuckDB parses but cannot serialise: refuse what we cannot see
        raise ReadOnlyError(
            "`metabase sql` cannot check this statement: "
            f"{tree.get('error_message', 'unknown form')}"
        )
    found: list[str] = []
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "TABLE_FUNCTION":
                found.append(str(node["function"]["function_name"]).lower())
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return found


def _check_functions(sql: str, files: bool) -> None:
    for name in table_functions(sql):
        if name in READ_ONLY_FUNCTIONS or (files and name in FILE_FUNCTIONS):
            continue
        if name in FILE_FUNCTIONS:
            raise ReadOnlyError(
                f"{name}() reads files, and `metabase sql` reads only the store "
                "unless you give --allow-files DIR (files in DIR may be read)"
            )
        raise ReadOnlyError(
            f"`metabase sql` is read-only and refuses the table function {name}(): "
            "only the read-only ones may be called (README: what `metabase sql` "
            "may touch)"
        )


def _statements(sql: str) -> list:
    try:
        return duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise InputError(f"SQL does not parse: {_one_line(exc)}") from None


def check_read_only(sql: str, files: bool = False) -> None:
    """Raise ReadOnlyError unless ``sql`` is exactly one statement that only reads; it may call
    the table functions that read files only with ``files``.
    """
    statements = _statements(sql)
    if not statements:
        raise InputError("no SQL statement given")
    if len(statements) > 1:
        raise ReadOnlyError(f"`metabase sql` runs one statement at a time; got {len(statements)}")
    statement = statements[0]
    kind = statement.type.name
    if kind == "EXPLAIN":
        # EXPLAIN ANALYZE runs its statement: judge what it explains.
        inner = _EXPLAIN.sub("", statement.query, count=1)
        if inner == statement.query:
            raise ReadOnlyError(
                "`metabase sql` cannot tell what this EXPLAIN runs; "
                "write EXPLAIN [ANALYZE] SELECT ..."
            )
        check_read_only(inner, files)
        return
    if kind == "SELECT":
        _check_functions(statement.query, files)
        return
    reason = _REFUSALS.get(kind, "it would change the store")
    raise ReadOnlyError(
        f"`metabase sql` is read-only and refuses {kind} statements: {reason}. "
        "Change the store with `metabase import`/`sync`"
    )


def _one_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    # error('...') raised inside a named query is a message for the user, not an engine failure
    return _ENGINE_PREFIX.sub("", lines[0]) if lines else type(exc).__name__


def _permission_message(exc: Exception, files: bool) -> str:
    target = re.search(r'Cannot access file "(.*?)"', str(exc))
    what = f"cannot read {target.group(1)}" if target else _one_line(exc)
    if target and "://" in target.group(1):
        return f"{what}: `metabase sql` reads no URLs (download the file, then use --allow-files)"
    if files:
        return (
            f"{what}: only files inside the --allow-files folders may be read "
            "(links that lead out of them are refused)"
        )
    return (
        f"{what}: `metabase sql` reads only the store; --allow-files DIR lets it read files in DIR"
    )


def run(con, sql: str, params: Mapping[str, Any] | None = None, files: bool = False):
    """Check and run one read-only statement on ``con`` (a store Connection); a pandas DataFrame.

    ``params`` binds ``$name`` placeholders. Missing or unknown names are an InputError. ``files``:
    the connection was opened with folders to read (``open_reader(allow_files=...)``).
    """
    check_read_only(sql, files)
    wanted = set(_statements(sql)[0].named_parameters)
    given = dict(params or {})
    missing = sorted(wanted - set(given))
    if missing:
        raise InputError("the query needs " + ", ".join(f"--param {m}=..." for m in missing))
    extra = sorted(set(given) - wanted)
    if extra:
        raise InputError(f"the query has no parameter(s) {', '.join(extra)}")
    if any(isinstance(k, int) for k in given):
        raise InputError("use named $placeholders, not ? positions")
    try:
        return con.df(sql, given if wanted else None)
    except ReadOnlyError:
        raise
    except duckdb.PermissionException as exc:
        raise InputError(_permission_message(exc, files)) from None
    except duckdb.CatalogException as exc:
        raise InputError(
            f"{_one_line(exc)} (`metabase info` lists the tables; "
            "a wide view appears after the first import)"
        ) from None
    except duckdb.Error as exc:
        raise InputError(_one_line(exc)) from None


def run_named(con, name: str, params: Mapping[str, Any] | None = None):
    """Run the named query ``name`` with ``params`` (strings are coerced to the declared types)."""
    query = get_query(name)
    return run(con, query.sql, bind(query, params or {}))


__all__ = [
    "FILE_FUNCTIONS",
    "NamedQuery",
    "QueryParam",
    "READ_ONLY_FUNCTIONS",
    "REQUIRED",
    "bind",
    "check_read_only",
    "coerce",
    "get_query",
    "guess",
    "list_queries",
    "parse_query",
    "run",
    "run_named",
    "table_functions",
]
