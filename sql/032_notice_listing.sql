-- 032_notice_listing: what a notice says of its certificates, carried
-- with its list.
--
-- A message lists, per certificate, its account, serial, names, expiry
-- and revocation time.  Read from the certificate table, that is one
-- random heap page per certificate: an account's certificates are spread
-- over the whole table (it is in the list's order), and at the 2020
-- list's size the big notices' lists alone took 25-46 s of the
-- database's time in notify, 15-24 µs a certificate, growing with the
-- incident (docs/notify.md, "The fifth round").  Planning already reads
-- the incident's certificates once, in the table's order, grouped per
-- account; it now keeps those fields too, and each list carries them:
-- `listing`, five elements per certificate (account, serial as hex,
-- names joined by spaces, expiry and revocation time as epoch seconds or
-- NULL), in no particular order (the sender sorts), read as one value.
--
-- Expiry, serial, names and account never change once imported; the
-- revocation time does.  `listed_as_of` is the snapshot planning read
-- them in, and every statement that writes certificate.revoked_at
-- records its transaction in revocation_write.  A listing is used only
-- while no such transaction is missing from its snapshot (committed
-- since, or running then); otherwise the sender reads the certificates
-- themselves, as it did before, and so it does whenever the incident has
-- a scan round (the scan verdict is not carried).

ALTER TABLE notice_certificate_set
	ADD COLUMN listing text[],
	ADD COLUMN listed_as_of pg_snapshot,
	ADD CHECK (listing IS NULL OR
		   (cardinality(listing) = 5 * certificates AND
		    listed_as_of IS NOT NULL));
-- Out of line but not compressed: at 3 M certificates compressing them
-- took as long as building them (pglz, 4 s of 10 s for planning's
-- per-account copy) to save 200 MB.
ALTER TABLE notice_certificate_set ALTER listing SET STORAGE EXTERNAL;

-- The transactions that wrote a revocation time: one row each, however
-- many statements and rows (a CRL of a million entries is a few rows).
CREATE TABLE revocation_write (
	xact xid8 PRIMARY KEY
);

CREATE FUNCTION certificate_revocation_written() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO revocation_write (xact) VALUES (pg_current_xact_id())
		ON CONFLICT DO NOTHING;
	RETURN NULL;
END $$;
-- Per statement, whatever it changed: a statement naming the column
-- counts even if no value moved (the safe side: the certificates are
-- then read).
CREATE TRIGGER certificate_revocation_written
	AFTER UPDATE OF revoked_at ON certificate
	FOR EACH STATEMENT EXECUTE FUNCTION certificate_revocation_written();

-- Whether a listing taken in snapshot s still says what the
-- certificates say: no revocation written by a transaction s did not
-- see.  Inlined by the planner (one expression, no FROM).
CREATE FUNCTION notice_listing_fresh(s pg_snapshot) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM revocation_write w
		WHERE w.xact >= pg_snapshot_xmin(s)
		AND NOT pg_visible_in_snapshot(w.xact, s))
$$;

-- A list whose certificates change (a deleted certificate leaves the
-- lists that named it: 031's cascade) loses its listing: it is read from
-- the certificates again.  After notice_certificate_set_fixed, which
-- lets only such a cascade through (triggers fire in name order).
CREATE FUNCTION notice_certificate_set_relisted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.certificate_ids IS DISTINCT FROM OLD.certificate_ids THEN
		NEW.listing := NULL;
		NEW.listed_as_of := NULL;
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER notice_certificate_set_relisted
	BEFORE UPDATE ON notice_certificate_set
	FOR EACH ROW EXECUTE FUNCTION notice_certificate_set_relisted();
