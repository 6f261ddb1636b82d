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
	DELETE FROM account_holding_built WHERE incident_id = incident;
	-- its rows go with it (the trigger); none should be left without
	DELETE FROM account_holding WHERE incident_id = incident;
	INSERT INTO account_holding (incident_id, account, ids, listing)
		SELECT incident, account, array_agg(id),
		       array_agg(certificate_listed(account, serial, names,
						    not_after, revoked_at))
		FROM certificate
		WHERE incident_id = incident AND account IS NOT NULL
		GROUP BY account;
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
