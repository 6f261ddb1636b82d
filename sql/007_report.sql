-- 007_report: what the report needs from the server.
--
-- certificate_verdict() is deadline_cert_verdict() (src/deadline.c) for
-- the rows the report streams with COPY, where no C code sees them; the
-- report test cross-checks the two on every run.  Times compare as whole
-- seconds, as the C side reads them.  A revocation after `at` has not
-- happened yet when replaying an earlier moment.

CREATE FUNCTION certificate_verdict(revoked_at timestamptz,
				    not_after timestamptz,
				    must_by timestamptz,
				    at timestamptz)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE
		WHEN revoked_at IS NOT NULL
		     AND extract(epoch FROM revoked_at)::bigint
		         <= extract(epoch FROM at)::bigint
		THEN CASE WHEN extract(epoch FROM revoked_at)::bigint
		               <= extract(epoch FROM must_by)::bigint
		          THEN 'revoked-on-time' ELSE 'revoked-late' END
		WHEN not_after IS NOT NULL
		     AND extract(epoch FROM not_after)::bigint
		         <= extract(epoch FROM must_by)::bigint
		THEN 'expired'
		WHEN at <= must_by THEN 'pending'
		ELSE 'overdue'
	END
$$;

-- The deployment roll-up of certificate_scan_verdict() for every
-- certificate of an incident at once: one pass over the latest round of
-- each probeable target, hashed and joined to the certificates by name.
-- Only certificates with a probeable name come out; the rest are
-- 'not scanned' (callers coalesce), as certificate_scan_verdict() says.
-- The targets are few next to the certificates' names: hash them (a
-- merge join sorts millions of names first).
CREATE FUNCTION incident_deployment(inc bigint)
RETURNS TABLE (certificate_id bigint, deployment text)
LANGUAGE sql STABLE
SET enable_mergejoin = off SET work_mem = '64MB' AS $$
	WITH ts AS MATERIALIZED (
		SELECT t.name, t.round > 0 AS scanned,
		       coalesce(bool_and(o.verdict = 'serving-replacement'),
		                false) AS all_replacement,
		       array_agg(o.served_serial)
		           FILTER (WHERE o.served_serial IS NOT NULL) AS served
		FROM scan_target t
		LEFT JOIN observation o
		       ON o.target_id = t.id AND o.round = t.round
		WHERE t.incident_id = inc AND t.probeable
		GROUP BY t.id
	)
	SELECT c.id, CASE
		WHEN NOT bool_or(ts.scanned) THEN 'not scanned'
		WHEN bool_or(c.serial = ANY (ts.served)) THEN 'deployed'
		WHEN bool_and(ts.scanned AND ts.all_replacement)
		     THEN 'replaced'
		ELSE 'unknown'
	END
	FROM certificate c
	CROSS JOIN LATERAL unnest(c.names) AS n(name)
	JOIN ts ON ts.name = n.name
	WHERE c.incident_id = inc
	GROUP BY c.id
$$;

-- The rehearsal clock (CERTRECALL_CLOCK, see cli_now()): the session's
-- certrecall.clock when set, else the transaction's time.  Results the
-- server stamps (observations, evidence, notices sent) use it, so a
-- replay or a mass-revocation plan test (BR 5.7.1.2) reads as if it
-- happened then; leases and retries always run on the real clock.
CREATE FUNCTION certrecall_now() RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT coalesce(nullif(current_setting('certrecall.clock', true), '')
	                ::timestamptz, now())
$$;
ALTER TABLE observation ALTER COLUMN observed_at SET DEFAULT certrecall_now();
ALTER TABLE revocation_evidence
	ALTER COLUMN checked_at SET DEFAULT certrecall_now();
