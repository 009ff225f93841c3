-- Optimisation jobs (algorithm 'optimize') run on the training queue like training jobs; a
-- version uploaded rather than trained has no dataset, so its optimisation job names none.
ALTER TABLE "training_jobs" ALTER COLUMN "dataset_id" DROP NOT NULL;
