-- 004: runs executed here (runs.source = 'local', openml_run_id NULL until published).
-- run_details: what makes a run reproducible and why it failed; evaluations gain the sample of
-- learning-curve tasks and the spread of an aggregate over folds; predictions: OpenML's
-- predictions-file columns, one row per test row of each fold (see the README for the layout).
ALTER TABLE evaluations ADD COLUMN sample INTEGER;   -- NULL: not a learning-curve sample, or the aggregate
ALTER TABLE evaluations ADD COLUMN stdev DOUBLE;     -- aggregates of local runs: std over folds

CREATE TABLE run_details (
    run_key         VARCHAR PRIMARY KEY,
    seed            BIGINT,
    fidelity        JSON,                -- {"n_estimators": .., "epochs": .., "data_fraction": ..}; {} is full
    time_limit_s    DOUBLE,
    memory_limit_mb DOUBLE,
    executor        VARCHAR,             -- local, ray
    attempts        INTEGER,             -- 2 when a lost worker's run was tried again
    error_type      VARCHAR,
    traceback       VARCHAR,
    class_labels    JSON,                -- the order of predictions.confidence
    environment     JSON,                -- library versions, host, platform, cpu, device
    host            VARCHAR,
    device          VARCHAR,             -- cpu or cuda
    device_name     VARCHAR,             -- CPU model or GPU name
    started_at      TIMESTAMP,
    finished_at     TIMESTAMP,
    runtime_s       DOUBLE
);

CREATE TABLE predictions (
    run_key     VARCHAR NOT NULL,
    "repeat"    INTEGER NOT NULL,
    fold        INTEGER NOT NULL,
    sample      INTEGER NOT NULL,
    row_id      BIGINT NOT NULL,
    prediction  VARCHAR,                 -- class label, or the predicted value as exact text
    correct     VARCHAR,                 -- the truth, spelled the same way
    confidence  DOUBLE[]                 -- classification: one probability per class, run_details.class_labels order
);
