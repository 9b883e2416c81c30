-- 009: screening runs. A multi-fidelity job below the top rung of its pipeline's ladder (capped
-- at 16 or 64 trees, 5 or 20 epochs) is a screening run: successive halving reads its result,
-- but the runs that recommend, the bot's policy and its retraining learn from leave it out (its
-- configuration says more trees or epochs than it ran with), and the bot does not publish it.
ALTER TABLE bot_jobs ADD COLUMN screening BOOLEAN NOT NULL DEFAULT false;
-- the jobs proposed before: a rung job with a cap was below the default top rung (full fidelity)
UPDATE bot_jobs SET screening = true WHERE rung IS NOT NULL AND fidelity <> '{}';
