-- 009: the meta-models' quality after each of the bot's retrains, measured on a held-out slice
-- of the store's tasks (metabase.bot.quality): the zero-shot default's and the sequential
-- default's mean regret@k on the held-out tasks, with the store's runs at the time.
CREATE TABLE bot_quality (
    at_time           TIMESTAMP NOT NULL,
    runs              BIGINT NOT NULL,   -- the store's runs when the models were trained
    tasks             INTEGER NOT NULL,  -- held-out tasks scored
    held_out          VARCHAR,           -- JSON list: their ids (the slice)
    train_tasks       INTEGER NOT NULL,  -- tasks the measured models learned from
    k                 INTEGER NOT NULL,
    zero_shot_regret  DOUBLE,
    sequential_regret DOUBLE,
    seconds           DOUBLE,            -- the measurement's time
    model_key         VARCHAR            -- the retrained models' cache key
);
