-- 006: the publish outbox. A local run is staged here in the transaction that records it; an
-- entry leaves state 'pending' only when its OpenML run id is known ('done', written in the same
-- transaction as runs.openml_run_id). 'sending' marks an upload that may have reached the server:
-- before it is sent again, the server is asked for runs carrying the entry's tag.
CREATE TABLE publish_outbox (
    run_key          VARCHAR PRIMARY KEY,
    tag              VARCHAR NOT NULL,   -- unique to the run, derived from its run key
    state            VARCHAR NOT NULL,   -- pending, sending, done
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       VARCHAR,
    last_attempt_at  TIMESTAMP,
    openml_run_id    BIGINT,
    staged_at        TIMESTAMP NOT NULL DEFAULT current_timestamp
);
