/*
 * check_store - what `certrecall check` asks the database: the incidents
 * that list a served certificate.
 */
#ifndef CERTRECALL_CHECK_STORE_H
#define CERTRECALL_CHECK_STORE_H

#include <stddef.h>
#include "certrecall/base/xalloc.h"

struct certinfo;
struct db;

/* One incident listing the certificate.  Every string is owned by the
 * entry; NULL where the text says so. */
struct check_store_incident {
	char *slug;
	char *title;
	char *revocation_state; /* "good" when unknown but answered good */
	char *revoked_at;	/* RFC 3339 UTC, or NULL */
	char *names;		/* the incident's names, space-separated */
	char *match;		/* certificate_served_match() (009) */
	char *good_by;		/* "ocsp, checked TIME" when good, or NULL */
};

/*
 * The incidents that list ci, in slug order.  Identity is (issuer,
 * serial): certificate_served_match() (009) decides, by SHA-256 when the
 * incident has the certificate, else by issuer name or key identifier
 * and serial; a certificate of another issuer never matches.  Fills
 * *out (free with check_store_incidents_free) and *n; -1 on error
 * (logged).
 */
CR_MUST_CHECK int check_store_incidents(struct db *db,
					const struct certinfo *ci,
					struct check_store_incident **out,
					size_t *n);
void check_store_incidents_free(struct check_store_incident *v, size_t n);

#endif
