-- 001: the store contract of DESIGN.md. Never edit an applied migration; add a new file.

CREATE TABLE datasets (
    dataset_id      BIGINT PRIMARY KEY,
    name            VARCHAR,
    version         INTEGER,
    status          VARCHAR,            -- active, deactivated, in_preparation
    format          VARCHAR,            -- ARFF, Sparse_ARFF, Parquet
    default_target  VARCHAR,
    row_id_attribute VARCHAR,
    ignore_attributes VARCHAR,
    file_id         BIGINT,
    upload_date     TIMESTAMP,
    description     VARCHAR,
    source          VARCHAR NOT NULL    -- openml, or an import name
);

CREATE TABLE dataset_qualities (
    dataset_id  BIGINT NOT NULL,
    quality     VARCHAR NOT NULL,       -- OpenML quality name, e.g. NumberOfInstances
    value       DOUBLE,
    source      VARCHAR NOT NULL,       -- openml, computed, or an import name
    PRIMARY KEY (dataset_id, quality, source)
);

CREATE TABLE quality_definitions (
    quality     VARCHAR PRIMARY KEY,
    description VARCHAR,
    source      VARCHAR NOT NULL
);

CREATE TABLE estimation_procedures (
    estimation_procedure_id BIGINT PRIMARY KEY,
    task_type_id    INTEGER,
    name            VARCHAR,
    type            VARCHAR,            -- crossvalidation, holdout, ...
    repeats         INTEGER,
    folds           INTEGER,
    percentage      DOUBLE,
    stratified      BOOLEAN,
    source          VARCHAR NOT NULL
);

CREATE TABLE evaluation_measures (
    measure     VARCHAR PRIMARY KEY,    -- e.g. predictive_accuracy
    description VARCHAR,
    higher_is_better BOOLEAN,
    source      VARCHAR NOT NULL
);

CREATE TABLE tasks (
    task_id         BIGINT PRIMARY KEY,
    dataset_id      BIGINT,
    task_type       VARCHAR,            -- Supervised Classification, Supervised Regression, ...
    task_type_id    INTEGER,
    target          VARCHAR,
    estimation_procedure VARCHAR,       -- e.g. 10-fold Crossvalidation
    estimation_procedure_id BIGINT,
    evaluation_measure VARCHAR,
    status          VARCHAR,
    source          VARCHAR NOT NULL
);

CREATE TABLE task_inputs (
    task_id     BIGINT NOT NULL,
    input       VARCHAR NOT NULL,
    value       VARCHAR,
    source      VARCHAR NOT NULL,
    PRIMARY KEY (task_id, input)
);

CREATE TABLE flows (
    flow_id         BIGINT PRIMARY KEY,
    name            VARCHAR,
    version         VARCHAR,
    external_version VARCHAR,
    full_name       VARCHAR,
    pipeline        VARCHAR,            -- catalogue pipeline name, or NULL when unmapped
    upload_date     TIMESTAMP,
    source          VARCHAR NOT NULL
);

CREATE TABLE setups (
    setup_id    BIGINT PRIMARY KEY,
    flow_id     BIGINT,
    config      JSON,                   -- canonical typed values
    config_hash VARCHAR,
    parameters  JSON,                   -- OpenML's raw parameter strings, as received
    source      VARCHAR NOT NULL
);

CREATE TABLE runs (
    run_key         VARCHAR PRIMARY KEY, -- unique across sources: openml:<id>, <import>:<...>, local:<uuid>
    openml_run_id   BIGINT,              -- NULL until published
    task_id         BIGINT,
    flow_id         BIGINT,
    setup_id        BIGINT,
    pipeline        VARCHAR,
    config          JSON,
    config_hash     VARCHAR,
    source          VARCHAR NOT NULL,
    status          VARCHAR,             -- ok, crashed, error, ...
    error_message   VARCHAR,
    uploader        BIGINT,
    created_at      TIMESTAMP
);

CREATE TABLE evaluations (
    run_key     VARCHAR NOT NULL,
    measure     VARCHAR NOT NULL,        -- OpenML measure name
    value       DOUBLE,
    fold        INTEGER,                 -- NULL for the aggregate
    "repeat"    INTEGER,                 -- NULL for the aggregate
    source      VARCHAR NOT NULL
);

CREATE TABLE learning_curves (
    dataset_id  BIGINT,
    task_id     BIGINT,
    learner     VARCHAR,                 -- learner or pipeline name
    pipeline    VARCHAR,
    size_train  BIGINT,
    size_test   BIGINT,
    outer_seed  INTEGER,
    inner_seed  INTEGER,
    measure     VARCHAR NOT NULL,
    score_train DOUBLE,
    score_valid DOUBLE,
    score_test  DOUBLE,
    traintime   DOUBLE,
    source      VARCHAR NOT NULL
);

-- provenance: one row per import or sync, written in the same transaction as its data
CREATE SEQUENCE imports_seq;
CREATE TABLE imports (
    import_id   BIGINT PRIMARY KEY DEFAULT nextval('imports_seq'),
    source      VARCHAR NOT NULL,
    path        VARCHAR,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    row_counts  JSON
);

-- sync high-water marks: one row per entity and filter
CREATE TABLE sync_state (
    entity      VARCHAR NOT NULL,
    filter_key  VARCHAR NOT NULL,
    high_water  VARCHAR,
    done        BOOLEAN DEFAULT false,
    updated_at  TIMESTAMP,
    PRIMARY KEY (entity, filter_key)
);

-- one row per run with its task, dataset, pipeline, config and main evaluation
-- (the aggregate of the task's evaluation measure, else predictive_accuracy, else AUC, else any)
CREATE VIEW run_configs AS
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
    m.measure, m.value AS score
FROM runs r
LEFT JOIN tasks t ON t.task_id = r.task_id
LEFT JOIN datasets d ON d.dataset_id = t.dataset_id
LEFT JOIN flows f ON f.flow_id = r.flow_id
LEFT JOIN main_eval m ON m.run_key = r.run_key;
