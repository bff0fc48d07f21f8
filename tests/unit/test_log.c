/* common/log: one line per event; lines held by log_hold go out together. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

static int saved_stderr = -1;
static FILE *sink;

/* Lines are written to stderr: the test points it at a file while it logs,
 * and back (for cmocka's own reports) while it looks. */
static void to_sink(void)
{
	assert_int_equal(dup2(fileno(sink), STDERR_FILENO), STDERR_FILENO);
}

/* stderr back; what the file holds (caller frees) */
static char *from_sink(void)
{
	assert_int_equal(dup2(saved_stderr, STDERR_FILENO), STDERR_FILENO);
	off_t n = lseek(fileno(sink), 0, SEEK_END);
	char *p = calloc(1, (size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(pread(fileno(sink), p, (size_t)n, 0), n);
	return p;
}

/* an empty file, and stderr to it */
static void to_empty_sink(void)
{
	assert_int_equal(ftruncate(fileno(sink), 0), 0);
	assert_int_equal(lseek(fileno(sink), 0, SEEK_SET), 0);
	to_sink();
}

static int setup(void **st)
{
	(void)st;
	sink = tmpfile();
	saved_stderr = dup(STDERR_FILENO);
	log_set_level(LOG_INFO);
	return sink && saved_stderr >= 0 ? 0 : -1;
}

static int teardown(void **st)
{
	(void)st;
	close(saved_stderr);
	fclose(sink);
	return 0;
}

static size_t lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void unheld_lines_go_at_once(void **st)
{
	(void)st;
	to_empty_sink();
	log_msg(LOG_INFO, "event=one n=%d", 1);
	char *s = from_sink();
	assert_non_null(strstr(s, " level=info event=one n=1\n"));
	assert_memory_equal(s, "ts=", 3);
	assert_int_equal(lines(s), 1);
	free(s);
	to_sink();
	log_msg(LOG_DEBUG, "event=hidden");
	s = from_sink();
	assert_int_equal(lines(s), 1);
	free(s);
}

static void held_lines_wait_for_release(void **st)
{
	(void)st;
	to_empty_sink();
	log_hold();
	log_msg(LOG_INFO, "event=a");
	log_hold(); /* nested */
	log_msg(LOG_WARN, "event=b");
	log_release();
	char *s = from_sink();
	assert_string_equal(s, "");
	free(s);
	to_sink();
	log_msg(LOG_INFO, "event=c");
	log_release();
	s = from_sink();
	assert_int_equal(lines(s), 3);
	char *a = strstr(s, "event=a\n"), *b = strstr(s, "level=warn event=b\n"), *c = strstr(s, "event=c\n");
	assert_true(a && b && c && a < b && b < c);
	free(s);
	to_sink();
	log_release(); /* one too many: nothing happens */
	log_msg(LOG_INFO, "event=d");
	s = from_sink();
	assert_int_equal(lines(s), 4);
	free(s);
}

/* More than one write's worth: whole lines go out as the buffer fills, in
 * order, none lost or cut. */
static void many_held_lines_go_whole_and_in_order(void **st)
{
	(void)st;
	to_empty_sink();
	char pad[301];
	memset(pad, 'x', 300);
	pad[300] = '\0';
	log_hold();
	for (int i = 0; i < 40; i++)
		log_msg(LOG_INFO, "event=n i=%d pad=%s", i, pad);
	char *s = from_sink();
	size_t before = strlen(s);
	assert_true(before > 0 && before <= 40 * 400);
	assert_int_equal(s[before - 1], '\n');
	free(s);
	to_sink();
	log_release();
	s = from_sink();
	assert_int_equal(lines(s), 40);
	const char *at = s;
	for (int i = 0; i < 40; i++) {
		char want[32];
		snprintf(want, sizeof(want), "event=n i=%d pad=", i);
		const char *hit = strstr(at, want);
		assert_non_null(hit);
		at = hit + 1;
	}
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unheld_lines_go_at_once),
		cmocka_unit_test(held_lines_wait_for_release),
		cmocka_unit_test(many_held_lines_go_whole_and_in_order),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
