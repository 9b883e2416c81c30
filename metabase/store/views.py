"""Wide views for analysts, whose columns depend on the data.

``dataset_qualities_wide`` has one row per dataset and one column per quality. When a quality
comes from several sources the view prefers OpenML's own value, then imported ones, then values
computed here. ``task_qualities_wide`` is the same per task.
"""

from __future__ import annotations

SOURCE_PRIORITY = (
    "CASE source WHEN 'openml' THEN 0 WHEN 'computed' THEN 2 ELSE 1 END, source"
)


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def wide_view_sql(con) -> list[str]:
    qualities = [r[0] for r in con.execute(
        "SELECT DISTINCT quality FROM dataset_qualities ORDER BY quality").fetchall()]
    if qualities:
        cols = ",\n        ".join(
            f"first(value) FILTER (WHERE quality = {_sql_literal(q)}) AS \"{q.replace(chr(34), '')}\""
            for q in qualities
        )
        body = (
            "SELECT dataset_id,\n        " + cols + "\n"
            "FROM (SELECT dataset_id, quality, value FROM dataset_qualities "
            f"QUALIFY row_number() OVER (PARTITION BY dataset_id, quality ORDER BY {SOURCE_PRIORITY}) = 1)\n"
            "GROUP BY dataset_id"
        )
    else:
        body = "SELECT dataset_id FROM dataset_qualities WHERE false"
    return [
        f"CREATE OR REPLACE VIEW dataset_qualities_wide AS {body}",
        "CREATE OR REPLACE VIEW task_qualities_wide AS "
        "SELECT t.task_id, w.* FROM tasks t JOIN dataset_qualities_wide w USING (dataset_id)",
    ]
