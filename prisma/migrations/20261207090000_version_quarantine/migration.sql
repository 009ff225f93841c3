-- A version whose requests were in flight on workers that stopped, too often, is quarantined:
-- not served until a new version is uploaded or an admin releases it (status_reason says why).
ALTER TYPE "model_version_status" ADD VALUE 'quarantined';
