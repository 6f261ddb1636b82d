-- 008_notice_send: what sending notices asks of the server, made cheap
-- and made to plan the same way whatever the statistics say.

-- The per-certificate scan verdict as a query the planner can inline.
-- A scalar SQL function whose body reads tables is never inlined: every
-- call starts and ends an executor of its own, about 10 us, so asking
-- the verdict of each certificate of a batch of notices cost more than
-- the rest of the batch's query.  A set-returning SQL function used in
-- FROM (LATERAL) is inlined into the calling query instead.  This is the
-- one definition of the verdict (the rules of 004_scan.sql, unchanged);
-- certificate_scan_verdict() now reads it.
CREATE FUNCTION certificate_scan_verdict_inline(cert_incident bigint,
						cert_serial bytea,
						cert_names text[])
RETURNS TABLE (verdict text) LANGUAGE sql STABLE AS $$
	SELECT CASE
		WHEN count(*) = 0 THEN 'not scanned'
		WHEN bool_or(o.served_serial = cert_serial) THEN 'deployed'
		WHEN bool_and(o.verdict = 'serving-replacement')
		     AND count(DISTINCT t.name) = (SELECT count(*)
			FROM scan_target p
			WHERE p.incident_id = cert_incident
			AND p.name = ANY (cert_names) AND p.probeable)
		     THEN 'replaced'
		ELSE 'unknown'
	END
	FROM scan_target t JOIN observation o
	ON o.target_id = t.id AND o.round = t.round
	WHERE t.incident_id = cert_incident AND t.name = ANY (cert_names)
	AND t.probeable AND t.round > 0
$$;

CREATE OR REPLACE FUNCTION certificate_scan_verdict(cert_incident bigint,
						    cert_serial bytea,
						    cert_names text[])
RETURNS text LANGUAGE sql STABLE AS $$
	SELECT verdict FROM certificate_scan_verdict_inline(cert_incident,
							    cert_serial,
							    cert_names)
$$;

-- The queue's statistics are never right for long: it fills while it
-- is worked on and empties at thousands of rows a second.  With the
-- work index on (incident_id, kind, notice_id), a server that believed
-- the queue nearly empty chose it for lookups by notice_id alone, which
-- read the whole index once per row.  Rebuilt as a partial index on a
-- condition every row meets (kind is NOT NULL), it serves only queries
-- that name the kind, i.e. the claim's scan in id order; a lookup by
-- notice_id has the primary key alone to choose.  Neither index covers
-- a column that claims or outcomes change, so updates stay HOT.
DROP INDEX notice_queue_work;
CREATE INDEX notice_queue_work ON notice_queue (incident_id, kind, notice_id)
	WHERE kind IS NOT NULL;
