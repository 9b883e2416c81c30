-- name: flow-performance
-- description: Mean, median and best score of each flow over its runs for one measure (default predictive_accuracy), with how many tasks and runs it covers.
-- param: measure str = 'predictive_accuracy'   The evaluation measure (OpenML name).
-- param: source str = NULL                     Only runs from this source, e.g. openml-study-arff (default: all).
-- param: min_tasks int = 1                     Leave out flows evaluated on fewer tasks.
SELECT r.flow_id,
       any_value(f.name) AS flow_name,
       count(DISTINCT r.task_id) AS tasks,
       count(*) AS runs,
       avg(e.value) AS mean_score,
       median(e.value) AS median_score,
       max(e.value) AS max_score
FROM runs r
JOIN evaluations e ON e.run_key = r.run_key AND e.fold IS NULL AND e.measure = $measure
LEFT JOIN flows f ON f.flow_id = r.flow_id
WHERE ($source IS NULL OR r.source = $source)
  AND e.value IS NOT NULL AND isfinite(e.value)
GROUP BY r.flow_id
HAVING count(DISTINCT r.task_id) >= $min_tasks
ORDER BY mean_score DESC, r.flow_id;
