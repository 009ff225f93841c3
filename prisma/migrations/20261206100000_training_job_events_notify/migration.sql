-- Every new training-job event is announced on the `training_job_events` channel (payload: the
-- job id), so the gateway's event streams wait for it instead of polling the table.
CREATE FUNCTION "training_job_events_notify"() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('training_job_events', NEW."job_id"::text);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "training_job_events_notify"
  AFTER INSERT ON "training_job_events"
  FOR EACH ROW EXECUTE FUNCTION "training_job_events_notify"();
