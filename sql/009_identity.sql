-- 009_identity: a certificate is its issuer and serial, never the serial
-- alone (RFC 5280 4.1.2.2: a serial is unique per issuer).
--
-- The issuer of a certificate is certificate.issuer_name, the issuer's
-- distinguished name in certinfo's one-line RFC 2253 form: read from the
-- certificate itself for PEM/DER, else the incident's issuer when it has
-- exactly one (at import, or when `incident add-issuer` gives it its
-- first and only one), else NULL: unknown.  The unique key is
-- (incident_id, serial, issuer) with "unknown" as one more value, so two
-- certificates with the same serial from different issuers coexist and a
-- list without issuers still loads each serial once.  The serial comes
-- before the issuer so that a lookup by (incident_id, serial) still uses
-- the index.  The expression is cheap: the bulk 2020-style lists load
-- with an unknown issuer, whose key is the empty string.

ALTER TABLE certificate DROP CONSTRAINT certificate_incident_id_serial_key;
CREATE UNIQUE INDEX certificate_identity
	ON certificate (incident_id, serial, (coalesce(issuer_name, '')));

-- Replacements likewise (their issuer comes from the same places).
ALTER TABLE replacement ADD COLUMN issuer_name text;
ALTER TABLE replacement DROP CONSTRAINT replacement_incident_id_serial_key;
CREATE UNIQUE INDEX replacement_identity
	ON replacement (incident_id, serial, (coalesce(issuer_name, '')));

-- Existing list rows of an incident with exactly one issuer get it, as an
-- import does from now on.  Old rows were unique on the serial alone, so
-- this cannot collide.
UPDATE certificate c SET issuer_name = i.subject, issuer_id = i.id
FROM issuer i
WHERE i.incident_id = c.incident_id
AND c.issuer_name IS NULL AND c.issuer_id IS NULL
AND (SELECT count(*) FROM issuer j WHERE j.incident_id = c.incident_id) = 1;

-- The LE 2020 list's "missing CAA checking results for NAME at TIME": TIME
-- is when CAA was last checked, not the issuance.  It had been stored as
-- issued_at (and shown as the CCADB "Not before").  Existing rows carry no
-- format, so a row is taken for an le2020 one by what only that format
-- gives: a numeric account, names, a time and nothing else (no notAfter,
-- hash, issuer, subject or extra columns).  A csv that gave exactly those
-- columns is moved too; its issued_at is kept, as caa_checked_at, and the
-- appendix shows Not before as empty rather than risk a wrong value.
ALTER TABLE certificate ADD COLUMN caa_checked_at timestamptz;
UPDATE certificate SET caa_checked_at = issued_at, issued_at = NULL
WHERE issued_at IS NOT NULL AND not_after IS NULL AND sha256 IS NULL
AND issuer_name IS NULL AND subject IS NULL AND extra IS NULL
AND account ~ '^[0-9]+$' AND cardinality(names) > 0;

-- Is the served certificate (serial, issuer DN, authority key identifier,
-- SHA-256) this affected certificate?  NULL when not; else how it was
-- told:
--   sha256           the incident has the certificate's bytes and they are
--                    the served ones (a precertificate's bytes never are:
--                    its final certificate shares only issuer and serial)
--   issuer           same serial, and the same issuer by name (a known,
--                    different key identifier refutes it) or, where the
--                    name is unknown, by key identifier
--   incident-issuer  same serial; the certificate's issuer is unknown but
--                    the served issuer is one of the incident's issuers
--   serial           same serial; neither the certificate's issuer nor any
--                    issuer of the incident is known
CREATE FUNCTION certificate_served_match(c certificate, s_serial bytea,
					 s_issuer text, s_aki bytea,
					 s_sha256 bytea)
