-- name: best-configs
-- description: The best configurations per task: runs ranked by their main evaluation (see the run_configs view), best first, compared only within one measure.
-- param: task_id int = NULL   Only this task (default: every task).
-- param: flow_id int = NULL   Only runs of this flow (default: every flow).
-- param: k int = 1            How many configurations to keep per task and measure.
--
-- Higher is better unless evaluation_measures says otherwise (or, for measures it does not
-- know, the name says error, loss or time). Runs without a score (failed runs) are left out.
SELECT task_id, rank, dataset_id, dataset_name, flow_id, flow_name, pipeline,
       measure, score, config, run_key, source
FROM (
    SELECT rc.*,
           row_number() OVER (
               PARTITION BY rc.task_id, rc.measure
               ORDER BY CASE WHEN coalesce(m.higher_is_better,
                                           NOT regexp_matches(rc.measure, 'error|loss|time|cost'))
                             THEN rc.score ELSE -rc.score END DESC,
                        rc.run_key
           ) AS rank
    FROM run_configs rc
    LEFT JOIN evaluation_measures m ON m.measure = rc.measure
    WHERE rc.score IS NOT NULL AND isfinite(rc.score)
      AND ($task_id IS NULL OR rc.task_id = $task_id)
      AND ($flow_id IS NULL OR rc.flow_id = $flow_id)
)
WHERE rank <= $k
ORDER BY task_id, measure, rank;
