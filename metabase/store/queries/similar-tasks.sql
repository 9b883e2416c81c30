-- name: similar-tasks
-- description: The k tasks most similar to a task by meta-features: the root-mean-square difference of z-scored qualities (task_qualities_wide), over the qualities that enough tasks have.
-- param: task_id int               The task to compare with.
-- param: k int = 10                How many similar tasks to return.
-- param: min_coverage float = 0.5  Use only qualities that at least this share of tasks have.
-- param: log bool = true           z-score sign(x)*ln(1+|x|) instead of x: counts such as NumberOfInstances span orders of magnitude and would dominate.
--
-- A task is compared on the qualities both it and the target have; tasks sharing fewer than half
-- of the target's qualities are left out. A task without usable qualities is an error that says so.
--
-- The values are the cells of task_qualities_wide in long form (the task_qualities_long view):
-- one value per task and quality, chosen by the views' source preference.
WITH long AS (
    SELECT task_id, quality, value AS raw FROM task_qualities_long
),
vals AS (
    SELECT task_id, quality,
           CASE WHEN $log THEN sign(raw) * ln(1 + abs(raw)) ELSE raw END AS v
    FROM long
    WHERE raw IS NOT NULL AND isfinite(raw)
),
stats AS (
    SELECT quality, avg(v) AS mu, stddev_samp(v) AS sd
    FROM vals
    GROUP BY quality
    HAVING count(*) >= $min_coverage * (SELECT count(DISTINCT task_id) FROM vals)
       AND stddev_samp(v) > 0
),
z AS (
    SELECT vals.task_id, vals.quality, (vals.v - stats.mu) / stats.sd AS z
    FROM vals JOIN stats USING (quality)
),
target AS (
    SELECT quality, z AS z_target FROM z WHERE task_id = $task_id
),
checked AS (
    SELECT CASE WHEN count(*) = 0 THEN error(
        'task ' || $task_id || ' has no meta-features with enough coverage in the store: '
        || 'import its dataset''s qualities (e.g. `metabase import qualities-csv ...`) '
        || 'and make sure the task is known (`metabase import openml-sql ...`)')
        ELSE count(*) END AS n_target
    FROM target
)
SELECT z.task_id,
       any_value(t.dataset_id) AS dataset_id,
       any_value(d.name) AS dataset_name,
       sqrt(avg((z.z - target.z_target) ^ 2)) AS distance,
       count(*) AS qualities_compared
FROM z
JOIN target USING (quality)
LEFT JOIN tasks t ON t.task_id = z.task_id
LEFT JOIN datasets d ON d.dataset_id = t.dataset_id
WHERE z.task_id <> $task_id
GROUP BY z.task_id
HAVING count(*) >= 0.5 * (SELECT n_target FROM checked)
ORDER BY distance, z.task_id
LIMIT $k;
