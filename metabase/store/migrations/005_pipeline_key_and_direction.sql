-- 005: one definition each of a run's pipeline key and of a measure's direction, so that the
-- run_configs view and every query of the store (metabase/store/run_queries.py) agree.

-- A run's pipeline: its own (a catalogue name), else its flow's, else flow-<flow id>, else
-- 'unknown'. The Python spelling of flow-<id> is metabase.store.keys.flow_key.
CREATE MACRO run_pipeline_key(run_pipeline, flow_pipeline, flow_id) AS
    coalesce(run_pipeline, flow_pipeline, 'flow-' || CAST(flow_id AS VARCHAR), 'unknown');

-- Is a higher value of the measure better? What evaluation_measures says, else from the name:
-- errors, losses, times, memory and costs are lower-is-better.
CREATE MACRO measure_higher_is_better(measure_name) AS coalesce(
    (SELECT any_value(em.higher_is_better) FROM evaluation_measures em WHERE em.measure = measure_name),
    NOT regexp_matches(lower(measure_name), 'error|loss|time|millis|memory|cost'));

-- run_configs as in 001, plus the pipeline key and the score with higher always better
CREATE OR REPLACE VIEW run_configs AS
WITH main_eval AS (
    SELECT e.run_key, e.measure, e.value
    FROM evaluations e
    JOIN runs r USING (run_key)
    LEFT JOIN tasks t ON t.task_id = r.task_id
    WHERE e.fold IS NULL
    QUALIFY row_number() OVER (
        PARTITION BY e.run_key
        ORDER BY (e.measure = t.evaluation_measure) DESC NULLS LAST,
                 (e.measure = 'predictive_accuracy') DESC,
                 (e.measure = 'area_under_roc_curve') DESC,
                 e.measure
    ) = 1
)
SELECT
    r.run_key, r.openml_run_id, r.task_id, t.dataset_id, d.name AS dataset_name,
    r.flow_id, f.name AS flow_name, r.setup_id,
    COALESCE(r.pipeline, f.pipeline) AS pipeline,
    r.config, r.config_hash, r.source, r.status,
    m.measure, m.value AS score,
    run_pipeline_key(r.pipeline, f.pipeline, r.flow_id) AS pipeline_key,
    measure_higher_is_better(m.measure) AS higher_is_better,
    CASE WHEN measure_higher_is_better(m.measure) THEN m.value ELSE -m.value END AS signed_score
FROM runs r
LEFT JOIN tasks t ON t.task_id = r.task_id
LEFT JOIN datasets d ON d.dataset_id = t.dataset_id
LEFT JOIN flows f ON f.flow_id = r.flow_id
LEFT JOIN main_eval m ON m.run_key = r.run_key;
