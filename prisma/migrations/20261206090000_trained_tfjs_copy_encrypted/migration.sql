-- A trained model's TensorFlow.js copy is stored like every artifact: encrypted under the
-- tenant's data key, its plaintext sha256 and size recorded (the size counts in the quota).
ALTER TABLE "model_versions" ADD COLUMN "tfjs_artifact_key" TEXT;
ALTER TABLE "model_versions" ADD COLUMN "tfjs_sha256" TEXT;
ALTER TABLE "model_versions" ADD COLUMN "tfjs_size_bytes" BIGINT;
