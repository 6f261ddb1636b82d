-- 039_notice_incident_check: a notice's incident, checked once per
-- statement instead of once per row.
--
-- Planning inserts notices 10,000 to a statement, and the foreign key to
-- incident checked (and locked) the incident once per row: 3-4 us a
-- notice (EXPLAIN ANALYZE of a 20,000-address slice at the 2020 list's
-- size: 70-90 ms of it), about 0.5 s of PostgreSQL's CPU for 130,627
-- notices (docs/notify.md, "The eighth round").  An incident is never
-- deleted (001: incident_is_permanent), so neither the key's lock nor
-- its cascade has anything to guard; what is left is the check that the
-- incident exists, now once per statement over the incidents the
-- inserted rows name (016's way), with a notice's incident and an
-- incident's id fixed once written.

ALTER TABLE notice DROP CONSTRAINT notice_incident_id_fkey;

CREATE FUNCTION notice_incident_checked() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM (SELECT DISTINCT incident_id FROM new_rows) r
		   WHERE NOT EXISTS (SELECT 1 FROM incident i
				     WHERE i.id = r.incident_id)) THEN
		RAISE foreign_key_violation USING MESSAGE =
			'notice: a row names an incident that does not exist';
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER notice_incident_checked AFTER INSERT ON notice
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION notice_incident_checked();

CREATE FUNCTION incident_key_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE feature_not_supported USING MESSAGE =
		TG_TABLE_NAME || ': its incident id does not change';
END $$;
CREATE TRIGGER notice_incident_fixed
	BEFORE UPDATE OF incident_id ON notice
	FOR EACH ROW WHEN (OLD.incident_id IS DISTINCT FROM NEW.incident_id)
	EXECUTE FUNCTION incident_key_fixed();
CREATE TRIGGER incident_id_fixed
	BEFORE UPDATE OF id ON incident
	FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
	EXECUTE FUNCTION incident_key_fixed();
