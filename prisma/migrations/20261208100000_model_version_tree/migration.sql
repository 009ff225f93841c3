-- A trained decision tree is stored with its version (JSON nodes and readable rules), so the
-- tree route can show what the served TreeEnsemble decides.
ALTER TABLE "model_versions" ADD COLUMN "tree" JSONB;
