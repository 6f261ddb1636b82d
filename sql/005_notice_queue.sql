-- 005_notice_queue: the mailer's work queue, apart from the notices.
--
-- Claims and leases churn at thousands of rows a second.  On notice
-- itself every claim and every outcome rewrote a row whose state an
-- index depended on, so each one cost new entries in every index.  Here
-- the queue row holds the claim, and neither table indexes a column that
-- claims or outcomes change, so PostgreSQL updates them in place (HOT).
-- notice.state stays the record (pending / retry / sent / failed /
-- no-address); a notice is in the queue while it is due or claimed.

CREATE TABLE notice_queue (
	notice_id   bigint PRIMARY KEY REFERENCES notice ON DELETE CASCADE,
	incident_id bigint NOT NULL,
	kind        text NOT NULL,
	state       text NOT NULL DEFAULT 'pending'
	            CHECK (state IN ('pending', 'retry', 'claimed')),
	due_at      timestamptz NOT NULL DEFAULT now(),
	lease_until timestamptz,
	worker      text,
	CHECK ((state = 'claimed') = (lease_until IS NOT NULL))
) WITH (fillfactor = 70);
CREATE INDEX notice_queue_work ON notice_queue (incident_id, kind, notice_id);

INSERT INTO notice_queue (notice_id, incident_id, kind, state, due_at)
	SELECT id, incident_id, kind,
	       CASE state WHEN 'retry' THEN 'retry' ELSE 'pending' END,
	       coalesce(next_attempt_at, now())
	FROM notice WHERE state IN ('pending', 'retry', 'claimed');
UPDATE notice SET state = 'pending', lease_until = NULL, worker = NULL
	WHERE state = 'claimed';
DROP INDEX notice_due;
ALTER TABLE notice SET (fillfactor = 70);