RETURNS text LANGUAGE sql STABLE AS $$
	WITH k AS (
		SELECT coalesce(c.issuer_name, i.subject) AS name,
		       coalesce(CASE WHEN c.extra->>'aki' ~ '^([0-9a-f]{2})+$'
		                     THEN decode(c.extra->>'aki', 'hex') END,
		                i.key_id) AS aki
		FROM (SELECT 1) one LEFT JOIN issuer i ON i.id = c.issuer_id
	)
	SELECT CASE
		WHEN c.sha256 IS NOT NULL AND NOT c.is_precert
		THEN CASE WHEN c.sha256 = s_sha256 THEN 'sha256' END
		WHEN c.serial IS DISTINCT FROM s_serial THEN NULL
		WHEN k.name IS NOT NULL OR k.aki IS NOT NULL
		THEN CASE WHEN (k.name = s_issuer
		                AND NOT coalesce(k.aki <> s_aki, false))
		               OR (k.name IS NULL AND k.aki = s_aki)
		          THEN 'issuer' END
		WHEN EXISTS (SELECT 1 FROM issuer j
		             WHERE j.incident_id = c.incident_id)
		THEN CASE WHEN EXISTS (SELECT 1 FROM issuer j
		                       WHERE j.incident_id = c.incident_id
		                       AND (j.subject = s_issuer
		                            OR j.key_id = s_aki))
		          THEN 'incident-issuer' END
		ELSE 'serial'
	END FROM k
$$;

-- The scan roll-ups: "deployed" when an observation served this very
-- certificate.  Observations keep the served serial, issuer name and
-- SHA-256, so the rule is certificate_served_match's without the key
-- identifier; an unknown issuer matches by serial (conservative: it
-- reads as deployed).
CREATE FUNCTION certificate_is_served(c_serial bytea, c_issuer text,
				      c_sha256 bytea, c_precert boolean,
				      o_serial bytea, o_issuer text,
				      o_sha256 bytea)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN c_sha256 IS NOT NULL AND NOT c_precert
	            THEN o_sha256 = c_sha256
	            ELSE o_serial = c_serial
	                 AND (c_issuer IS NULL OR o_issuer = c_issuer) END
$$;

CREATE FUNCTION certificate_scan_verdict_inline(cert_incident bigint,
						cert_serial bytea,
						cert_names text[],
						cert_issuer text,
						cert_sha256 bytea,
						cert_precert boolean)
RETURNS TABLE (verdict text) LANGUAGE sql STABLE AS $$
	SELECT CASE
		WHEN count(*) = 0 THEN 'not scanned'
		WHEN bool_or(certificate_is_served(cert_serial, cert_issuer,
		                                   cert_sha256, cert_precert,
		                                   o.served_serial,
		                                   o.served_issuer,
		                                   o.served_sha256))
		     THEN 'deployed'
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

-- The three-argument forms know no issuer: the serial alone decides.
CREATE OR REPLACE FUNCTION certificate_scan_verdict_inline(
	cert_incident bigint, cert_serial bytea, cert_names text[])
RETURNS TABLE (verdict text) LANGUAGE sql STABLE AS $$
	SELECT verdict FROM certificate_scan_verdict_inline(cert_incident,
		cert_serial, cert_names, NULL, NULL, false)
$$;

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
	SELECT c.id, CASE
		WHEN NOT bool_or(ts.scanned) THEN 'not scanned'
		WHEN bool_or(CASE
			WHEN c.sha256 IS NOT NULL AND NOT c.is_precert
			THEN c.sha256 = ANY (ts.served_sha256)
			WHEN c.issuer_name IS NULL
			THEN c.serial = ANY (ts.served)
			ELSE encode(c.serial, 'hex') || '/' || c.issuer_name
			     = ANY (ts.served_keys) END) THEN 'deployed'
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

-- A CRL fetch of the incident's only issuer covers the certificates whose
-- issuer is unknown, never one that names another issuer.
CREATE OR REPLACE VIEW crl_answer AS
	SELECT c.id AS certificate_id, f.id AS fetch_id, f.url, f.fetched_at,
	       f.this_update, f.next_update,
	       CASE WHEN e.certificate_id IS NULL THEN 'good' ELSE 'revoked'
	       END AS status,
	       e.revoked_at, e.reason
	FROM crl_fetch f
	JOIN certificate c ON c.incident_id = f.incident_id
		AND c.id <= f.last_certificate_id
		AND (c.issuer_id = f.issuer_id
		     OR (c.issuer_id IS NULL AND c.issuer_name IS NULL
		         AND f.covers_unlinked))
	LEFT JOIN crl_entry e ON e.fetch_id = f.id AND e.certificate_id = c.id
	WHERE f.verified AND (NOT f.partitioned OR e.certificate_id IS NOT NULL);
