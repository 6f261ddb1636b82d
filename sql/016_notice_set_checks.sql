-- 016_notice_set_checks: planning without a trigger call per row.
--
-- Planning writes a notice's queue row and one notice_certificate row per
-- certificate in one statement per slice (3 M rows for the 2020 list).
-- Their foreign keys checked each row on its own, and each check locked
-- the certificate or notice it named (FOR KEY SHARE): 38% of the
-- backend's time in `notify --plan` at 3 M certificates went to these
-- per-row triggers, and every locked certificate page was written again.
-- The same guarantees, checked once per statement over the rows it
-- inserted (a transition table), and the ON DELETE CASCADE kept as a
-- per-statement delete.  Nothing in certrecall deletes notices or
-- certificates; the cascade is for an operator's hand.

ALTER TABLE notice_certificate
	DROP CONSTRAINT notice_certificate_notice_id_fkey,
	DROP CONSTRAINT notice_certificate_certificate_id_fkey;
ALTER TABLE notice_queue DROP CONSTRAINT notice_queue_notice_id_fkey;

CREATE FUNCTION notice_certificate_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM new_rows r
		   WHERE NOT EXISTS (SELECT 1 FROM notice n
				     WHERE n.id = r.notice_id)
		      OR NOT EXISTS (SELECT 1 FROM certificate c
				     WHERE c.id = r.certificate_id)) THEN
		RAISE foreign_key_violation USING MESSAGE =
			'notice_certificate: a row names a notice or a'
			' certificate that does not exist';
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER notice_certificate_inserted AFTER INSERT ON notice_certificate
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION notice_certificate_inserted();

CREATE FUNCTION notice_queue_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM new_rows r
		   WHERE NOT EXISTS (SELECT 1 FROM notice n
				     WHERE n.id = r.notice_id)) THEN
		RAISE foreign_key_violation USING MESSAGE =
			'notice_queue: a row names a notice that does not exist';
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER notice_queue_inserted AFTER INSERT ON notice_queue
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION notice_queue_inserted();

-- An UPDATE of the keys would bypass the checks above: none is allowed.
CREATE FUNCTION notice_link_keys_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE feature_not_supported USING MESSAGE =
		TG_TABLE_NAME || ': its notice and certificate ids do not change';
END $$;
CREATE TRIGGER notice_certificate_keys_fixed
	BEFORE UPDATE OF notice_id, certificate_id ON notice_certificate
	FOR EACH ROW EXECUTE FUNCTION notice_link_keys_fixed();
CREATE TRIGGER notice_queue_keys_fixed
	BEFORE UPDATE OF notice_id ON notice_queue
	FOR EACH ROW WHEN (OLD.notice_id IS DISTINCT FROM NEW.notice_id)
	EXECUTE FUNCTION notice_link_keys_fixed();

-- ON DELETE CASCADE, per statement.
CREATE FUNCTION notice_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM notice_certificate nc USING old_rows o
		WHERE nc.notice_id = o.id;
	DELETE FROM notice_queue q USING old_rows o WHERE q.notice_id = o.id;
	RETURN NULL;
END $$;
CREATE TRIGGER notice_deleted AFTER DELETE ON notice
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION notice_deleted();

CREATE FUNCTION certificate_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM notice_certificate nc USING old_rows o
		WHERE nc.certificate_id = o.id;
	RETURN NULL;
END $$;
CREATE TRIGGER certificate_deleted AFTER DELETE ON certificate
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION certificate_deleted();

-- The accounts of an incident, for planning and for the forecast
-- (`notify --plan` counts addresses per kind from them).
CREATE INDEX certificate_account ON certificate (incident_id, account)
	WHERE account IS NOT NULL;
