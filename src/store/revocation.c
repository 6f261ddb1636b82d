/*
 * revocation.c - issuers, imported revocations, derived state, batches.
 */
#include <errno.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "certrecall/base/hex.h"
#include "certrecall/core/certinfo.h"
#include "certrecall/store/db.h"
#include "certrecall/store/dbq.h"
#include "certrecall/store/incident.h"
#include "certrecall/base/log.h"
#include "certrecall/store/revocation.h"
#include "certrecall/store/revocation_earlier.h"
#include "certrecall/core/serial.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"

#define MAX_LINE 1024

/* SHA-1 of the DER subject name and of the public key BIT STRING, as an
 * OCSP CertID carries them (RFC 6960 4.1.1). */
static int certid_hashes(X509 *ca, char name_hash[41], char key_hash[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const ASN1_BIT_STRING *key = X509_get0_pubkey_bitstr(ca);

	if (!X509_NAME_digest(X509_get_subject_name(ca), EVP_sha1(), md,
			      &mdlen))
		return -1;
	hex_encode(md, mdlen, name_hash);
	if (key == NULL || !EVP_Digest(key->data, (size_t)key->length, md,
				       &mdlen, EVP_sha1(), NULL))
		return -1;
	hex_encode(md, mdlen, key_hash);
	return 0;
}

/* Stores one issuer certificate (or adds the URLs to it).  0, or -1
 * (logged). */
static int add_issuer(struct db *db, const char *id, X509 *ca,
		      const char *ocsp_url, const char *crl_url,
		      const char *path, int nth)
{
	char nh[41], kh[41], ski[129] = "";
	const ASN1_OCTET_STRING *k = X509_get0_subject_key_id(ca);
	char *subject = NULL, *pem = NULL, *data;
	BIO *mem;
	long len;
	PGresult *res;
	const char *params[8];

	if (certid_hashes(ca, nh, kh) < 0)
		return log_error("%s: certificate %d cannot be read", path,
				 nth);
	if (k != NULL && k->length <= 64)
		hex_encode(k->data, (size_t)k->length, ski);
	mem = BIO_new(BIO_s_mem());
	if (mem == NULL || PEM_write_bio_X509(mem, ca) != 1) {
		BIO_free(mem);
		return log_error("%s: certificate %d cannot be written", path,
				 nth);
	}
	len = BIO_get_mem_data(mem, &data);
	pem = xstrndup(data, (size_t)len);
	BIO_free(mem);
	subject = certinfo_name_text(X509_get_subject_name(ca));
	params[0] = id;
	params[1] = subject;
	params[2] = ski[0] ? ski : NULL;
	params[3] = nh;
	params[4] = kh;
	params[5] = pem;
	params[6] = ocsp_url;
	params[7] = crl_url;
	res = db_query(db,
		       "INSERT INTO issuer (incident_id, subject, key_id,"
		       " name_hash, key_hash, pem, ocsp_urls, crl_urls)"
		       " VALUES ($1, $2, decode($3, 'hex'), decode($4, 'hex'),"
		       " decode($5, 'hex'), $6,"
		       " CASE WHEN $7::text IS NULL THEN '{}'"
		       " ELSE ARRAY[$7::text] END,"
		       " CASE WHEN $8::text IS NULL THEN '{}'"
		       " ELSE ARRAY[$8::text] END)"
		       " ON CONFLICT (incident_id, subject, key_id) DO UPDATE"
		       " SET ocsp_urls = array(SELECT DISTINCT u FROM"
		       " unnest(issuer.ocsp_urls || EXCLUDED.ocsp_urls) u),"
		       " crl_urls = array(SELECT DISTINCT u FROM"
		       " unnest(issuer.crl_urls || EXCLUDED.crl_urls) u)",
		       8, params);
	free(subject);
	free(pem);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

/*
 * Links the incident's certificates to its issuers by subject.  Identity
 * is (issuer, serial): list rows loaded before the incident had an
 * issuer take it when it now has exactly one, as an import would have.
 * A row whose serial that issuer already has (the same certificate
 * loaded from its PEM too) stays unknown rather than collide.  The ARI
 * key identifier is set in the same statement: the trigger of 029 then
 * finds nothing to fix, row by row.  0, or -1.
 */
static int link_issuers(struct db *db, const char *id)
{
	static const char *const link[] = {
		"UPDATE certificate c SET issuer_id = i.id,"
		" aki = certificate_aki_of(c.extra, i.id) FROM issuer i"
		" WHERE c.incident_id = $1 AND i.incident_id = $1"
		" AND c.issuer_name = i.subject"
		" AND c.issuer_id IS DISTINCT FROM i.id",
		"UPDATE certificate c SET issuer_name = i.subject,"
		" issuer_id = i.id, aki = certificate_aki_of(c.extra, i.id)"
		" FROM issuer i"
		" WHERE c.incident_id = $1 AND i.incident_id = $1"
		" AND c.issuer_name IS NULL AND c.issuer_id IS NULL"
		" AND (SELECT count(*) FROM issuer j"
		"  WHERE j.incident_id = $1) = 1"
		" AND NOT EXISTS (SELECT 1 FROM certificate d"
		"  WHERE d.incident_id = $1 AND d.serial = c.serial"
		"  AND d.issuer_name = i.subject)",
		"UPDATE replacement r SET issuer_name = i.subject"
		" FROM issuer i"
		" WHERE r.incident_id = $1 AND i.incident_id = $1"
		" AND r.issuer_name IS NULL"
		" AND (SELECT count(*) FROM issuer j"
		"  WHERE j.incident_id = $1) = 1"
		" AND NOT EXISTS (SELECT 1 FROM replacement d"
		"  WHERE d.incident_id = $1 AND d.serial = r.serial"
		"  AND d.issuer_name = i.subject)",
	};
	const char *p[1] = { id };

	for (size_t k = 0; k < sizeof(link) / sizeof(link[0]); k++) {
		PGresult *res = db_query(db, link[k], 1, p);

		if (res == NULL)
			return -1;
		PQclear(res);
	}
	return 0;
}

/* After PEM_read_X509 returned NULL: the end of the file (no further
 * BEGIN line), or a certificate that does not parse (-1, logged). */
static int pem_end(const char *path, int nth)
{
	unsigned long e = ERR_peek_last_error();
	char why[200];

	if (e == 0 || (ERR_GET_LIB(e) == ERR_LIB_PEM &&
		       ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		ERR_clear_error();
		return 0;
	}
	ERR_error_string_n(e, why, sizeof(why));
	ERR_clear_error();
	return log_error("%s: certificate %d does not parse as PEM: %s", path,
			 nth, why);
}

int revocation_add_issuers(struct db *db, const struct incident *inc,
			   const char *path, const char *ocsp_url,
			   const char *crl_url)
{
	FILE *f = fopen(path, "r");
	char id[32];
	X509 *ca;
	int n = 0;
	int rc = -1;

	if (f == NULL)
		return log_error("%s: cannot open: %s", path, strerror(errno));
	db_param_llong(id, inc->id);
	if (db_begin(db) < 0)
		goto out;
	ERR_clear_error();
	while ((ca = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		int r = add_issuer(db, id, ca, ocsp_url, crl_url, path, n + 1);

		X509_free(ca);
		if (r < 0)
			goto rollback;
		n++;
	}
	if (pem_end(path, n + 1) < 0)
		goto rollback;
	if (n == 0) {
		log_error("%s: no PEM certificate in the file", path);
		goto rollback;
	}
	if (link_issuers(db, id) < 0)
		goto rollback;
	{
		json_t *d = json_pack("{s:s,s:i}", "file", path, "issuers", n);
		char *t = json_dumps(d, JSON_COMPACT);
		int e = db_event_add(db, inc->id, "incident.add-issuer", t);

		free(t);
		json_decref(d);
		if (e < 0)
			goto rollback;
	}
	if (db_commit(db) < 0)
		goto out;
	rc = n;
	goto out;
rollback:
	db_rollback(db);
out:
	fclose(f);
	return rc;
}

/* CRLReason names (RFC 5280 5.3.1), index = code; 7 is unused. */
static const char *const reasons[] = {
	"unspecified",	   "keyCompromise",
	"cACompromise",	   "affiliationChanged",
	"superseded",	   "cessationOfOperation",
	"certificateHold", NULL,
	"removeFromCRL",   "privilegeWithdrawn",
	"aACompromise",
};

const char *revocation_reason_name(int code, char *buf, size_t len)
{
	if (code == -1)
		return "none";
	if (code >= 0 && code <= 10 && reasons[code] != NULL)
		return reasons[code];
	/* Cut to fit a buffer too small, still a name. */
	if (snprintf(buf, len, "unknown (%d)", code) < 0)
		return "unknown";
	return buf;
}

static int parse_reason(const char *s)
{
	char *end;
	long v;

	if (*s == '\0')
		return -1;
	v = strtol(s, &end, 10);
	if (*end == '\0')
		return v >= 0 && v <= 10 && v != 7 ? (int)v : -2;
	for (int i = 0; i <= 10; i++)
		if (reasons[i] != NULL && strcasecmp(s, reasons[i]) == 0)
			return i;
	return -2;
}

/* One line of a revocations file into the COPY: 0, 1 to skip it (blank,
 * comment, header), or -1 (logged as FILE:LINE). */
static int import_line(struct db_copy *c, char *line, const char *path,
		       long long lineno)
{
	char *fields[3] = { NULL, NULL, NULL };
	char *save = NULL, *tok, err[256];
	struct serial s;
	time_t t;
	int nf = 0, reason;

	if (line[0] == '\0' || line[0] == '#')
		return 1;
	for (tok = strtok_r(line, ",", &save); tok && nf < 3;
	     tok = strtok_r(NULL, ",", &save))
		fields[nf++] = tok + strspn(tok, " \t\"");
	for (int i = 0; i < nf; i++)
		fields[i][strcspn(fields[i], "\"")] = '\0';
	if (lineno == 1 && nf >= 1 && strcasecmp(fields[0], "serial") == 0)
		return 1;
	if (nf < 2)
		return log_error("%s:%lld: expected serial,revoked_at[,reason]",
				 path, lineno);
	if (serial_parse(&s, fields[0], strlen(fields[0]), 16, err,
			 sizeof(err)) < 0 ||
	    utctime_parse(fields[1], &t, NULL, err, sizeof(err)) < 0)
		return log_error("%s:%lld: %s", path, lineno, err);
	reason = nf == 3 ? parse_reason(fields[2]) : -1;
	if (reason == -2)
		return log_error("%s:%lld: \"%s\" is not a CRLReason", path,
				 lineno, fields[2]);
	db_copy_llong(c, lineno);
	db_copy_bytea(c, s.b, s.len);
	db_copy_time(c, t);
	if (reason >= 0)
		db_copy_llong(c, reason);
	else
		db_copy_text(c, NULL);
	return db_copy_row_end(c) < 0 ? -1 : 0;
}

/* The file's lines into the temporary table import_revocation, all or
 * nothing.  0, or -1 (logged). */
static int import_copy(struct db *db, FILE *f, const char *path,
		       struct revocation_import_stats *st)
{
	char line[MAX_LINE];
	struct db_copy *c;

	if (db_exec(db, "CREATE TEMP TABLE import_revocation (line bigint,"
			" serial bytea, revoked_at timestamptz,"
			" reason smallint) ON COMMIT DROP") < 0)
		return -1;
	c = db_copy_begin(db, "COPY import_revocation FROM STDIN");
	if (c == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strcspn(line, "\r\n");

		st->lines++;
		if (line[len] == '\0' && !feof(f)) {
			log_error("%s:%lld: line too long", path, st->lines);
			goto abort;
		}
		line[len] = '\0';
		if (import_line(c, line, path, st->lines) < 0)
			goto abort;
	}
	return db_copy_end(c, NULL, NULL);
abort:
	db_copy_abort(c, "import aborted");
	return -1;
}

/* The file names serials only: a serial that two issuers of the incident
 * share cannot say which certificate was revoked.  0, or -1 (each such
 * line logged, the first five). */
static int import_unambiguous(struct db *db, const char *id, const char *path)
{
	const char *p[1] = { id };
	PGresult *res;
	int amb;

	res = db_query(db,
		       "SELECT r.line, encode(r.serial, 'hex'),"
		       " count(*) FROM import_revocation r"
		       " JOIN certificate c ON c.incident_id = $1"
		       " AND c.serial = r.serial"
		       " GROUP BY r.line, r.serial HAVING count(*) > 1"
		       " ORDER BY r.line LIMIT 5",
		       1, p);
	if (res == NULL)
		return -1;
	amb = PQntuples(res);
	for (int i = 0; i < amb; i++)
		log_error("%s:%s: serial %s is the serial of %s "
			  "certificates of different issuers in this "
			  "incident: the file cannot say which was "
			  "revoked",
			  path, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
			  PQgetvalue(res, i, 2));
	PQclear(res);
	return amb > 0 ? -1 : 0;
}

int revocation_import(struct db *db, const struct incident *inc,
		      const char *path, struct revocation_import_stats *st)
{
	FILE *f = fopen(path, "r");
	char id[32];
	PGresult *res;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (f == NULL)
		return log_error("%s: cannot open: %s", path, strerror(errno));
	db_param_llong(id, inc->id);
	if (db_begin(db) < 0)
		goto out;
	if (import_copy(db, f, path, st) < 0 ||
	    import_unambiguous(db, id, path) < 0)
		goto rollback;
	{
		const char *p[2] = { id, path };

		res = db_query(
			db,
			"INSERT INTO revocation_evidence (certificate_id, "
			"source,"
			" source_url, status, revoked_at, reason)"
			" SELECT c.id, 'import', $2, 'revoked', r.revoked_at,"
			" r.reason FROM import_revocation r JOIN certificate c"
			" ON c.incident_id = $1 AND c.serial = r.serial",
			2, p);
	}
	if (res == NULL)
		goto rollback;
	st->loaded = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	{
		const char *p[1] = { id };

		res = db_query(db,
			       "SELECT count(*) FROM import_revocation r"
			       " WHERE NOT EXISTS (SELECT 1 FROM certificate c"
			       " WHERE c.incident_id = $1"
			       " AND c.serial = r.serial)",
			       1, p);
	}
	if (res == NULL)
		goto rollback;
	st->unknown = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (revocation_derive(db, inc->id) < 0)
		goto rollback;
	st->conflicts = revocation_conflicts(db, inc->id, NULL);
	if (st->conflicts < 0)
		goto rollback;
	{
		json_t *d = json_pack("{s:s,s:I,s:I,s:I}", "file", path,
				      "loaded", (json_int_t)st->loaded,
				      "unknown", (json_int_t)st->unknown,
				      "conflicts", (json_int_t)st->conflicts);
		char *t = json_dumps(d, JSON_COMPACT);
		int e = db_event_add(db, inc->id, "import.revocations", t);

		free(t);
		json_decref(d);
		if (e < 0)
			goto rollback;
	}
	if (db_commit(db) < 0)
		goto out;
	rc = 0;
	goto out;
rollback:
	db_rollback(db);
out:
	fclose(f);
	return rc;
}

/*
 * Applies the CRL fetches not applied yet, one statement each, which also
 * marks the fetch derived.  Runs in a transaction.  The number of
 * certificate updates, or -1.
 */
static long long derive_crl(struct db *db, const char *inc_id)
{
	char fetch[32];
	const char *p[2] = { inc_id, fetch };
	PGresult *f, *res;
	long long n = 0;

	/* A fetch's entries come in certificate order from crl_entry's key
	 * and each finds its certificate by primary key, so the rows are
	 * rewritten in page order.  For a million entries the planner
	 * prefers a hash join, which spills to disk and rewrites in batch
	 * order: 6.0 s where the nested loop takes 2.8 s (bench/revcheck.sh
	 * data, docs/revcheck.md).  Without Materialize too: with the
	 * statistics of a freshly imported incident saying it has 49
	 * certificates (it had 9,000), the planner scanned them once into a
	 * Materialize node and compared each entry with all of them, 13.5
	 * million comparisons and 11.6 s for 3,000 entries.  JIT compiling
	 * the statement took 0.3 s of the CPU it was to save. */
	if (db_exec(db, "SET LOCAL enable_hashjoin = off") < 0 ||
	    db_exec(db, "SET LOCAL enable_mergejoin = off") < 0 ||
	    db_exec(db, "SET LOCAL enable_material = off") < 0 ||
	    db_exec(db, "SET LOCAL jit = off") < 0)
		return -1;
	f = db_query(db,
		     "SELECT id FROM crl_fetch WHERE incident_id = $1"
		     " AND verified AND NOT derived ORDER BY id",
		     1, p);
	if (f == NULL)
		return -1;
	for (int r = 0; r < PQntuples(f); r++) {
		db_param_llong(fetch, db_get_llong(f, r, 0));
		res = db_query(
			db,
			"WITH f AS (UPDATE crl_fetch SET derived = true"
			"  WHERE id = $2 AND NOT derived RETURNING id)"
			" UPDATE certificate c SET revocation_state = "
			"'revoked',"
			" revoked_at = n.revoked_at,"
			" revocation_reason = n.reason FROM crl_entry n"
			" WHERE n.fetch_id = (SELECT id FROM f)"
			" AND c.id = n.certificate_id AND c.incident_id = $1"
			" AND" REVOCATION_EARLIER("n"),
			2, p);
		if (res == NULL) {
			n = -1;
			break;
		}
		n += strtoll(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	}
	PQclear(f);
	if (n >= 0 && (db_exec(db, "SET LOCAL enable_hashjoin = on") < 0 ||
		       db_exec(db, "SET LOCAL enable_mergejoin = on") < 0 ||
		       db_exec(db, "SET LOCAL enable_material = on") < 0))
		return -1;
	return n;
}

long long revocation_derive(struct db *db, long long incident_id)
{
	/* In the caller's transaction (import) or in one of its own. */
	bool own = PQtransactionStatus(db_get0_conn(db)) == PQTRANS_IDLE;
	char id[32];
	const char *p[1] = { id };
	PGresult *res;
	long long n, m;

	db_param_llong(id, incident_id);
	if (own && db_begin(db) < 0)
		return -1;
	n = derive_crl(db, id);
	if (n < 0)
		goto fail;
	/* The earliest OCSP or imported answer of each certificate, its
	 * reason (a stated one, the lowest code, on a tie: the result must
	 * not depend on the plan).  Good and unknown never un-revoke. */
	res = db_query(
		db,
		"UPDATE certificate c SET revocation_state = 'revoked',"
		" revoked_at = e.revoked_at, revocation_reason = e.reason"
		" FROM (SELECT DISTINCT ON (certificate_id)"
		"  certificate_id, revoked_at, reason"
		"  FROM revocation_evidence WHERE status = 'revoked'"
		"  ORDER BY certificate_id, revoked_at,"
		"  reason IS NULL, reason) e"
		" WHERE c.id = e.certificate_id AND c.incident_id = $1"
		" AND" REVOCATION_EARLIER("e"),
		1, p);
	if (res == NULL)
		goto fail;
	m = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (own && db_commit(db) < 0)
		return -1;
	return n + m;
fail:
	if (own)
		db_rollback(db);
	return -1;
}

long long revocation_conflicts(struct db *db, long long incident_id, FILE *out)
{
	char id[32];
	const char *p[1] = { id };
	PGresult *res;
	long long n;

	db_param_llong(id, incident_id);
	/* Latest answer per source, then the certificates on which the
	 * sources disagree about the status or the revocation time.  Only
	 * certificates with OCSP or imported evidence can disagree: the CRL
	 * is one source, and it answers for them through crl_answer (and
	 * through the per-certificate 'crl' evidence written before 006).
	 * The serials are looked up for the disagreeing ones only. */
	res = db_query(
		db,
		"WITH ev AS (SELECT DISTINCT ON (e.certificate_id, e.source)"
		"  e.certificate_id, e.source, e.status, e.revoked_at"
		"  FROM revocation_evidence e"
		"  JOIN certificate c ON c.id = e.certificate_id"
		"  WHERE c.incident_id = $1 AND e.status IN ('good', 'revoked')"
		"  AND e.source <> 'crl'"
		"  ORDER BY e.certificate_id, e.source, e.checked_at DESC,"
		"  e.id DESC),"
		" crl AS (SELECT DISTINCT ON (x.certificate_id)"
		"  x.certificate_id, 'crl' AS source, x.status, x.revoked_at"
		"  FROM (SELECT a.certificate_id, a.status, a.revoked_at,"
		"   a.fetched_at AS at, a.fetch_id AS n FROM crl_answer a"
		"   WHERE a.certificate_id IN (SELECT certificate_id FROM ev)"
		"   UNION ALL"
		"   SELECT e.certificate_id, e.status, e.revoked_at,"
		"   e.checked_at, e.id FROM revocation_evidence e"
		"   WHERE e.source = 'crl' AND e.status IN ('good', 'revoked')"
		"   AND e.certificate_id IN (SELECT certificate_id FROM ev)) x"
		"  ORDER BY x.certificate_id, x.at DESC, x.n DESC),"
		" l AS (SELECT * FROM ev UNION ALL SELECT * FROM crl),"
		" d AS (SELECT certificate_id FROM l GROUP BY certificate_id"
		"  HAVING count(DISTINCT (status, revoked_at)) > 1)"
		" SELECT encode(c.serial, 'hex'), string_agg(l.source"
		"  || '=' || l.status || coalesce('@' || to_char("
		"  l.revoked_at AT TIME ZONE 'UTC',"
		"  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), ' '"
		"  ORDER BY l.source)"
		" FROM d JOIN l USING (certificate_id)"
		" JOIN certificate c ON c.id = d.certificate_id"
		" GROUP BY c.id, c.serial ORDER BY c.serial, c.id",
		1, p);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	for (int r = 0; out != NULL && r < n; r++)
		fprintf(out, "%s,%s\n", PQgetvalue(res, r, 0),
			PQgetvalue(res, r, 1));
	PQclear(res);
	return n;
}

long long revocation_export(struct db *db, long long incident_id,
			    bool replaced_only, int reason_code, bool jsonl,
			    FILE *out)
{
	char id[32], code[32];
	const char *p[3] = { id, replaced_only ? "t" : "f", code };
	PGresult *res;
	long long n = 0;

	db_param_llong(id, incident_id);
	db_param_llong(code, reason_code);
	if (db_begin(db) < 0)
		return -1;
	/* The batch names serials only; identity is (issuer, serial). */
	res = db_query(db,
		       "SELECT count(*) FROM (SELECT serial FROM certificate"
		       " WHERE incident_id = $1 AND revoked_at IS NULL"
		       " GROUP BY serial HAVING count(*) > 1) s",
		       1, p);
	if (res == NULL)
		goto fail;
	if (db_get_llong(res, 0, 0) > 0)
		log_warn("export-revocations: %lld serials belong to "
			 "certificates of more than one issuer and are listed "
			 "once per certificate: the batch does not say which "
			 "issuer revokes which",
			 db_get_llong(res, 0, 0));
	PQclear(res);
	/* Replaced first (the 2020 CA's order): revoking them breaks no
	 * site. */
	res = db_query(
		db,
		jsonl ? "DECLARE batch NO SCROLL CURSOR FOR"
			" SELECT json_build_object('schema',"
			" 'certrecall-export-revocations/1', 'serial',"
			" encode(serial, 'hex'), 'reason_code', $3::int,"
			" 'replaced', replaced_by IS NOT NULL)"
			" FROM certificate WHERE incident_id = $1"
			" AND revoked_at IS NULL"
			" AND (not_after IS NULL OR not_after > "
			"certrecall_now())"
			" AND (NOT $2::boolean OR replaced_by IS NOT NULL)"
			" ORDER BY replaced_by IS NULL, serial"
		      : "DECLARE batch NO SCROLL CURSOR FOR"
			" SELECT encode(serial, 'hex') || ',' || $3::int"
			" FROM certificate WHERE incident_id = $1"
			" AND revoked_at IS NULL"
			" AND (not_after IS NULL OR not_after > "
			"certrecall_now())"
			" AND (NOT $2::boolean OR replaced_by IS NOT NULL)"
			" ORDER BY replaced_by IS NULL, serial",
		3, p);
	if (res == NULL)
		goto fail;
	PQclear(res);
	for (;;) {
		int rows;

		res = db_query(db, "FETCH 10000 FROM batch", 0, NULL);
		if (res == NULL)
			goto fail;
		rows = PQntuples(res);
		for (int r = 0; r < rows; r++)
			fprintf(out, "%s\n", PQgetvalue(res, r, 0));
		n += rows;
		PQclear(res);
		if (rows == 0)
			break;
	}
	db_rollback(db);	     /* read only */
	return ferror(out) ? -1 : n; /* reported by cli_output_close() */
fail:
	db_rollback(db);
	return -1;
}
