-- 004_scan: probe rounds, the scan work queue, and the per-certificate
-- roll-up of the latest probes.
--
-- A target is probed in rounds: claiming it starts round N+1, and every
-- observation of that probe (one per address the name resolved to)
-- carries N+1.  "The latest scan" of a name is its latest complete round.

ALTER TABLE scan_target ADD COLUMN round integer NOT NULL DEFAULT 0;
ALTER TABLE observation ADD COLUMN round integer NOT NULL DEFAULT 0;

CREATE INDEX scan_target_due ON scan_target (incident_id, id)
	WHERE probeable AND state IN ('pending', 'claimed');
CREATE INDEX scan_target_name ON scan_target (incident_id, name);
CREATE INDEX observation_round ON observation (target_id, round);

-- Per certificate, from its names' latest rounds: deployed when any
-- address of any name serves it; replaced when every probeable name has
-- been scanned and every address serves a replacement; "not scanned"
-- before any probe; unknown otherwise.  A timeout or error is never
-- "not deployed".
CREATE OR REPLACE FUNCTION certificate_scan_verdict(cert_incident bigint,
						    cert_serial bytea,
						    cert_names text[])
RETURNS text LANGUAGE sql STABLE AS $$
	WITH t AS (
		SELECT id, name, round FROM scan_target
		WHERE incident_id = cert_incident AND name = ANY (cert_names)
		AND probeable
	), latest AS (
		SELECT t.name, o.verdict, o.served_serial
		FROM t JOIN observation o
		ON o.target_id = t.id AND o.round = t.round
		WHERE t.round > 0
	)
	SELECT CASE
		WHEN count(*) = 0 THEN 'not scanned'
		WHEN bool_or(served_serial = cert_serial) THEN 'deployed'
		WHEN bool_and(verdict = 'serving-replacement')
		     AND count(DISTINCT name) = (SELECT count(*) FROM t)
		     THEN 'replaced'
		ELSE 'unknown'
	END FROM latest
$$;
