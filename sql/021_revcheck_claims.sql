-- 021_revcheck_claims: revcheck's work queue, so that several revcheck
-- processes on one incident ask about each certificate once.
--
-- A pass is one look at every certificate still to revoke: the first
-- process of a round opens it (one queue row per certificate, and the
-- evidence id the pass starts after), later processes join it while it
-- is open.  Processes claim batches of rows with FOR UPDATE SKIP LOCKED
-- under a lease (database.lease, renewed while they work) and delete
-- them once the answers are stored; a row whose lease ran out is claimed
-- again.  A pass is open while it has rows and is either younger than a
-- lease or has a live one; one left behind by a process that died is
-- reopened from scratch by the next round.
CREATE TABLE revcheck_pass (
	incident_id    bigint PRIMARY KEY REFERENCES incident ON DELETE CASCADE,
	first_evidence bigint NOT NULL, -- the pass's evidence ids are above
	started_at     timestamptz NOT NULL DEFAULT now()
);

-- No foreign keys: a pass of millions of certificates is one INSERT, and
-- certificates are never deleted (see certificate in 001).  Rows churn:
-- no index on a column claims change, so updates stay HOT.
CREATE TABLE revcheck_queue (
	certificate_id bigint PRIMARY KEY,
	incident_id    bigint NOT NULL,
	state          text NOT NULL DEFAULT 'pending'
	               CHECK (state IN ('pending', 'claimed')),
	lease_until    timestamptz,
	worker         text,
	CHECK ((state = 'claimed') = (lease_until IS NOT NULL))
) WITH (fillfactor = 70);
CREATE INDEX revcheck_queue_work ON revcheck_queue (incident_id, certificate_id);
