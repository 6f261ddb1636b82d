-- 031_notice_certificate_set: a notice's certificates as one row.
--
-- Planning wrote one notice_certificate row per (notice, certificate):
-- at the 2020 list's size, 1,950,319 rows, their primary-key entries and
-- 285 MB of WAL, 7.6 s of one 85,627-notice slice alone, and the check
-- of each link another 1.8 s per 700,000 links; the planning slices were
-- most of `notify`'s time at 3 M certificates and grew faster than the
-- incident (docs/notify.md, "At scale").  A notice's certificates are
-- now one row: its id and the ids of the certificates it lists, as an
-- array (stored out of line when large, so a claim that asks only how
-- many reads `certificates`, not the list).  The view notice_certificate
-- keeps the old shape for reading: one row per (notice, certificate).

CREATE TABLE notice_certificate_set (
	notice_id       bigint PRIMARY KEY,
	certificate_ids bigint[] NOT NULL,
	certificates    integer NOT NULL,
	CHECK (certificates = cardinality(certificate_ids)),
	CHECK (certificates > 0),
	CHECK (array_position(certificate_ids, NULL) IS NULL)
);

INSERT INTO notice_certificate_set (notice_id, certificate_ids, certificates)
	SELECT notice_id, array_agg(certificate_id ORDER BY certificate_id),
	       count(*)
	FROM notice_certificate GROUP BY notice_id;

DROP TABLE notice_certificate;
DROP FUNCTION notice_certificate_inserted();

CREATE VIEW notice_certificate AS
	SELECT s.notice_id, u.certificate_id
	FROM notice_certificate_set s
	CROSS JOIN LATERAL unnest(s.certificate_ids) AS u (certificate_id);

-- The foreign keys and the primary key of the old table, checked once
-- per statement over the rows it inserted: every notice and every
-- certificate named exists, and no array names a certificate twice.
-- The certificates are probed one by one through the primary key, in
-- id order (nested loops only): the cost follows the rows inserted,
-- where a merge or hash join would read the whole certificate table's
-- index; in order, the probes walk the index instead of jumping (1.3 µs
-- a certificate against 2.1 µs at 3 M).
CREATE FUNCTION notice_certificate_set_inserted() RETURNS trigger
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
CREATE TRIGGER notice_certificate_set_inserted
	AFTER INSERT ON notice_certificate_set
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION notice_certificate_set_inserted();

-- The list does not change once written, except by the cascade below.
CREATE FUNCTION notice_certificate_set_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF pg_trigger_depth() > 1 THEN
		RETURN NEW;
	END IF;
	RAISE feature_not_supported USING MESSAGE =
		'notice_certificate_set: a notice''s certificates do not change';
END $$;
CREATE TRIGGER notice_certificate_set_fixed
	BEFORE UPDATE ON notice_certificate_set
	FOR EACH ROW EXECUTE FUNCTION notice_certificate_set_fixed();

-- ON DELETE CASCADE, per statement: 016's triggers, with new bodies.
CREATE OR REPLACE FUNCTION notice_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM notice_certificate_set s USING old_rows o
		WHERE s.notice_id = o.id;
	DELETE FROM notice_queue q USING old_rows o WHERE q.notice_id = o.id;
	RETURN NULL;
END $$;

-- A deleted certificate leaves the lists that named it; a list left
-- empty goes with it.  Nothing in certrecall deletes certificates: this
-- is for an operator's hand, and reads every list once.
CREATE OR REPLACE FUNCTION certificate_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	gone bigint[] := (SELECT array_agg(id) FROM old_rows);
BEGIN
	UPDATE notice_certificate_set s
		SET certificate_ids = k.ids, certificates = cardinality(k.ids)
		FROM (SELECT x.notice_id, ARRAY(SELECT u FROM
			unnest(x.certificate_ids) u
			WHERE u <> ALL (gone)) AS ids
		      FROM notice_certificate_set x
		      WHERE x.certificate_ids && gone) k
		WHERE s.notice_id = k.notice_id AND cardinality(k.ids) > 0;
	DELETE FROM notice_certificate_set s
		WHERE s.certificate_ids <@ gone;
	RETURN NULL;
END $$;
