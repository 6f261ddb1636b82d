-- 026_incident_close: an incident ends.  Once its revocations are done and
-- its reports filed, `certrecall incident close SLUG [--reason TEXT]`
-- records when (certrecall_now(), the one clock) and why; `incident
-- reopen SLUG` clears both.  A closed incident no longer drives ACME
-- Renewal Information: `serve` and `export-ari` answer its certificates
-- as not known, so a finished incident stops telling clients to renew.
-- The row stays: an incident is a permanent record (001).
ALTER TABLE incident
	ADD COLUMN closed_at timestamptz,
	ADD COLUMN closed_reason text
		CHECK (closed_reason IS NULL OR closed_at IS NOT NULL);
