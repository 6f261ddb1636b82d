-- 001_schema: the data model of DESIGN.md.
--
-- Conventions: every clock is timestamptz and NOT NULL where the row
-- cannot exist without it; state columns carry CHECK constraints with
-- their full vocabulary; serials are canonical bytes (leading zero bytes
-- stripped, 1..20 octets, RFC 5280 4.1.2.2).

CREATE TABLE incident (
	id              bigserial PRIMARY KEY,
	slug            text NOT NULL UNIQUE
	                CHECK (slug ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
	title           text NOT NULL,
	-- the rule as given by the operator, e.g. 'v1.6.7:5d-7', 'br-12'
	reason          text NOT NULL CHECK (reason <> ''),
	aware_at        timestamptz NOT NULL,
	cpr_received_at timestamptz,    -- BR 4.9.5 problem report received
	disclosed_at    timestamptz,    -- first public disclosure
	-- when each report was actually made (marks its clock met)
	cpr_answered_at timestamptz,    -- BR 4.9.5 preliminary report sent
	first_report_at timestamptz,    -- CCADB preliminary/full report posted
	full_report_at  timestamptz,    -- CCADB full report posted
	last_update_at  timestamptz,    -- latest delayed-revocation update
	created_at      timestamptz NOT NULL DEFAULT now(),
	updated_at      timestamptz NOT NULL DEFAULT now()
);

-- An incident is a compliance record: it is never deleted.
CREATE FUNCTION incident_is_permanent() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'incidents are permanent records (% refused)', TG_OP;
END
$$;
CREATE TRIGGER incident_no_delete
	BEFORE DELETE ON incident
	FOR EACH ROW EXECUTE FUNCTION incident_is_permanent();
CREATE TRIGGER incident_no_truncate
	BEFORE TRUNCATE ON incident
	FOR EACH STATEMENT EXECUTE FUNCTION incident_is_permanent();

-- Accounts as the CA knows them, shared by every incident.
CREATE TABLE subscriber (
	account    text PRIMARY KEY CHECK (account <> ''),
	emails     text[] NOT NULL DEFAULT '{}',
	updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE issuer (
	id          bigserial PRIMARY KEY,
	incident_id bigint NOT NULL REFERENCES incident ON DELETE CASCADE,
	subject     text NOT NULL,
	key_id      bytea,        -- subjectKeyIdentifier
	name_hash   bytea,        -- SHA-1 of the subject, for OCSP CertID
	key_hash    bytea,        -- SHA-1 of the public key, for OCSP CertID
	pem         text NOT NULL,
	ocsp_urls   text[] NOT NULL DEFAULT '{}',
	crl_urls    text[] NOT NULL DEFAULT '{}',
	added_at    timestamptz NOT NULL DEFAULT now(),
	UNIQUE (incident_id, subject, key_id)
);

-- The bulk table: millions of rows per incident arrive by COPY.  Its
-- incident_id has no foreign key: a per-row check costs as much as the
-- rest of the load, and incidents are permanent (see the trigger on
-- incident below), so the reference cannot dangle.
CREATE TABLE certificate (
	id                bigserial PRIMARY KEY,
	incident_id       bigint NOT NULL,
	serial            bytea NOT NULL
	                  CHECK (octet_length(serial) BETWEEN 1 AND 20
	                         AND get_byte(serial, 0) <> 0),
	-- No foreign key to subscriber: the importer creates a subscriber
	-- row for every account in the same transaction, and a per-row
	-- check would double the cost of loading millions of rows.
	account           text,
	issued_at         timestamptz,
	not_after         timestamptz,
	issuer_id         bigint REFERENCES issuer ON DELETE SET NULL,
	issuer_name       text,
	subject           text,
	sha256            bytea CHECK (octet_length(sha256) = 32),
	is_precert        boolean NOT NULL DEFAULT false,
	names             text[] NOT NULL DEFAULT '{}',
	source            text NOT NULL,
	source_line       bigint NOT NULL CHECK (source_line > 0),
	extra             jsonb,
	revocation_state  text NOT NULL DEFAULT 'unknown'
	                  CHECK (revocation_state IN
	                         ('unknown', 'good', 'revoked')),
	revoked_at        timestamptz,
	revocation_reason smallint CHECK (revocation_reason BETWEEN 0 AND 10),
	replaced_by       bytea,
	imported_at       timestamptz NOT NULL DEFAULT now(),
	UNIQUE (incident_id, serial),
	CHECK ((revocation_state = 'revoked') = (revoked_at IS NOT NULL)),
	CHECK (not_after IS NULL OR issued_at IS NULL OR not_after > issued_at)
);

-- One probe per distinct (name, port) of an incident.
CREATE TABLE scan_target (
	id               bigserial PRIMARY KEY,
	incident_id      bigint NOT NULL REFERENCES incident ON DELETE CASCADE,
	name             text NOT NULL CHECK (name <> ''),
	port             integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
	probeable        boolean NOT NULL DEFAULT true,
	state            text NOT NULL DEFAULT 'pending'
	                 CHECK (state IN ('pending', 'claimed', 'done')),
	lease_until      timestamptz,
	worker           text,
	last_observed_at timestamptz,
	UNIQUE (incident_id, name, port),
	CHECK ((state = 'claimed') = (lease_until IS NOT NULL))
);
CREATE INDEX scan_target_work ON scan_target (incident_id, state, lease_until);

CREATE TABLE observation (
	id                bigserial PRIMARY KEY,
	target_id         bigint NOT NULL REFERENCES scan_target ON DELETE CASCADE,
	observed_at       timestamptz NOT NULL DEFAULT now(),
	worker            text NOT NULL,
	address           inet,
	verdict           text NOT NULL CHECK (verdict IN
	                  ('serving-affected', 'serving-replacement',
	                   'serving-other', 'tls-error', 'refused', 'timeout',
	                   'nxdomain', 'dns-error', 'filtered')),
	served_serial     bytea,
	served_issuer     text,
	served_subject    text,
	served_names      text[],
	served_not_before timestamptz,
	served_not_after  timestamptz,
	served_sha256     bytea CHECK (octet_length(served_sha256) = 32),
	tls_version       text,
	error_detail      text,
	elapsed_ms        integer CHECK (elapsed_ms >= 0)
);
CREATE INDEX observation_target ON observation (target_id, observed_at);

CREATE TABLE revocation_evidence (
	id             bigserial PRIMARY KEY,
	certificate_id bigint NOT NULL REFERENCES certificate ON DELETE CASCADE,
	source         text NOT NULL CHECK (source IN ('ocsp', 'crl', 'import')),
	source_url     text,
	status         text NOT NULL
	               CHECK (status IN ('good', 'revoked', 'unknown', 'error')),
	revoked_at     timestamptz,
	reason         smallint CHECK (reason BETWEEN 0 AND 10),
	produced_at    timestamptz,
	this_update    timestamptz,
	next_update    timestamptz,
	checked_at     timestamptz NOT NULL DEFAULT now(),
	error_detail   text,
	CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);
CREATE INDEX revocation_evidence_cert
	ON revocation_evidence (certificate_id, checked_at);

-- One message per (incident, contact address, kind); an account without
-- any address gets its own 'no-address' row so it is counted, not lost.
CREATE TABLE notice (
	id              bigserial PRIMARY KEY,
	incident_id     bigint NOT NULL REFERENCES incident ON DELETE CASCADE,
	address         text CHECK (address <> ''),
	account         text,      -- set only on 'no-address' rows
	kind            text NOT NULL
	                CHECK (kind IN ('initial', 'reminder', 'revoked')),
	state           text NOT NULL DEFAULT 'pending'
	                CHECK (state IN ('pending', 'claimed', 'sent', 'retry',
	                                 'failed', 'no-address')),
	accounts        text[] NOT NULL DEFAULT '{}',
	attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	lease_until     timestamptz,
	worker          text,
	next_attempt_at timestamptz,
	last_reply      text,
	message_id      text,
	created_at      timestamptz NOT NULL DEFAULT now(),
	sent_at         timestamptz,
	UNIQUE (incident_id, address, kind),
	UNIQUE (incident_id, account, kind),
	CHECK ((address IS NULL) = (state = 'no-address')),
	CHECK (address IS NOT NULL OR account IS NOT NULL),
	CHECK ((state = 'sent') = (sent_at IS NOT NULL)),
	CHECK ((state = 'claimed') = (lease_until IS NOT NULL))
);

-- Append-only audit trail; the report's timeline is built from it.
CREATE TABLE event (
	id          bigserial PRIMARY KEY,
	incident_id bigint REFERENCES incident,
	at          timestamptz NOT NULL DEFAULT clock_timestamp(),
	actor       text NOT NULL,
	host        text NOT NULL,
	command     text NOT NULL,
	kind        text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.-]*$'),
	detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX event_incident ON event (incident_id, at);

CREATE FUNCTION event_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'the event table is append-only (% refused)', TG_OP;
END
$$;
CREATE TRIGGER event_append_only
	BEFORE UPDATE OR DELETE ON event
	FOR EACH ROW EXECUTE FUNCTION event_is_append_only();
CREATE TRIGGER event_no_truncate
	BEFORE TRUNCATE ON event
	FOR EACH STATEMENT EXECUTE FUNCTION event_is_append_only();
