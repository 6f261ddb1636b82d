-- 010_reader_inputs: certificates as real files carry them.
--
-- Serial 0 and negative serials (old roots, misissued leaves) are read
-- by OpenSSL, so an incident must be able to hold them.  They are stored
-- with a leading zero octet, which no positive serial has (serial.h):
-- 00 alone is zero, 00 followed by the DER content octets (two's
-- complement, first octet >= 80) is negative, so -1 (00 ff) never
-- collides with the positive ff.  Positive serials keep their form, so
-- every existing row and list still matches.
ALTER TABLE certificate DROP CONSTRAINT certificate_serial_check;
ALTER TABLE certificate ADD CONSTRAINT certificate_serial_check CHECK (
	(octet_length(serial) BETWEEN 1 AND 20 AND get_byte(serial, 0) <> 0)
	OR serial = '\x00'::bytea
	OR (octet_length(serial) BETWEEN 2 AND 21 AND get_byte(serial, 0) = 0
	    AND get_byte(serial, 1) >= 128));

-- RFC 5280 4.1.2.5: the validity includes both notBefore and notAfter,
-- so equal times are a (one-second) validity, not an error.
ALTER TABLE certificate DROP CONSTRAINT certificate_check1;
ALTER TABLE certificate ADD CONSTRAINT certificate_validity_check
	CHECK (not_after IS NULL OR issued_at IS NULL
	       OR not_after >= issued_at);

-- basicConstraints cA = TRUE: a sub-CA revocation (BR 4.9.1.2) loads
-- the CA certificates themselves.
ALTER TABLE certificate ADD COLUMN is_ca boolean NOT NULL DEFAULT false;

-- A stored serial as "openssl x509 -serial" prints it: uppercase hex of
-- the magnitude, "00" for zero, "-" before a negative one.
CREATE FUNCTION serial_text(s bytea) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
	m bytea;
	carry int := 1;
	v int;
BEGIN
	IF get_byte(s, 0) <> 0 OR octet_length(s) = 1 THEN
		RETURN upper(encode(s, 'hex'));
	END IF;
	m := substring(s FROM 2);
	FOR i IN REVERSE octet_length(m) - 1 .. 0 LOOP
		v := (255 - get_byte(m, i)) + carry;
		m := set_byte(m, i, v % 256);
		carry := v / 256;
	END LOOP;
	WHILE octet_length(m) > 1 AND get_byte(m, 0) = 0 LOOP
		m := substring(m FROM 2);
	END LOOP;
	RETURN '-' || upper(encode(m, 'hex'));
END $$;
