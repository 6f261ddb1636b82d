-- 014_reason_codes: keep a revocation whose CRLReason code is undefined.
--
-- RFC 5280 5.3.1 defines codes 0-6 and 8-10, and 001/006 allowed only
-- 0-10.  A CRL entry (or OCSP answer) with another code, 12 say, still
-- says the certificate is revoked: refusing the row threw away the whole
-- CRL it came in.  The code is kept as listed and shown "unknown (12)";
-- it must only be a code, which is never negative.
ALTER TABLE certificate
	DROP CONSTRAINT certificate_revocation_reason_check,
	ADD CONSTRAINT certificate_revocation_reason_check
		CHECK (revocation_reason >= 0);
ALTER TABLE revocation_evidence
	DROP CONSTRAINT revocation_evidence_reason_check,
	ADD CONSTRAINT revocation_evidence_reason_check CHECK (reason >= 0);
ALTER TABLE crl_entry
	DROP CONSTRAINT crl_entry_reason_check,
	ADD CONSTRAINT crl_entry_reason_check CHECK (reason >= 0);
