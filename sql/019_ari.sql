-- 019_ari: ACME Renewal Information (RFC 9773) names a certificate by its
-- certID, base64url(authorityKeyIdentifier keyIdentifier) "."
-- base64url(serial).  `certrecall serve` and `export-ari` look a
-- certificate up by that pair, so the key identifier of its issuer is kept
-- on the row and indexed with the serial.
--
-- certificate.aki is the keyIdentifier of the certificate's authority key
-- identifier: read from the certificate itself when it was imported as
-- PEM/DER (extra->>'aki', hex), else the subjectKeyIdentifier of its
-- linked issuer.  NULL when neither is known: such a certificate has no
-- certID (a list of bare serials names no key), and ARI answers 404.
-- Triggers keep it current when the importer inserts a row or `incident
-- add-issuer` links one, so no code path has to remember it.
ALTER TABLE certificate ADD COLUMN aki bytea;

CREATE FUNCTION certificate_aki_of(extra jsonb, issuer_id bigint)
RETURNS bytea LANGUAGE sql STABLE AS $$
	SELECT coalesce(CASE WHEN extra->>'aki' ~ '^([0-9a-f]{2})+$'
	                     THEN decode(extra->>'aki', 'hex') END,
	                (SELECT i.key_id FROM issuer i WHERE i.id = issuer_id))
$$;

CREATE FUNCTION certificate_aki_fill() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.aki := certificate_aki_of(NEW.extra, NEW.issuer_id);
	RETURN NEW;
END
$$;

-- WHEN keeps the bulk path cheap: a row of a bare list (no AKI in extra,
-- no issuer) never enters PL/pgSQL.
CREATE TRIGGER certificate_aki_insert
	BEFORE INSERT ON certificate
	FOR EACH ROW WHEN (NEW.extra ? 'aki' OR NEW.issuer_id IS NOT NULL)
	EXECUTE FUNCTION certificate_aki_fill();
CREATE TRIGGER certificate_aki_update
	BEFORE UPDATE OF extra, issuer_id ON certificate
	FOR EACH ROW WHEN (OLD.extra IS DISTINCT FROM NEW.extra
	                   OR OLD.issuer_id IS DISTINCT FROM NEW.issuer_id)
	EXECUTE FUNCTION certificate_aki_fill();

UPDATE certificate SET aki = certificate_aki_of(extra, issuer_id)
WHERE extra ? 'aki' OR issuer_id IS NOT NULL;

-- The certID lookup: (aki, serial) is exactly what a certID carries.
CREATE INDEX certificate_ari ON certificate (aki, serial)
	WHERE aki IS NOT NULL;
-- The self-check page's lookup by serial alone (a subscriber who types a
-- serial knows no key identifier); (incident_id, serial) does not serve
-- it across incidents.
CREATE INDEX certificate_serial ON certificate (serial);
