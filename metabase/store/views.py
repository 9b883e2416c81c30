"""Wide views for analysts, whose columns depend on the data.

- ``dataset_qualities_wide``: one row per dataset, one column per quality.
- ``task_qualities_wide``: one row per task, one column per quality. A task's qualities are its
  dataset's qualities (through ``tasks.dataset_id``) plus those that sources publish per task
  (``task_qualities``).

When a quality comes from several sources the views prefer OpenML's own value, then imported ones,
then values computed here (and for tasks, the dataset's value over a task-keyed one).
"""

from __future__ import annotations

SOURCE_RANK = "CASE source WHEN 'openml' THEN 0 WHEN 'computed' THEN 2 ELSE 1 END"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _pivot(key: str, long_sql: str, qualities: list[str]) -> str:
    if not qualities:
        return f"SELECT {key} FROM ({long_sql}) WHERE false"
    cols = ",\n    ".join(
        f"first(value) FILTER (WHERE quality = {_literal(q)}) AS {_ident(q)}" for q in qualities
    )
    return (
        f"SELECT {key},\n    {cols}\nFROM ({long_sql}\n"
        f"      QUALIFY row_number() OVER (PARTITION BY {key}, quality ORDER BY rank, source) = 1)\n"
        f"GROUP BY {key}"
    )


def wide_view_sql(con) -> list[str]:
    dataset_q = [r[0] for r in con.execute(
        "SELECT DISTINCT quality FROM dataset_qualities ORDER BY quality").fetchall()]
    task_q = [r[0] for r in con.execute(
        "SELECT DISTINCT quality FROM (SELECT quality FROM dataset_qualities "
        "UNION SELECT quality FROM task_qualities) ORDER BY quality").fetchall()]
    dataset_long = f"SELECT dataset_id, quality, value, source, {SOURCE_RANK} AS rank FROM dataset_qualities"
    task_long = (
        f"SELECT t.task_id, q.quality, q.value, q.source, {SOURCE_RANK.replace('source', 'q.source')} AS rank "
        "FROM tasks t JOIN dataset_qualities q ON q.dataset_id = t.dataset_id "
        f"UNION ALL SELECT task_id, quality, value, source, 10 + {SOURCE_RANK} AS rank FROM task_qualities"
    )
    return [
        f"CREATE OR REPLACE VIEW dataset_qualities_wide AS {_pivot('dataset_id', dataset_long, dataset_q)}",
        f"CREATE OR REPLACE VIEW task_qualities_wide AS {_pivot('task_id', task_long, task_q)}",
    ]
