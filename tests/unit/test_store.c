/* store/store.c: backend selection, the generic checks, and the one reply
 * after DATA decided from per-recipient results (store_summary). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/store.h"

#include <string.h>

static struct store_result res(enum store_status st)
{
	struct store_result r = {.status = st};
	return r;
}

static void expect_summary(const enum store_status *st, size_t n, enum store_status want,
			   size_t want_which)
{
	struct store_result r[8];
	size_t which = 99;
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++)
		r[i] = res(st[i]);
	assert_int_equal(store_summary(r, n, &which), want);
	assert_int_equal(which, want_which);
}

static void test_summary(void **state)
{
	(void)state;
	const enum store_status all_ok[] = {STORE_OK, STORE_OK, STORE_OK};
	expect_summary(all_ok, 3, STORE_OK, 0);
	/* any temporary failure: the client retries (a duplicate, never a loss) */
	const enum store_status one_temp[] = {STORE_OK, STORE_TEMPFAIL, STORE_OK};
	expect_summary(one_temp, 3, STORE_TEMPFAIL, 1);
	const enum store_status temp_perm[] = {STORE_PERMFAIL, STORE_OK, STORE_TEMPFAIL};
	expect_summary(temp_perm, 3, STORE_TEMPFAIL, 2);
	/* local trouble first: 452 before 451 before the target's 4xx */
	const enum store_status local[] = {STORE_TEMPFAIL, STORE_IOERR, STORE_FULL, STORE_IOERR};
	expect_summary(local, 4, STORE_FULL, 2);
	/* permanent and delivered: 5xx, so the sender hears of it */
	const enum store_status perm[] = {STORE_OK, STORE_PERMFAIL, STORE_PERMFAIL};
	expect_summary(perm, 3, STORE_PERMFAIL, 1);
	assert_int_equal(store_summary(NULL, 0, NULL), STORE_IOERR);
	struct store_result one = res(STORE_OK);
	assert_int_equal(store_summary(&one, 0, NULL), STORE_IOERR);
	assert_string_equal(store_status_name(STORE_PERMFAIL), "permfail");
}

static void test_discard(void **state)
{
	(void)state;
	char err[256], big[4096];
	const char *rcpt[] = {"a@x.org", "b@y.org", "c@z.org"};
	struct store_config cfg = {.kind = STORE_DISCARD};
	struct store *st = store_new(&cfg, err, sizeof err);
	assert_non_null(st);
	assert_string_equal(store_name(st), "discard");
	assert_false(store_commit_blocks(st));
	assert_string_equal(store_warnings(st), "");
	assert_true(store_wants_return_path(st));
	assert_false(store_delivered(st, "a@x.org", "QD"));

	struct store_result begin;
	struct store_envelope env = {.queue_id = "QD", .sender = "", .rcpts = rcpt, .nrcpts = 3};
	struct store_msg *m = store_msg_begin(st, &env, &begin);
	assert_non_null(m);
	assert_int_equal(begin.status, STORE_OK);
	memset(big, 'x', sizeof big);
	for (int i = 0; i < 256; i++)
		assert_int_equal(store_msg_write(m, big, sizeof big), STORE_OK);
	struct store_result r[3];
	assert_int_equal(store_msg_commit(m, r), STORE_OK);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(r[i].status, STORE_OK);
	/* once committed: the same answer again, and no more writes */
	assert_int_equal(store_msg_commit(m, NULL), STORE_OK);
	assert_int_equal(store_msg_write(m, "x", 1), STORE_IOERR);
	store_msg_free(m);
	store_free(st);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	char err[256];
	const char *rcpt[] = {"a@x.org", NULL};
	struct store_config cfg = {.kind = STORE_DISCARD};
	struct store *st = store_new(&cfg, err, sizeof err);
	struct store_result r;

	assert_non_null(st);
	struct store_envelope env = {.queue_id = "Q", .sender = "", .rcpts = rcpt, .nrcpts = 0};
	assert_null(store_msg_begin(st, &env, &r));
	assert_int_equal(r.status, STORE_IOERR);
	env.nrcpts = 1;
	env.queue_id = "";
	assert_null(store_msg_begin(st, &env, &r));
	assert_int_equal(r.status, STORE_IOERR);
	env.queue_id = "Q";
	env.sender = NULL;
	assert_null(store_msg_begin(st, &env, &r));
	assert_int_equal(r.status, STORE_IOERR);
	env.sender = "";
	env.nrcpts = 2;
	assert_null(store_msg_begin(st, &env, &r));
	assert_int_equal(r.status, STORE_IOERR);
	assert_non_null(strstr(r.text, "missing"));
	store_free(st);

	cfg.kind = (enum store_kind)42;
	err[0] = '\0';
	assert_null(store_new(&cfg, err, sizeof err));
	assert_non_null(strstr(err, "unknown store"));
	assert_null(store_new(NULL, err, sizeof err));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_discard),
		cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
