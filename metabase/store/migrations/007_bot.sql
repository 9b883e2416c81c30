-- 007: the bot's state. bot_jobs: one row per run the bot chose, a state machine
--   proposed -> running -> stored -> published, or failed (with the reason);
-- a job's run key is known when it is proposed (it is deterministic in task, pipeline, config,
-- seed and fidelity), so a restart finds the stored result of a job whose bot died.
-- bot_registry: the one bot of this store (pid, host, since, executor, last heartbeat);
-- bot_paused: (task, pipeline) pairs that kept failing, with the reason.
CREATE SEQUENCE bot_job_ids START 1;
CREATE TABLE bot_jobs (
    job_id           BIGINT PRIMARY KEY DEFAULT nextval('bot_job_ids'),
    run_key          VARCHAR NOT NULL UNIQUE,
    task_id          BIGINT NOT NULL,
    pipeline         VARCHAR NOT NULL,
    config           VARCHAR NOT NULL,   -- JSON object, canonical
    config_hash      VARCHAR NOT NULL,
    seed             BIGINT NOT NULL,
    fidelity         VARCHAR NOT NULL,   -- JSON object; {} is full fidelity
    state            VARCHAR NOT NULL,   -- proposed, running, stored, published, failed
    reason           VARCHAR,            -- why the policy chose it
    error            VARCHAR,            -- why it failed (the run's status and message)
    attempts         INTEGER NOT NULL DEFAULT 0,
    lease_owner      VARCHAR,            -- the bot running it
    lease_expires_at TIMESTAMP,
    created_at       TIMESTAMP NOT NULL,
    started_at       TIMESTAMP,
    finished_at      TIMESTAMP,
    published_at     TIMESTAMP
);
CREATE TABLE bot_registry (
    slot        INTEGER PRIMARY KEY,     -- always 1: one bot per store
    owner       VARCHAR NOT NULL,        -- host:pid:started, the lease owner of its jobs
    pid         BIGINT NOT NULL,
    host        VARCHAR NOT NULL,
    proc_start  DOUBLE,                  -- the process's start time (tells a reused pid apart)
    started_at  TIMESTAMP NOT NULL,
    executor    VARCHAR,
    workers     INTEGER,
    policy      VARCHAR,
    options     VARCHAR,                 -- JSON: the command's options
    last_beat   TIMESTAMP NOT NULL,
    stopped_at  TIMESTAMP,               -- NULL while it runs
    stop_reason VARCHAR
);
CREATE TABLE bot_paused (
    task_id   BIGINT NOT NULL,
    pipeline  VARCHAR NOT NULL,
    reason    VARCHAR NOT NULL,
    paused_at TIMESTAMP NOT NULL,
    PRIMARY KEY (task_id, pipeline)
);
CREATE TABLE bot_events (
    at_time TIMESTAMP NOT NULL,
    kind    VARCHAR NOT NULL,            -- error, pause, publish, retrain, start, stop
    message VARCHAR NOT NULL
);
