-- The maintenance sweep prunes applied usage batch ids by age.
CREATE INDEX "usage_flushes_applied_at_idx" ON "usage_flushes"("applied_at");
