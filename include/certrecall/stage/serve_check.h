/*
 * serve_check - the subscriber self-check of `certrecall serve`: GET
 * /check[?host=|?serial=] and POST /check (a PEM), as a page or JSON.
 * Internal to the serve stage.
 */
#ifndef CERTRECALL_SERVE_CHECK_H
#define CERTRECALL_SERVE_CHECK_H

#include <microhttpd.h>
#include <stdbool.h>

#include "certrecall/stage/serve_http.h"

/* Answers one self-check request (rate-limited per client address). */
enum MHD_Result serve_check_handle(struct serve *s, struct MHD_Connection *c,
				   struct req *r, bool post);

#endif
