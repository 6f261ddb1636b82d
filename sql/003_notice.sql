-- 003_notice: what each notice covers, and what it said.
--
-- Planning a kind of notice writes one row per (notice, certificate) in a
-- single set-based pass, so sending looks certificates up by notice
-- through an index instead of scanning millions of rows per batch.

CREATE TABLE notice_certificate (
	notice_id      bigint NOT NULL REFERENCES notice ON DELETE CASCADE,
	certificate_id bigint NOT NULL REFERENCES certificate ON DELETE CASCADE,
	PRIMARY KEY (notice_id, certificate_id)
);

ALTER TABLE notice
	ADD COLUMN deadline_stated timestamptz, -- the MUST-by the message gave
	ADD COLUMN failed_at timestamptz,
	ADD COLUMN bytes integer CHECK (bytes >= 0);

-- The work still to do, and only that, in claiming order: a claim reads
-- the first rows of it instead of sorting every pending notice, and a
-- notice leaving it (sent, failed) costs no index entry here.
CREATE INDEX notice_due ON notice (incident_id, kind, id)
	WHERE state IN ('pending', 'retry', 'claimed');

-- The latest scan verdict of a certificate, rolled up from its names:
-- deployed when any name serves it, replaced when every scanned name
-- serves a replacement, "not scanned" before any probe, else unknown.
CREATE FUNCTION certificate_scan_verdict(cert_incident bigint,
					 cert_serial bytea,
					 cert_names text[])
RETURNS text LANGUAGE sql STABLE AS $$
	SELECT CASE
		WHEN count(o.verdict) = 0 THEN 'not scanned'
		WHEN bool_or(o.served_serial = cert_serial) THEN 'deployed'
		WHEN bool_and(o.verdict = 'serving-replacement') THEN 'replaced'
		ELSE 'unknown'
	END
	FROM scan_target t
	CROSS JOIN LATERAL (SELECT verdict, served_serial FROM observation
		WHERE target_id = t.id ORDER BY observed_at DESC LIMIT 1) o
	WHERE t.incident_id = cert_incident AND t.name = ANY (cert_names)
$$;
