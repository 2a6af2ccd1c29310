/* A tiny test harness for the unit tests: CHECK() records a failure with
 * file:line and goes on; test_done() prints "N passed, N failed" (the line
 * CI reads) and returns the exit status. */
#pragma once
#include <stdio.h>

static int t_pass, t_fail;

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (cond) {                                                            \
			t_pass++;                                                      \
		} else {                                                               \
			t_fail++;                                                      \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                \
		}                                                                      \
	} while (0)

static inline int test_done(void)
{
	printf("%d passed, %d failed\n", t_pass, t_fail);
	return t_fail ? 1 : 0;
}
