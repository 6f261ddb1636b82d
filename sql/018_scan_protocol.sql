-- 018_scan_protocol: STARTTLS ports, and which protocol, address and port
-- each observation saw.
--
-- scanner.ports entries are PORT[/PROTO]: a target (name, port) is probed
-- with its port's protocol, 'tls' (implicit TLS) or a STARTTLS dialogue.
-- A port has one protocol per incident (the unique key stays (incident,
-- name, port)); a changed protocol re-arms the target.
--
-- Two new verdicts: starttls-refused (the server said no to STARTTLS:
-- 454, NO, -ERR, <failure/>, an LDAP error) and protocol-error (what it
-- said was not the protocol).  Both count as failed coverage: no
-- certificate was seen, so nothing says the affected one is not there.
ALTER TABLE scan_target
	ADD COLUMN protocol text NOT NULL DEFAULT 'tls'
		CHECK (protocol IN ('tls', 'smtp', 'imap', 'pop3', 'ftp',
				    'xmpp-client', 'xmpp-server', 'ldap'));

ALTER TABLE observation
	ADD COLUMN protocol text,
	ADD COLUMN port integer CHECK (port BETWEEN 1 AND 65535);
UPDATE observation o SET protocol = 'tls', port = t.port
	FROM scan_target t WHERE t.id = o.target_id;

ALTER TABLE observation DROP CONSTRAINT observation_verdict_check;
ALTER TABLE observation ADD CONSTRAINT observation_verdict_check
	CHECK (verdict IN ('serving-affected', 'serving-replacement',
			   'serving-other', 'tls-error', 'refused', 'timeout',
			   'nxdomain', 'dns-error', 'filtered',
			   'starttls-refused', 'protocol-error'));

-- Wildcards: a *.domain target is probed at the names it covers that the
-- incident knows plus scanner.wildcard_labels (probed_via); each of its
-- observations says at which name (probed_name; NULL for a target probed
-- at its own name).  Before 018 wildcard targets were never probed.
ALTER TABLE scan_target ADD COLUMN probed_via text[];
ALTER TABLE observation ADD COLUMN probed_name text;
