/*
 * unit.h - glue between Check and the project's test runner.
 *
 * Each tests/unit/test_<module>.c builds one Suite and ends with
 * UNIT_MAIN(<module>_suite).  The program prints one machine-readable line,
 * "unit-result: PASSED FAILED", that tests/run.sh adds up.
 */
#ifndef CERTRECALL_TESTS_UNIT_H
#define CERTRECALL_TESTS_UNIT_H

#include <check.h>
#include <stdio.h>

#define UNIT_MAIN(suite_fn)                                                    \
	int main(void)                                                         \
	{                                                                      \
		SRunner *sr = srunner_create(suite_fn());                      \
		srunner_run_all(sr, CK_NORMAL);                                \
		int run = srunner_ntests_run(sr);                              \
		int failed = srunner_ntests_failed(sr);                        \
		srunner_free(sr);                                              \
		printf("unit-result: %d %d\n", run - failed, failed);          \
		return failed ? 1 : 0;                                         \
	}

#endif
