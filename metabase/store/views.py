"""Wide views for analysts, whose columns depend on the data.

- ``dataset_qualities_wide``: one row per dataset, one column per quality.
- ``task_qualities_wide``: one row per task, one column per quality; ``task_qualities_long`` holds
  the same cells in long form (task_id, quality, value, source). A task's qualities are its
  dataset's qualities (through ``tasks.dataset_id``) plus those that sources publish per task
  (``task_qualities``), plus those that exports of OpenML publish for another task on the same
  dataset: OpenML computes qualities per dataset, so openml-pimp's values for task 9983 are
  dataset 1471's and hold for task 14951 too.

When a quality comes from several sources the views prefer OpenML's own value, then imported ones,
then values computed here (and for tasks, the dataset's value over the task's own task-keyed one,
and that over another task's on the same dataset).
"""

from __future__ import annotations

# OpenML's own values first, then exports of OpenML's values, then other imports, then values
# computed here; auto-sklearn's meta-features last (computed on its training split, so e.g. its
# NumberOfInstances is two thirds of OpenML's).
OPENML_EXPORTS = (
    "qualities-csv",
    "openml-sql",
    "openml-pimp",
    "openml-study-arff",
    "openml-task-list",
    "tabrepo",
    "lcdb",
)


def source_rank(column: str = "source") -> str:
    """SQL ranking a quality's source: lower is preferred."""
    exports = ", ".join(_literal(s) for s in OPENML_EXPORTS)
    return (
        f"CASE WHEN {column} = 'openml' THEN 0 WHEN {column} IN ({exports}) THEN 1 "
        f"WHEN {column} = 'computed' THEN 3 WHEN {column} = 'autosklearn' THEN 4 ELSE 2 END"
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _pivot(key: str, long_sql: str, qualities: list[str]) -> str:
    if not qualities:
        return f"SELECT {key} FROM ({long_sql}) WHERE false"
    best = (
        f"SELECT {key}, quality, value FROM ({long_sql}) "
        f"QUALIFY row_number() OVER (PARTITION BY {key}, quality ORDER BY rank, source) = 1"
    )
    in_list = ", ".join(_literal(q) for q in qualities)
    return f"PIVOT ({best}) ON quality IN ({in_list}) USING first(value) GROUP BY {key}"


def _sibling_sql() -> str:
    """Task-keyed values that an OpenML export publishes for another task on the same dataset (the
    lowest such task id, so the choice is deterministic); auto-sklearn's are left out, being
    computed on one task's training split.
    """
    exports = ", ".join(_literal(s) for s in OPENML_EXPORTS)
    return (
        f"SELECT task_id, quality, value, source, 20 + {source_rank()} AS rank FROM ("
        "SELECT t.task_id, q.quality, q.value, q.source FROM tasks t "
        "JOIN tasks s ON s.dataset_id = t.dataset_id AND s.task_id <> t.task_id "
        "JOIN task_qualities q ON q.task_id = s.task_id "
        f"WHERE q.source IN ({exports}) "
        "QUALIFY row_number() OVER "
        "(PARTITION BY t.task_id, q.quality, q.source ORDER BY s.task_id) = 1)"
    )


def wide_view_sql(con) -> list[str]:
    dataset_q = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT quality FROM dataset_qualities ORDER BY quality"
        ).fetchall()
    ]
    task_q = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT quality FROM (SELECT quality FROM dataset_qualities "
            "UNION SELECT quality FROM task_qualities) ORDER BY quality"
        ).fetchall()
    ]
    dataset_long = (
        f"SELECT dataset_id, quality, value, source, {source_rank()} AS rank "
        "FROM dataset_qualities"
    )
    task_long = (
        f"SELECT t.task_id, q.quality, q.value, q.source, {source_rank('q.source')} AS rank "
        "FROM tasks t JOIN dataset_qualities q ON q.dataset_id = t.dataset_id "
        f"UNION ALL SELECT task_id, quality, value, source, 10 + {source_rank()} AS rank "
        "FROM task_qualities "
        f"UNION ALL {_sibling_sql()}"
    )
    best_task = (
        f"SELECT task_id, quality, value, source FROM ({task_long}) "
        "QUALIFY row_number() OVER (PARTITION BY task_id, quality ORDER BY rank, source) = 1"
    )
    return [
        "CREATE OR REPLACE VIEW dataset_qualities_wide AS "
        f"{_pivot('dataset_id', dataset_long, dataset_q)}",
        # one value per task and quality, chosen as the wide view chooses (the long form is what
        # similarity queries want; pivoting 150 columns and back costs seconds)
        f"CREATE OR REPLACE VIEW task_qualities_long AS {best_task}",
        f"CREATE OR REPLACE VIEW task_qualities_wide AS {_pivot('task_id', task_long, task_q)}",
    ]
