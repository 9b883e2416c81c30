-- 002: meta-features that sources publish per task id (openml-pimp's task_qualities.json, the
-- study metafeature ARFFs, auto-sklearn's 2020 layout) when the task's dataset id is unknown.
CREATE TABLE task_qualities (
    task_id     BIGINT NOT NULL,
    quality     VARCHAR NOT NULL,
    value       DOUBLE,
    source      VARCHAR NOT NULL,
    PRIMARY KEY (task_id, quality, source)
);
