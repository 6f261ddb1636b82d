-- 006_crl: CRL answers stored per fetch, not per certificate.
--
-- A verified, current CRL answers for every certificate of its issuer: a
-- listed serial is revoked, any other is good.  Writing that as one
-- revocation_evidence row per certificate cost millions of rows (and as
-- many foreign-key checks) per fetch.  Here a fetch is one crl_fetch row
-- and one crl_entry row per affected certificate it lists; "good" is
-- implicit: a certificate a verified fetch covers and does not list.
--
-- Coverage: a fetch covers the certificates of its issuer (and, when it
-- was the incident's only issuer, those imported without one) whose id is
-- at most last_certificate_id: the certificates that existed when the CRL
-- was matched, under a SHARE lock on certificate so that none was being
-- inserted.  A partitioned CRL (issuingDistributionPoint) covers only
-- what it lists.  The same CRL fetched again (same issuer, same bytes)
-- refreshes its fetch and matches only the certificates added since, so
-- `revcheck --watch` stores each CRL the CA publishes once.

CREATE TABLE crl_fetch (
	id                  bigserial PRIMARY KEY,
	incident_id         bigint NOT NULL REFERENCES incident,
	issuer_id           bigint NOT NULL REFERENCES issuer ON DELETE CASCADE,
	url                 text NOT NULL,
	fetched_at          timestamptz NOT NULL DEFAULT now(), -- latest
	-- false: the download or the CRL failed (error_detail says why); such
	-- a fetch answers for no certificate
	verified            boolean NOT NULL,
	error_detail        text,
	sha256              bytea CHECK (octet_length(sha256) = 32),
	this_update         timestamptz,
	next_update         timestamptz,
	partitioned         boolean NOT NULL DEFAULT false,
	entries             bigint CHECK (entries >= 0),  -- revoked serials
	skipped             bigint CHECK (skipped >= 0),  -- negative, too long
	covers_unlinked     boolean NOT NULL DEFAULT false,
	last_certificate_id bigint,
	certificates        bigint CHECK (certificates >= 0), -- covered
	listed              bigint CHECK (listed >= 0),  -- crl_entry rows
	-- its entries are in the certificates' revocation state (see
	-- revocation_derive): each fetch is applied once
	derived             boolean NOT NULL DEFAULT false,
	CHECK (verified = (error_detail IS NULL)),
	CHECK (NOT verified OR (this_update IS NOT NULL
	                        AND next_update IS NOT NULL
	                        AND last_certificate_id IS NOT NULL
	                        AND sha256 IS NOT NULL))
);
CREATE INDEX crl_fetch_incident ON crl_fetch (incident_id, issuer_id, fetched_at);

-- The affected certificates a fetch lists.  No foreign keys: a check per
-- row tripled the cost of loading a million entries, the rows come from
-- a join with certificate in the same transaction, and neither incidents
-- nor fetches are deleted.
CREATE TABLE crl_entry (
	fetch_id       bigint NOT NULL,
	certificate_id bigint NOT NULL,
	revoked_at     timestamptz NOT NULL,
	reason         smallint CHECK (reason BETWEEN 0 AND 10),
	PRIMARY KEY (fetch_id, certificate_id)
);

-- Every answer of every verified fetch for every certificate it covers,
-- one row each: revoked (with the entry's date and reason) or good.  The
-- CRL's answer for a certificate is its latest row (fetched_at, fetch_id).
-- Filter it by certificate_id; the whole view is certificates x fetches.
CREATE VIEW crl_answer AS
	SELECT c.id AS certificate_id, f.id AS fetch_id, f.url, f.fetched_at,
	       f.this_update, f.next_update,
	       CASE WHEN e.certificate_id IS NULL THEN 'good' ELSE 'revoked'
	       END AS status,
	       e.revoked_at, e.reason
	FROM crl_fetch f
	JOIN certificate c ON c.incident_id = f.incident_id
		AND c.id <= f.last_certificate_id
		AND (c.issuer_id = f.issuer_id
		     OR (c.issuer_id IS NULL AND f.covers_unlinked))
	LEFT JOIN crl_entry e ON e.fetch_id = f.id AND e.certificate_id = c.id
	WHERE f.verified AND (NOT f.partitioned OR e.certificate_id IS NOT NULL);

-- Deriving the revocation state rewrites a certificate row per revoked
-- certificate, a million at a time.  With room left on each page the new
-- version stays on it (a HOT update: no new index entries), about three
-- times cheaper; 005 does the same for notices.  Applies to pages written
-- from now on (VACUUM FULL certificate rewrites the existing ones).
ALTER TABLE certificate SET (fillfactor = 70);
