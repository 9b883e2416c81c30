-- 003: the catalogue pipeline a setup's flow maps onto (NULL: not in the catalogue), so that the
-- sync can give runs their setup's pipeline, config and config_hash in one set-based UPDATE at the
-- end of its setups phase (and again after a resume) instead of rewriting runs rows per page.
ALTER TABLE setups ADD COLUMN pipeline VARCHAR;
