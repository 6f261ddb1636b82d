-- 002_replacement: certificates issued to replace affected ones.
--
-- A certificate counts as replaced when a newer certificate with exactly
-- the same set of names was issued, whichever account asked for it (the
-- rule the 2020 CA used).  Names are stored normalised, sorted and
-- without duplicates in both tables, so "same set" is array equality.

CREATE TABLE replacement (
	id          bigserial PRIMARY KEY,
	incident_id bigint NOT NULL REFERENCES incident ON DELETE CASCADE,
	serial      bytea NOT NULL
	            CHECK (octet_length(serial) BETWEEN 1 AND 20
	                   AND get_byte(serial, 0) <> 0),
	account     text,
	issued_at   timestamptz,
	not_after   timestamptz,
	names       text[] NOT NULL CHECK (cardinality(names) > 0),
	sha256      bytea CHECK (octet_length(sha256) = 32),
	source      text NOT NULL,
	source_line bigint NOT NULL CHECK (source_line > 0),
	imported_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (incident_id, serial)
);
CREATE INDEX replacement_names ON replacement (incident_id, names);
