-- name: run-counts
-- description: Run counts per flow and task, with how many of those runs have an evaluation and which sources they came from.
-- param: flow_id int = NULL   Only this flow (default: every flow).
-- param: task_id int = NULL   Only this task (default: every task).
-- param: min_runs int = 1     Leave out flow and task pairs with fewer runs.
WITH evaluated AS (
    SELECT DISTINCT run_key FROM evaluations WHERE fold IS NULL
)
SELECT r.flow_id,
       any_value(f.name) AS flow_name,
       r.task_id,
       any_value(d.name) AS dataset_name,
       count(*) AS runs,
       count(ev.run_key) AS evaluated_runs,
       count(DISTINCT coalesce(r.config_hash, CAST(r.setup_id AS VARCHAR), CAST(r.config AS VARCHAR)))
           AS distinct_configs,
       string_agg(DISTINCT r.source, ',' ORDER BY r.source) AS sources
FROM runs r
LEFT JOIN evaluated ev ON ev.run_key = r.run_key
LEFT JOIN flows f ON f.flow_id = r.flow_id
LEFT JOIN tasks t ON t.task_id = r.task_id
LEFT JOIN datasets d ON d.dataset_id = t.dataset_id
WHERE ($flow_id IS NULL OR r.flow_id = $flow_id)
  AND ($task_id IS NULL OR r.task_id = $task_id)
GROUP BY r.flow_id, r.task_id
HAVING count(*) >= $min_runs
ORDER BY runs DESC, r.flow_id, r.task_id;
