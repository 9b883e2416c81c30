-- 008: multi-fidelity bot jobs. rung: the job's place on its pipeline's fidelity ladder (0 the
-- cheapest; NULL: the job is not part of successive halving); hurdle: the job runs the
-- reference configuration (the best on similar tasks) that newcomers must beat at each rung.
ALTER TABLE bot_jobs ADD COLUMN rung INTEGER;
ALTER TABLE bot_jobs ADD COLUMN hurdle BOOLEAN NOT NULL DEFAULT false;
