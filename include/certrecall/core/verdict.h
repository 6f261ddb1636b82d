/*
 * verdict - every verdict certrecall gives, each defined once (pure).
 *
 *   certificate  revoked on time / revoked late / expired / pending /
 *                overdue, against the MUST-by time (BR 4.9.1.1)
 *   deployment   deployed / replaced / unknown / not scanned, a
 *                certificate's roll-up of its names' latest probe rounds
 *   probe        the verdict of a probe that got no certificate, from the
 *                outcome the scanner engine reported
 *
 * The certificate and deployment verdicts are also needed by SQL, where
 * the report aggregates millions of rows: each is a decision table here
 * (ordered rules, the first whose conditions all hold decides), and
 * verdict_cert_sql() / verdict_deployment_sql() write the same table as
 * the body of a SQL CASE.  sql/022_verdicts.sql carries that text for
 * certificate_verdict() and deployment_verdict(); test_verdict fails when
 * the migration and the table differ, and tests/integration/034-verdicts.sh
 * runs every input through both.  To change a verdict, change its table,
 * then paste the text test_verdict prints into a new migration.
 */
#ifndef CERTRECALL_VERDICT_H
#define CERTRECALL_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certrecall/core/classify.h"
#include "certrecall/core/deadline.h"
#include "certrecall/core/report.h"
#include "certrecall/base/xalloc.h"

/*
 * The verdict of certificate c against MUST-by at time at.  A revocation
 * after at has not happened yet (replaying an earlier moment); an
 * unrevoked certificate whose last valid second came at or before MUST-by
 * is expired (valid through its last second at most until the deadline).
 */
enum deadline_verdict verdict_cert(const struct deadline_cert *c,
				   time_t must_by, time_t at);

/*
 * The deployment of one certificate from three facts about its names'
 * latest probe rounds: unscanned (no probeable name has been probed),
 * served (some address of some name served this very certificate),
 * replaced (every probeable name was probed and every address served a
 * replacement).  A timeout or an error is never "not deployed".
 */
enum report_deploy verdict_deployment(bool unscanned, bool served,
				      bool replaced);

/*
 * The verdict of a probe that got no certificate, from the outcome named
 * as probe_outcome_name() names it ("refused", "timeout", ...).  "ok"
 * (classify_leaf() decides those), "tls-error" and unknown names give
 * CLASSIFY_TLS_ERROR.
 */
enum classify_verdict verdict_probe(const char *outcome);

/*
 * The decision tables as the body of a SQL CASE expression ("CASE\n ...
 * END"), over the parameters of certificate_verdict(revoked_at,
 * not_after, must_by, at) and deployment_verdict(unscanned, served,
 * replaced).  Returns the length written, or -1 if buf is too small.
 */
CR_MUST_CHECK int verdict_cert_sql(char *buf, size_t len);
CR_MUST_CHECK int verdict_deployment_sql(char *buf, size_t len);

#endif
