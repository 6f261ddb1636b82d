-- 011_scan_outcome: scan coverage is answers, not attempts.
--
-- A probe either got an answer about what a name serves, or it did not.
-- scan_probe_outcome() is the one definition; everything that counts
-- coverage (scan, status, report, dashboard) reads scan_target.outcome,
-- which the scanner sets from it when a target's round completes.
--
--   answered  a handshake gave a certificate (serving-*), the port was
--             refused, or DNS said the name does not exist (nxdomain):
--             a definite answer about that address or name
--   failed    dns-error, timeout, tls-error: no answer; a retry may get
--             one (scan retries them after scanner.retry_after)
--   filtered  scanner.deny kept us from asking: no answer, and asking
--             again gives none until the policy changes
CREATE FUNCTION scan_probe_outcome(verdict text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE
		WHEN verdict IN ('serving-affected', 'serving-replacement',
				 'serving-other', 'refused', 'nxdomain')
		     THEN 'answered'
		WHEN verdict = 'filtered' THEN 'filtered'
		ELSE 'failed'
	END
$$;

-- A target (name, port) from its round's probes, one per address: failed
-- when any address gave no answer (what it serves is not known), else
-- answered when any address answered, else filtered.  failure is the
-- commonest verdict of the failed probes ("dns-error"), NULL otherwise.
-- No probes: no outcome (not yet tried).  One row always; declared as a
-- table so that the planner inlines it into the calling query (see
-- 008_notice_send.sql): the scanner asks it for every target it finishes.
CREATE FUNCTION scan_round_outcome(target bigint, target_round integer)
RETURNS TABLE (outcome text, failure text)
LANGUAGE sql STABLE AS $$
	SELECT CASE
		WHEN bool_or(p.o = 'failed') THEN 'failed'
		WHEN bool_or(p.o = 'answered') THEN 'answered'
		WHEN count(*) > 0 THEN 'filtered'
	END,
	mode() WITHIN GROUP (ORDER BY p.verdict) FILTER (WHERE p.o = 'failed')
	FROM (SELECT verdict, scan_probe_outcome(verdict) AS o
	      FROM observation
	      WHERE target_id = target AND round = target_round) p
$$;

-- The outcome of the target's latest complete round; NULL before any.
-- last_observed_at is now stamped with certrecall_now(), so that
-- --stale-after and scanner.retry_after follow the rehearsal clock.
ALTER TABLE scan_target
	ADD COLUMN outcome text
		CHECK (outcome IN ('answered', 'failed', 'filtered')),
	ADD COLUMN failure text;
UPDATE scan_target t SET (outcome, failure) =
	(SELECT r.outcome, r.failure FROM scan_round_outcome(t.id,
		CASE WHEN t.state = 'claimed' THEN t.round - 1 ELSE t.round END) r)
WHERE t.round > 0;
