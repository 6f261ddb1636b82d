-- 037_account_holding: each account's certificates, grouped once per
-- incident, and the listings the initial notices read from there.
--
-- Planning the initial notices began by reading every certificate of
-- the incident, grouped per account (notice_store.c's plan_acct): at the
-- 2020 list's size 4.6-5 s before the first message could go, with one
-- of the two cores idle.  Then every slice copied each account's listing
-- into its notices' lists: 300 MB and 38 MB of WAL per 10,000 addresses,
-- half of a slice's time (docs/notify.md, "The eighth round").
--
-- The initial notices list every certificate of an account (no rule
-- leaves one out), so that grouping depends only on the certificates:
-- it is now made once, when the certificates arrive (the first import
-- into an incident), or by the first planning that finds none fresh.
-- The notices' lists keep their certificate ids (the record of what
-- each message listed), but not a copy of the listing: `holding` names
-- the grouping their ids came from, and the sender reads the listing of
-- the notice's accounts there.
--
-- The grouping is a cache, never the record: unlogged (no WAL; a crash
-- empties it, and the next planning makes it again), and used only
-- while it says what the certificates say.  `as_of` is the snapshot it
-- was read in: a revocation or a deletion committed since (032's
-- revocation_write, 034's certificate_delete_write) makes it stale, and
-- a later import into the incident drops it.  A list whose grouping is
-- gone or stale is read from the certificates, as before.

CREATE UNLOGGED TABLE account_holding (
	incident_id bigint NOT NULL,
	account     text NOT NULL,
	ids         bigint[] NOT NULL,
	listing     text[] NOT NULL,   -- 032's five fields a certificate
	PRIMARY KEY (incident_id, account)
);
-- Out of line, not compressed, no statistics (032, 035).
ALTER TABLE account_holding
	ALTER ids SET STORAGE EXTERNAL, ALTER listing SET STORAGE EXTERNAL,
	ALTER ids SET STATISTICS 0, ALTER listing SET STATISTICS 0;

-- One row per incident whose grouping is complete: made in the same
-- transaction as its rows; its rows go with it (and it with the
-- incident).  The rows have no key of their own to the incident: a
-- check per row was 3 us of 149,513 (0.45 s) at the 2020 list's size.
CREATE UNLOGGED TABLE account_holding_built (
	incident_id bigint PRIMARY KEY REFERENCES incident ON DELETE CASCADE,
	generation  bigint NOT NULL,
	as_of       pg_snapshot NOT NULL
);
CREATE SEQUENCE account_holding_generation;

CREATE FUNCTION account_holding_built_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM account_holding h USING old_rows o
		WHERE h.incident_id = o.incident_id;
	RETURN NULL;
END $$;
CREATE TRIGGER account_holding_built_deleted
	AFTER DELETE ON account_holding_built
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION account_holding_built_deleted();

-- A list whose ids came from grouping `holding`; its listed_as_of is
-- that grouping's as_of.  (A list keeps either a listing or a holding.)
-- Its ids out of line but not compressed: pglz tried every large array
-- of them (a 20,000-address slice at 3 M: 0.91 s, 0.77 s without), to
-- save a few MB.
ALTER TABLE notice_certificate_set
	ADD COLUMN holding bigint,
	ADD CHECK (holding IS NULL OR
		   (listing IS NULL AND listed_as_of IS NOT NULL)),
	ALTER certificate_ids SET STORAGE EXTERNAL;

-- What a message says of one certificate (032's listing, five fields).
-- STABLE, not IMMUTABLE (extract() of a timestamptz is STABLE), so that
-- the planner inlines it.
CREATE FUNCTION certificate_listed(account text, serial bytea,
	names text[], not_after timestamptz, revoked_at timestamptz)
RETURNS text[] LANGUAGE sql STABLE AS $$
	SELECT ARRAY[account, encode(serial, 'hex'),
		array_to_string(names, ' '),
		extract(epoch FROM not_after)::bigint::text,
		extract(epoch FROM revoked_at)::bigint::text]
$$;

-- Imports of an incident take turns (importer_merge.c), and a grouping
-- waits for them: pg_advisory_xact_lock(class, key), the class "cImp" in
-- ASCII, the key the incident id folded into 31 bits (two incidents that
-- share a key only take turns too).  The two-key form never meets db.c's
-- one-key migration lock.
CREATE FUNCTION incident_import_lock(incident bigint) RETURNS void
LANGUAGE sql AS $$
	SELECT pg_advisory_xact_lock(1665756528,
				     (incident % 2147483647)::integer)
$$;

-- The incident's grouping, made anew.  The snapshot is taken before the
-- certificates are read: a revocation committed in between then counts
-- as unseen (the safe side).  In the table's order, not through the
-- account index (one random heap page per certificate).  The caller
-- holds incident_import_lock(), so that no import and no other grouping
-- runs meanwhile.  Returns the generation.
CREATE FUNCTION account_holding_build(incident bigint) RETURNS bigint
LANGUAGE plpgsql SET enable_indexscan = off SET enable_bitmapscan = off
SET jit = off AS $$
DECLARE
	g bigint := nextval('account_holding_generation');
	s pg_snapshot := pg_current_snapshot();
BEGIN
	-- its rows go with it (account_holding_built_deleted), and rows a
	-- TRUNCATE of account_holding_built left (no DELETE trigger fires)
	DELETE FROM account_holding_built WHERE incident_id = incident;
	DELETE FROM account_holding WHERE incident_id = incident;
	PERFORM set_config('certrecall.grouping', 'build', true);
	INSERT INTO account_holding (incident_id, account, ids, listing)
		SELECT incident, account, array_agg(id),
		       array_agg(certificate_listed(account, serial, names,
						    not_after, revoked_at))
		FROM certificate
		WHERE incident_id = incident AND account IS NOT NULL
		GROUP BY account;
	PERFORM set_config('certrecall.grouping', '', true);
	INSERT INTO account_holding_built (incident_id, generation, as_of)
		VALUES (incident, g, s);
	RETURN g;
END $$;

-- The generation of the incident's grouping while it says what the
-- certificates say, else NULL.  Asked once per statement (the claim's
-- $1): an SQL function with a subquery is not inlined, and one call per
-- notice was most of a claim's time.
CREATE FUNCTION account_holding_current(incident bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
	SELECT b.generation FROM account_holding_built b
	WHERE b.incident_id = incident AND notice_listing_fresh(b.as_of)
	AND certificates_kept_since(b.as_of)
$$;

-- A list whose certificates change (a deleted certificate: 031's
-- cascade) loses its listing and its grouping.
CREATE OR REPLACE FUNCTION notice_certificate_set_relisted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.certificate_ids IS DISTINCT FROM OLD.certificate_ids THEN
		NEW.listing := NULL;
		NEW.listed_as_of := NULL;
		NEW.holding := NULL;
	END IF;
	RETURN NEW;
END $$;

-- Only account_holding_build() writes a grouping's rows: so each
-- certificate is in one row once (grouped per account over the
-- certificate rows, and a certificate has one account), which the
-- lists' check of their ids relies on (below).
CREATE FUNCTION account_holding_written() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF current_setting('certrecall.grouping', true)
	   IS DISTINCT FROM 'build' THEN
		RAISE feature_not_supported USING MESSAGE =
			'account_holding: only account_holding_build()'
			' writes a grouping';
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER account_holding_written
	BEFORE INSERT OR UPDATE ON account_holding
	FOR EACH STATEMENT EXECUTE FUNCTION account_holding_written();

-- The incident's grouping, made unless one is there and fresh; its
-- generation.  Under the import lock, until the caller's transaction
-- ends: the caller copies what it needs of the grouping first.
CREATE FUNCTION account_holding_ready(incident bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	g bigint;
BEGIN
	PERFORM incident_import_lock(incident);
	g := account_holding_current(incident);
	RETURN coalesce(g, account_holding_build(incident));
END $$;

-- The lists' check (031, 034) without its count of distinct ids where a
-- grouping names them: planning took them from one grouping, whose
-- accounts' ids are distinct and disjoint (account_holding_written()).
-- That count sorted every list's ids: a fifth of a planning slice's
-- time at the 2020 list's size (docs/notify.md, "The eighth round").
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
		   WHERE r.certificates > 1 AND r.holding IS NULL
		   AND r.certificates <> (SELECT count(DISTINCT u) FROM
					  unnest(r.certificate_ids) u)) THEN
		RAISE unique_violation USING MESSAGE =
			'notice_certificate_set: a row names a certificate'
			' twice';
	END IF;
	RETURN NULL;
END $$;
