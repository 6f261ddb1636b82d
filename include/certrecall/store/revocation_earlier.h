/*
 * revocation_earlier - the SQL condition under which a revocation answer
 * changes a certificate's state (store layer only: revocation.c,
 * revocation_crl.c).
 */
#ifndef CERTRECALL_REVOCATION_EARLIER_H
#define CERTRECALL_REVOCATION_EARLIER_H

/*
 * An answer changes a certificate only if it is earlier than the
 * revocation it has, or as early with a stated reason where it has none
 * or a higher code: the state is the running minimum of every answer,
 * whichever order they are applied in.
 */
#define REVOCATION_EARLIER(e)                                                  \
	" (c.revoked_at IS NULL OR " e ".revoked_at < c.revoked_at"            \
	" OR (" e ".revoked_at = c.revoked_at AND " e ".reason IS NOT NULL"    \
	" AND (c.revocation_reason IS NULL"                                    \
	" OR " e ".reason < c.revocation_reason)))"

#endif
