/* common/buf: the maximum is a property of the buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/buf.h"
#include "common/str.h"

/* Reserved room is there at once, never past max, and appends use it. */
static void reserve_then_append(void **st)
{
	struct buf b;
	buf_init(&b, 100);
	assert_int_equal(buf_reserve(&b, 40), BUF_OK);
	assert_true(b.cap >= 40 && b.cap <= 100);
	assert_int_equal(b.len, 0);
	char *data = b.data;
	assert_int_equal(buf_append(&b, "0123456789012345678901234567890123456789", 40), BUF_OK);
	assert_ptr_equal(b.data, data); /* no reallocation */
	assert_int_equal(buf_reserve(&b, 1000), BUF_OK);
	assert_int_equal(b.cap, 100);
	buf_fini(&b);
}

static void append_to_max(void **st)
{
	struct buf b;
	buf_init(&b, 10);
	assert_int_equal(buf_append(&b, "0123456789", 10), BUF_OK);
	assert_int_equal(b.len, 10);
	assert_int_equal(buf_append(&b, "x", 1), BUF_TOO_BIG);
	assert_int_equal(b.len, 10);
	buf_consume(&b, 4);
	assert_memory_equal(b.data, "456789", 6);
	assert_int_equal(buf_printf(&b, "%d", 1234), BUF_OK);
	assert_memory_equal(b.data, "4567891234", 10);
	assert_int_equal(buf_printf(&b, "%s", "y"), BUF_TOO_BIG);
	buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	buf_fini(&b);
	assert_null(b.data);
	assert_int_equal(buf_append_str(&b, "again"), BUF_OK); /* usable after fini */
	buf_fini(&b);
}

static void printf_exact_fit(void **st)
{
	struct buf b;
	buf_init(&b, 5);
	/* five octets fit even though vsnprintf wants room for a NUL */
	assert_int_equal(buf_printf(&b, "%s", "abcde"), BUF_OK);
	assert_memory_equal(b.data, "abcde", 5);
	buf_fini(&b);
}

static void strings(void **st)
{
	assert_true(str_ieq("MaIl", 4, "mail"));
	assert_false(str_ieq("mail", 4, "mails"));
	assert_true(str_iprefix("FROM:<a>", 8, "from:"));
	assert_false(str_iprefix("FRO", 3, "from:"));
	char d[4];
	assert_int_equal(str_copy(d, sizeof(d), "abcdef", 6), 3);
	assert_string_equal(d, "abc");
	assert_true(str_ct_equal("secret", "secret", 6));
	assert_false(str_ct_equal("secret", "secreT", 6));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(append_to_max),
		cmocka_unit_test(reserve_then_append),
		cmocka_unit_test(printf_exact_fit),
		cmocka_unit_test(strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
