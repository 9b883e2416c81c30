-- name: quality-coverage
-- description: Coverage of each quality (meta-feature): how many datasets (or, for task-keyed sources, tasks) have a value, per source and over all sources ('*'), as a count and a share.
-- param: quality str = NULL   Only qualities whose name matches this ILIKE pattern, e.g. '%Entropy%'.
-- param: source str = NULL    Only this source (default: every source).
--
-- The share's denominator is the number of datasets (tasks) with at least one quality value.
WITH q AS (
    SELECT 'dataset' AS keyed_by, dataset_id AS id, quality, source
    FROM dataset_qualities
    WHERE value IS NOT NULL AND isfinite(value)
    UNION ALL
    SELECT 'task', task_id, quality, source
    FROM task_qualities
    WHERE value IS NOT NULL AND isfinite(value)
),
selected AS (
    SELECT * FROM q
    WHERE ($quality IS NULL OR quality ILIKE $quality)
      AND ($source IS NULL OR source = $source)
),
totals AS (
    SELECT keyed_by, count(DISTINCT id) AS total FROM q GROUP BY keyed_by
)
SELECT s.quality,
       s.keyed_by,
       coalesce(s.source, '*') AS source,
       count(DISTINCT s.id) AS having_value,
       any_value(t.total) AS total,
       round(count(DISTINCT s.id) / any_value(t.total), 4) AS share,
       (SELECT count(*) > 0 FROM quality_definitions qd WHERE qd.quality = s.quality) AS defined
FROM selected s
JOIN totals t USING (keyed_by)
GROUP BY GROUPING SETS ((s.quality, s.keyed_by, s.source), (s.quality, s.keyed_by))
ORDER BY s.quality, s.keyed_by, s.source NULLS FIRST;
