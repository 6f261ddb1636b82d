/*
 * serve_store - what `certrecall serve` and `export-ari` read: ARI rows by
 * certID, self-check hits by serial, the health probe, and every
 * certificate of an incident for export.  Reads only; never selects
 * accounts or addresses.
 */
#ifndef CERTRECALL_SERVE_STORE_H
#define CERTRECALL_SERVE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "certrecall/base/xalloc.h"

struct certinfo;
struct db;
struct serial;

/* Whether db answers (SELECT 1); an error is logged. */
bool serve_store_ping(struct db *db);

/* Reconnects a lost connection (db_reset) and forgets what was prepared
 * on it; whether it is up again. */
bool serve_store_reconnect(struct db *db);

/* One certificate row with this certID, with its incident's clock
 * inputs; unknown times DB_NULL_TIME. */
struct serve_store_ari_row {
	char *reason;
	time_t aware_at, cpr_received_at;
	char *state; /* revocation_state */
	time_t issued_at, not_after;
	bool closed; /* its incident was closed (026): no window of its own */
};

/*
 * Every certificate row of any incident with this key identifier and
 * serial.  The statement is prepared once per connection (planning it
 * for every request costs more than running it).  Fills *rows (free
 * with serve_store_ari_rows_free) and *n; -1 on error (logged).
 */
CR_MUST_CHECK int serve_store_ari(struct db *db, const unsigned char *aki,
				  size_t aki_len, const struct serial *serial,
				  struct serve_store_ari_row **rows, size_t *n);
void serve_store_ari_rows_free(struct serve_store_ari_row *v, size_t n);

/* One lookup of a batch: the certID's parts (borrowed) in; rc (0, or -1
 * on an error), rows and n out. */
struct serve_store_ari_query {
	const unsigned char *aki;
	size_t aki_len;
	const struct serial *serial;
	struct serve_store_ari_row *rows; /* free with ..._rows_free */
	size_t n;
	int rc;
};

/*
 * n lookups in one round trip (libpq pipeline mode: one write, one
 * implicit transaction, one read), each answered as serve_store_ari
 * would.  0 when every query was answered (each may still carry its own
 * rc), -1 when the connection failed (logged): the caller resets it.
 */
CR_MUST_CHECK int serve_store_ari_many(struct db *db,
				       struct serve_store_ari_query *const *q,
				       size_t n);

/* One incident that lists a certificate, for the self-check. */
struct serve_store_hit {
	char *slug, *title, *reason;
	time_t aware_at, cpr_received_at;
	char *state; /* revocation_state */
	time_t revoked_at;
	bool replaced;
	time_t not_after;
	time_t closed_at; /* the incident's (026); DEADLINE_UNSET while open */
};

/*
 * Every incident row with this serial (hex) and, given a certificate
 * (ci may be NULL), the same one by certificate_served_match of 009, in
 * slug order.  One probe of the (incident_id, serial, issuer) index per
 * incident.  Fills *hits (free with serve_store_hits_free) and *n; -1
 * on error (logged).
 */
CR_MUST_CHECK int serve_store_check(struct db *db, const char *serial_hex,
				    const struct certinfo *ci,
				    struct serve_store_hit **hits, size_t *n);
void serve_store_hits_free(struct serve_store_hit *v, size_t n);

/* One certificate with a key identifier, for export-ari. */
struct serve_store_export_row {
	char *aki_hex, *serial_hex;
	char *state; /* revocation_state */
	time_t not_after;
};

/*
 * Opens a cursor over the incident's certificates that have a key
 * identifier, in id order, inside the transaction the caller began;
 * *without_aki gets how many have none.  0, or -1 (logged).
 */
CR_MUST_CHECK int serve_store_export_open(struct db *db, long long incident_id,
					  long long *without_aki);
/* The next batch (up to 10,000 rows; *n = 0 at the end) into *rows
 * (free with serve_store_export_rows_free).  0, or -1 (logged). */
CR_MUST_CHECK int serve_store_export_next(struct db *db,
					  struct serve_store_export_row **rows,
					  size_t *n);
void serve_store_export_rows_free(struct serve_store_export_row *v, size_t n);

#endif
