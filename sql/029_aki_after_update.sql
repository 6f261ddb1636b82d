-- 029_aki_after_update: certificate.aki (019) kept current by an AFTER
-- row trigger instead of a BEFORE one.
--
-- Any BEFORE UPDATE row trigger on a table makes PostgreSQL lock each row
-- an UPDATE touches before the trigger's column list or WHEN is even
-- looked at (the executor fetches the row "for the trigger" with a tuple
-- lock): one more WAL record and one more change of the page per row, for
-- every update of any column.  Deriving a 1,000,000-entry CRL into the
-- certificates' revocation state paid 1,000,000 such locks (2,000,001
-- WAL records, 155 MB; 1,000,001 and 105 MB without the trigger;
-- docs/revcheck.md).  An AFTER row trigger's column list and WHEN are
-- checked as the update happens, with no lock, so an UPDATE that sets
-- neither extra nor issuer_id costs nothing here.
--
-- The new trigger fires only for a row whose aki is not what
-- certificate_aki_of says, and then sets it with a second update of the
-- row (one that sets neither column, so it does not fire again).
-- `incident add-issuer` sets aki itself in the statement that links the
-- certificates, so it queues nothing; an issuer deleted (issuer_id set
-- to NULL by the foreign key) still clears the key identifier it gave.
DROP TRIGGER certificate_aki_update ON certificate;

CREATE FUNCTION certificate_aki_refill() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE certificate SET aki = certificate_aki_of(NEW.extra, NEW.issuer_id)
	WHERE id = NEW.id;
	RETURN NULL;
END
$$;

CREATE TRIGGER certificate_aki_update
	AFTER UPDATE OF extra, issuer_id ON certificate
	FOR EACH ROW
	WHEN (NEW.aki IS DISTINCT FROM certificate_aki_of(NEW.extra, NEW.issuer_id))
	EXECUTE FUNCTION certificate_aki_refill();
