-- 022_verdicts: every verdict defined once, in C (src/core/verdict.c).
--
-- certificate_verdict() and deployment_verdict() are the decision tables
-- of verdict_cert() and verdict_deployment(), written out as SQL by
-- verdict_cert_sql() / verdict_deployment_sql(): the CASE bodies below
-- are that text (`build/tests/test_verdict --sql` prints it), and
-- test_verdict fails when they differ.  tests/integration/034-verdicts.sh
-- runs every input through the C tables and every SQL path below.  To
-- change a verdict, change its table in verdict.c and redefine the
-- function in a new migration with the text test_verdict prints.
--
-- The roll-up of a certificate's names into its deployment is one
-- function, deployment_verdict(), fed by its two callers with the same
-- three facts: incident_deployment() for every certificate of an
-- incident at once (the report), certificate_scan_verdict_inline() for
-- one certificate at a time (notices).  Both are simple enough for the
-- planner to inline, so the report stays one set-based pass.

-- Times compare as whole seconds, as the C side reads them.  A
-- revocation after `at` has not happened yet (replaying a moment).
-- STABLE, as extract() from a timestamptz is: declared IMMUTABLE (007),
-- the planner never inlined it and the report's COPY called it once per
-- row, about four times slower.
CREATE OR REPLACE FUNCTION certificate_verdict(revoked_at timestamptz,
					       not_after timestamptz,
					       must_by timestamptz,
					       at timestamptz)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT CASE
		WHEN revoked_at IS NOT NULL
		     AND extract(epoch FROM revoked_at)::bigint
		         <= extract(epoch FROM at)::bigint
		     AND extract(epoch FROM revoked_at)::bigint
		         <= extract(epoch FROM must_by)::bigint
		THEN 'revoked-on-time'
		WHEN revoked_at IS NOT NULL
		     AND extract(epoch FROM revoked_at)::bigint
		         <= extract(epoch FROM at)::bigint
		THEN 'revoked-late'
		WHEN not_after IS NOT NULL
		     AND extract(epoch FROM not_after)::bigint
		         <= extract(epoch FROM must_by)::bigint
		THEN 'expired'
		WHEN at <= must_by
		THEN 'pending'
		ELSE 'overdue'
	END
$$;

-- unscanned: no probeable name of the certificate has been probed;
-- served: some address of some name served this very certificate;
-- replaced: every probeable name was probed and every address served a
-- replacement.  NULL (an aggregate over no rows) does not hold.
CREATE FUNCTION deployment_verdict(unscanned boolean, served boolean,
				   replaced boolean)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE
		WHEN unscanned
		THEN 'not scanned'
		WHEN served
		THEN 'deployed'
		WHEN replaced
		THEN 'replaced'
		ELSE 'unknown'
	END
$$;

-- As in 009_identity.sql, the roll-up now through deployment_verdict().
CREATE OR REPLACE FUNCTION incident_deployment(inc bigint)
RETURNS TABLE (certificate_id bigint, deployment text)
LANGUAGE sql STABLE
SET enable_mergejoin = off SET work_mem = '64MB' AS $$
	WITH ts AS MATERIALIZED (
		SELECT t.name, t.round > 0 AS scanned,
		       coalesce(bool_and(o.verdict = 'serving-replacement'),
		                false) AS all_replacement,
		       array_agg(o.served_serial)
		           FILTER (WHERE o.served_serial IS NOT NULL) AS served,
		       array_agg(encode(o.served_serial, 'hex') || '/'
		                 || o.served_issuer)
		           FILTER (WHERE o.served_serial IS NOT NULL
		                   AND o.served_issuer IS NOT NULL)
		           AS served_keys,
		       array_agg(o.served_sha256)
		           FILTER (WHERE o.served_sha256 IS NOT NULL)
		           AS served_sha256
		FROM scan_target t
		LEFT JOIN observation o
		       ON o.target_id = t.id AND o.round = t.round
		WHERE t.incident_id = inc AND t.probeable
		GROUP BY t.id
	)
	SELECT c.id, deployment_verdict(
		NOT bool_or(ts.scanned),
		bool_or(CASE
			WHEN c.sha256 IS NOT NULL AND NOT c.is_precert
			THEN c.sha256 = ANY (ts.served_sha256)
			WHEN c.issuer_name IS NULL
			THEN c.serial = ANY (ts.served)
			ELSE encode(c.serial, 'hex') || '/' || c.issuer_name
			     = ANY (ts.served_keys) END),
		bool_and(ts.scanned AND ts.all_replacement))
	FROM certificate c
	CROSS JOIN LATERAL unnest(c.names) AS n(name)
	JOIN ts ON ts.name = n.name
	WHERE c.incident_id = inc
	GROUP BY c.id
$$;

-- As in 009_identity.sql, the roll-up now through deployment_verdict().
CREATE OR REPLACE FUNCTION certificate_scan_verdict_inline(
	cert_incident bigint, cert_serial bytea, cert_names text[],
	cert_issuer text, cert_sha256 bytea, cert_precert boolean)
RETURNS TABLE (verdict text) LANGUAGE sql STABLE AS $$
	SELECT deployment_verdict(
		count(*) = 0,
		bool_or(certificate_is_served(cert_serial, cert_issuer,
		                              cert_sha256, cert_precert,
		                              o.served_serial,
		                              o.served_issuer,
		                              o.served_sha256)),
		bool_and(o.verdict = 'serving-replacement')
		AND count(DISTINCT t.name) = (SELECT count(*)
			FROM scan_target p
			WHERE p.incident_id = cert_incident
			AND p.name = ANY (cert_names) AND p.probeable))
	FROM scan_target t JOIN observation o
	ON o.target_id = t.id AND o.round = t.round
	WHERE t.incident_id = cert_incident AND t.name = ANY (cert_names)
	AND t.probeable AND t.round > 0
$$;
