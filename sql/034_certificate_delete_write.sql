-- 034_certificate_delete_write: the lists' existence check without a
-- probe per certificate, where planning's snapshot proves it.
--
-- 031 checks, per statement, that every certificate a new list names
-- exists: one primary-key descent per id.  At the 2020 list's size that
-- is 1.95 M probes in the planning slices, 35-55% of their time
-- (docs/notify.md, "The sixth round"), and it is there for one thing
-- certrecall itself never does: a certificate deleted (by an operator's
-- hand) while planning runs, after planning read it and before its list
-- is written.
--
-- Planning reads an incident's certificates after taking a snapshot,
-- and writes that snapshot with each list (032's listed_as_of: the ids
-- and their listing were read in a snapshot no older than it).  Every
-- transaction that deletes certificates is now recorded, once, as
-- revocation_write records those that write a revocation time.  A list
-- whose snapshot sees every such transaction names only certificates
-- that still exist: none was deleted since they were read.  Its ids are
-- not probed.  A list without a snapshot, or one some deletion is
-- missing from, is probed id by id as before.

CREATE TABLE certificate_delete_write (
	xact xid8 PRIMARY KEY
);

CREATE FUNCTION certificate_delete_written() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO certificate_delete_write (xact)
		VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
	RETURN NULL;
END $$;
CREATE TRIGGER certificate_delete_written
	AFTER DELETE ON certificate
	FOR EACH STATEMENT EXECUTE FUNCTION certificate_delete_written();
CREATE TRIGGER certificate_truncate_written
	AFTER TRUNCATE ON certificate
	FOR EACH STATEMENT EXECUTE FUNCTION certificate_delete_written();

-- Whether snapshot s sees every committed deletion of certificates: false
-- for no snapshot.  (An aborted deletion leaves no row here.)
CREATE FUNCTION certificates_kept_since(s pg_snapshot) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT s IS NOT NULL AND NOT EXISTS (SELECT 1
		FROM certificate_delete_write w
		WHERE w.xact >= pg_snapshot_xmin(s)
		AND NOT pg_visible_in_snapshot(w.xact, s))
$$;

CREATE OR REPLACE FUNCTION notice_certificate_set_inserted() RETURNS trigger
LANGUAGE plpgsql SET enable_hashjoin = off SET enable_mergejoin = off
AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM new_rows r
		   WHERE NOT EXISTS (SELECT 1 FROM notice n
				     WHERE n.id = r.notice_id)) THEN
		RAISE foreign_key_violation USING MESSAGE =
			'notice_certificate_set: a row names a notice that'
			' does not exist';
	END IF;
	IF EXISTS (SELECT 1 FROM (SELECT u.id FROM new_rows r
		   CROSS JOIN LATERAL unnest(r.certificate_ids) u (id)
		   WHERE NOT certificates_kept_since(r.listed_as_of)
		   ORDER BY 1) k
		   WHERE NOT EXISTS (SELECT 1 FROM certificate c
				     WHERE c.id = k.id)) THEN
		RAISE foreign_key_violation USING MESSAGE =
			'notice_certificate_set: a row names a certificate'
			' that does not exist';
	END IF;
	IF EXISTS (SELECT 1 FROM new_rows r
		   WHERE r.certificates > 1 AND r.certificates <>
			 (SELECT count(DISTINCT u) FROM
			  unnest(r.certificate_ids) u)) THEN
		RAISE unique_violation USING MESSAGE =
			'notice_certificate_set: a row names a certificate'
			' twice';
	END IF;
	RETURN NULL;
END $$;
