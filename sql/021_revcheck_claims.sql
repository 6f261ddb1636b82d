-- 021_revcheck_claims: revcheck's work queue, so that several revcheck
-- processes on one incident ask about each certificate once.
--
-- A pass is one look at every certificate still to revoke: the first
-- process of a round opens it, cutting the certificates into batches of
-- consecutive ids (database.batch_size, at most 1,000 each), and notes
-- the evidence id the pass starts after; later processes join it while
-- it is open.  Processes claim batches with FOR UPDATE SKIP LOCKED under
-- a lease (database.lease, renewed while they work) and delete them once
-- every answer of the batch is stored; a batch whose lease ran out is
-- claimed again.  A pass is open while it has batches and is either
-- younger than a lease or has a live one; one left by a process that
-- died is opened afresh by the next round.  One row per batch, not per
-- certificate: a pass of millions is thousands of claims.
CREATE TABLE revcheck_pass (
	incident_id    bigint PRIMARY KEY REFERENCES incident ON DELETE CASCADE,
	first_evidence bigint NOT NULL, -- the pass's evidence ids are above
	started_at     timestamptz NOT NULL DEFAULT now()
);

-- The certificates still to revoke with ids first_id..last_id (those
-- revoked since are skipped when the batch is claimed).
CREATE TABLE revcheck_batch (
	incident_id bigint NOT NULL REFERENCES incident ON DELETE CASCADE,
	first_id    bigint NOT NULL,
	last_id     bigint NOT NULL CHECK (last_id >= first_id),
	state       text NOT NULL DEFAULT 'pending'
	            CHECK (state IN ('pending', 'claimed')),
	lease_until timestamptz,
	worker      text,
	PRIMARY KEY (incident_id, first_id),
	CHECK ((state = 'claimed') = (lease_until IS NOT NULL))
) WITH (fillfactor = 70);
