/* Unit tests for smtp/codes.c: the reply-code table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/codes.h"

static void assert_text(const char *s)
{
	assert_non_null(s);
	assert_true(s[0] != '\0');
	/* msgids are single lines: a newline would break po files and replies */
	assert_null(strchr(s, '\n'));
	assert_null(strchr(s, '\r'));
}

/* Parse "C.S.D" from *p; advance past it. Returns 0 on success. */
static int parse_esc(const char **p, int *cls, int *subject, int *detail)
{
	char *end;
	long v[3];

	for (int i = 0; i < 3; i++) {
		if (**p < '0' || **p > '9')
			return -1;
		v[i] = strtol(*p, &end, 10);
		if (v[i] > 999)
			return -1;
		*p = end;
		if (i < 2) {
			if (**p != '.')
				return -1;
			(*p)++;
		}
	}
	*cls = (int)v[0];
	*subject = (int)v[1];
	*detail = (int)v[2];
	return 0;
}

static void test_basic_lookup(void **state)
{
	const struct smtp_basic_code *c;

	(void)state;
	c = smtp_code_basic(334);
	assert_non_null(c);
	assert_int_equal(c->code, 334);
	assert_string_equal(c->rfc, "RFC 4954");
	assert_string_equal(c->esc, ""); /* 3xx carry no enhanced code */
	assert_non_null(strstr(c->fix, "*"));

	c = smtp_code_basic(500);
	assert_non_null(c);
	assert_int_equal(c->code, 500);
	assert_non_null(strstr(c->esc, "5.5.2"));
	assert_non_null(strstr(c->esc, "5.5.6"));
	assert_non_null(strstr(c->when, "512"));
	assert_non_null(strstr(c->when, "CRLF"));

	c = smtp_code_basic(535);
	assert_non_null(c);
	assert_string_equal(c->esc, "5.7.8");

	c = smtp_code_basic(250);
	assert_non_null(c);
	assert_int_equal(c->code, 250);

	assert_null(smtp_code_basic(999));
	assert_null(smtp_code_basic(0));
	assert_null(smtp_code_basic(-250));
	assert_null(smtp_code_basic(249));
	assert_null(smtp_code_basic(251 + 1000));
}

static void test_basic_first_last(void **state)
{
	size_t n = smtp_code_basic_count();

	(void)state;
	/* the bisection must reach both ends of the table */
	assert_true(n > 0);
	assert_ptr_equal(smtp_code_basic(smtp_code_basic_at(0)->code),
			 smtp_code_basic_at(0));
	assert_ptr_equal(smtp_code_basic(smtp_code_basic_at(n - 1)->code),
			 smtp_code_basic_at(n - 1));
	assert_null(smtp_code_basic_at(n));
	assert_null(smtp_code_basic_at((size_t)-1));
}

static void test_enhanced_lookup(void **state)
{
	const struct smtp_enh_code *e;

	(void)state;
	e = smtp_code_enhanced(7, 8);
	assert_non_null(e);
	assert_string_equal(e->name, "Authentication credentials invalid");
	assert_string_equal(e->rfc, "RFC 4954");
	assert_string_equal(e->basic, "535");

	e = smtp_code_enhanced(5, 2);
	assert_non_null(e);
	assert_string_equal(e->name, "Syntax error");

	e = smtp_code_enhanced(4, 2);
	assert_non_null(e);
	assert_string_equal(e->name, "Bad connection");

	e = smtp_code_enhanced(7, 11); /* X.7.11 */
	assert_non_null(e);
	assert_string_equal(e->basic, "538");

	e = smtp_code_enhanced(7, 30);
	assert_non_null(e);
	assert_string_equal(e->rfc, "RFC 8689");

	assert_null(smtp_code_enhanced(9, 9));
	assert_null(smtp_code_enhanced(7, 31));
	assert_null(smtp_code_enhanced(4, 8));
	assert_null(smtp_code_enhanced(-1, 0));
	assert_null(smtp_code_enhanced(0, 1));
	assert_null(smtp_code_enhanced(8, 0));
}

static void test_enhanced_first_last(void **state)
{
	size_t n = smtp_code_enhanced_count();
	const struct smtp_enh_code *first, *last;

	(void)state;
	assert_true(n > 0);
	first = smtp_code_enhanced_at(0);
	last = smtp_code_enhanced_at(n - 1);
	assert_ptr_equal(smtp_code_enhanced(first->subject, first->detail), first);
	assert_ptr_equal(smtp_code_enhanced(last->subject, last->detail), last);
	assert_null(smtp_code_enhanced_at(n));
}

static void test_basic_entries_complete(void **state)
{
	(void)state;
	for (size_t i = 0; i < smtp_code_basic_count(); i++) {
		const struct smtp_basic_code *c = smtp_code_basic_at(i);

		assert_non_null(c);
		assert_text(c->name);
		assert_text(c->meaning);
		assert_text(c->when);
		assert_text(c->fix);
		assert_text(c->rfc);
		assert_non_null(c->esc);
		assert_in_range(c->code, 200, 599);
		assert_non_null(smtp_code_class_name(c->code / 100));
		assert_non_null(smtp_code_category_name(c->code / 10 % 10));
		/* every entry can be reached by lookup */
		assert_ptr_equal(smtp_code_basic(c->code), c);
	}
}

static void test_enhanced_entries_complete(void **state)
{
	(void)state;
	for (size_t i = 0; i < smtp_code_enhanced_count(); i++) {
		const struct smtp_enh_code *e = smtp_code_enhanced_at(i);

		assert_non_null(e);
		assert_text(e->name);
		assert_text(e->meaning);
		assert_text(e->basic);
		assert_text(e->rfc);
		assert_in_range(e->subject, 0, 7);
		assert_in_range(e->detail, 0, 99); /* enum encodes subject*100+detail */
		assert_non_null(smtp_enh_subject_name(e->subject));
		assert_ptr_equal(smtp_code_enhanced(e->subject, e->detail), e);
	}
}

static void test_tables_sorted_unique(void **state)
{
	(void)state;
	for (size_t i = 1; i < smtp_code_basic_count(); i++)
		assert_true(smtp_code_basic_at(i - 1)->code < smtp_code_basic_at(i)->code);

	for (size_t i = 1; i < smtp_code_enhanced_count(); i++) {
		const struct smtp_enh_code *a = smtp_code_enhanced_at(i - 1);
		const struct smtp_enh_code *b = smtp_code_enhanced_at(i);

		assert_true(a->subject < b->subject ||
			    (a->subject == b->subject && a->detail < b->detail));
	}
}

/* The registry numbers details without gaps: X.1.0-10, X.2.0-4, X.3.0-6,
 * X.4.0-7, X.5.0-6, X.6.0-10, X.7.0-30. */
static void test_enhanced_registry_coverage(void **state)
{
	static const int last_detail[8] = { 0, 10, 4, 6, 7, 6, 10, 30 };
	size_t total = 0;

	(void)state;
	for (int s = 0; s < 8; s++) {
		for (int d = 0; d <= last_detail[s]; d++) {
			if (smtp_code_enhanced(s, d) == NULL)
				fail_msg("X.%d.%d missing", s, d);
			total++;
		}
		assert_null(smtp_code_enhanced(s, last_detail[s] + 1));
	}
	assert_int_equal(total, smtp_code_enhanced_count());
}

static void test_basic_required_codes(void **state)
{
	static const int required[] = {
		211, 214, 220, 221, 235, 250, 251, 252, 334, 354,
		421, 432, 450, 451, 452, 454, 455,
		500, 501, 502, 503, 504, 521, 530, 534, 535, 538,
		550, 551, 552, 553, 554, 555, 556,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (smtp_code_basic(required[i]) == NULL)
			fail_msg("basic code %d missing", required[i]);
	}
}

/* Each basic entry's typical enhanced codes exist and share its class; 3xx
 * carry none (RFC 3463 has no class 3). */
static void test_basic_esc_consistent(void **state)
{
	(void)state;
	for (size_t i = 0; i < smtp_code_basic_count(); i++) {
		const struct smtp_basic_code *c = smtp_code_basic_at(i);
		const char *p = c->esc;

		if (c->code / 100 == 3) {
			assert_string_equal(c->esc, "");
			continue;
		}
		assert_true(*p != '\0');
		while (*p) {
			int cls = 0, s = 0, d = 0; /* gcc -O2 cannot tell that fail_msg never returns */

			if (parse_esc(&p, &cls, &s, &d) != 0)
				fail_msg("%d: bad esc list \"%s\"", c->code, c->esc);
			assert_int_equal(cls, c->code / 100);
			if (smtp_code_enhanced(s, d) == NULL)
				fail_msg("%d: X.%d.%d not in table", c->code, s, d);
			if (*p == ' ')
				p++;
			else
				assert_int_equal(*p, '\0');
		}
	}
}

/* Each enhanced entry's basic codes are entries of the basic table. */
static void test_enhanced_basic_consistent(void **state)
{
	(void)state;
	for (size_t i = 0; i < smtp_code_enhanced_count(); i++) {
		const struct smtp_enh_code *e = smtp_code_enhanced_at(i);
		const char *p = e->basic;

		while (*p) {
			char *end;
			long v = strtol(p, &end, 10);

			if (end == p || end - p != 3)
				fail_msg("X.%d.%d: bad basic list \"%s\"",
					 e->subject, e->detail, e->basic);
			if (smtp_code_basic((int)v) == NULL)
				fail_msg("X.%d.%d: basic %ld not in table",
					 e->subject, e->detail, v);
			assert_true(v / 100 != 3);
			p = end;
			if (*p == ' ')
				p++;
			else
				assert_int_equal(*p, '\0');
		}
	}
}

static void test_enum_resolves(void **state)
{
	static const enum smtp_esc all[] = {
		ESC_OTHER_UNDEFINED,
		ESC_ADDR_OTHER, ESC_ADDR_BAD_DEST_MAILBOX, ESC_ADDR_BAD_DEST_SYSTEM,
		ESC_ADDR_BAD_DEST_SYNTAX, ESC_ADDR_DEST_AMBIGUOUS, ESC_ADDR_DEST_VALID,
		ESC_ADDR_DEST_MOVED, ESC_ADDR_BAD_SENDER_SYNTAX,
		ESC_ADDR_BAD_SENDER_SYSTEM,
		ESC_MBOX_OTHER, ESC_MBOX_DISABLED, ESC_MBOX_FULL, ESC_MBOX_MSG_TOO_BIG,
		ESC_SYS_OTHER, ESC_SYS_FULL, ESC_SYS_NOT_ACCEPTING,
		ESC_SYS_FEATURE_UNSUPPORTED, ESC_SYS_MSG_TOO_BIG,
		ESC_SYS_INCORRECTLY_CONFIGURED,
		ESC_NET_OTHER, ESC_NET_NO_ANSWER, ESC_NET_BAD_CONNECTION,
		ESC_NET_ROUTING_FAILURE, ESC_NET_CONGESTION, ESC_NET_LOOP,
		ESC_NET_EXPIRED,
		ESC_PROTO_OTHER, ESC_PROTO_INVALID_COMMAND, ESC_PROTO_SYNTAX_ERROR,
		ESC_PROTO_TOO_MANY_RECIPIENTS, ESC_PROTO_INVALID_ARGUMENTS,
		ESC_PROTO_WRONG_VERSION, ESC_PROTO_AUTH_LINE_TOO_LONG,
		ESC_MEDIA_OTHER, ESC_MEDIA_NOT_SUPPORTED,
		ESC_MEDIA_CONVERSION_REQUIRED, ESC_MEDIA_CONVERSION_FAILED,
		ESC_MEDIA_NON_ASCII_ADDRESS,
		ESC_SEC_OTHER, ESC_SEC_DELIVERY_NOT_AUTHORIZED,
		ESC_SEC_EXPANSION_DENIED, ESC_SEC_CONVERSION_NOT_POSSIBLE,
		ESC_SEC_FEATURE_UNSUPPORTED, ESC_SEC_CRYPTO_FAILURE,
		ESC_SEC_AUTH_CREDENTIALS_INVALID, ESC_SEC_AUTH_MECH_TOO_WEAK,
		ESC_SEC_ENCRYPTION_NEEDED, ESC_SEC_ENCRYPTION_REQUIRED,
		ESC_SEC_PASSWORD_TRANSITION,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const struct smtp_enh_code *e = smtp_code_esc(all[i]);

		if (e == NULL)
			fail_msg("enum value %d does not resolve", (int)all[i]);
		assert_int_equal(e->subject * 100 + e->detail, (int)all[i]);
	}
	assert_null(smtp_code_esc(ESC_NONE));

	/* spot-check that the enum names match the registry titles */
	assert_string_equal(smtp_code_esc(ESC_PROTO_AUTH_LINE_TOO_LONG)->name,
			    "Authentication Exchange line is too long");
	assert_string_equal(smtp_code_esc(ESC_SEC_ENCRYPTION_REQUIRED)->name,
			    "Encryption required for requested authentication mechanism");
	assert_string_equal(smtp_code_esc(ESC_MBOX_FULL)->name, "Mailbox full");
}

static void test_class_names(void **state)
{
	(void)state;
	assert_string_equal(smtp_code_class_name(2), "Positive completion");
	assert_string_equal(smtp_code_class_name(3), "Positive intermediate");
	assert_string_equal(smtp_code_class_name(4), "Transient negative completion");
	assert_string_equal(smtp_code_class_name(5), "Permanent negative completion");
	assert_null(smtp_code_class_name(1));
	assert_null(smtp_code_class_name(6));
	assert_null(smtp_code_class_name(-1));

	assert_string_equal(smtp_code_category_name(0), "Syntax");
	assert_string_equal(smtp_code_category_name(1), "Information");
	assert_string_equal(smtp_code_category_name(2), "Connections");
	assert_string_equal(smtp_code_category_name(3), "Unspecified");
	assert_string_equal(smtp_code_category_name(4), "Unspecified");
	assert_string_equal(smtp_code_category_name(5), "Mail system");
	assert_null(smtp_code_category_name(6));
	assert_null(smtp_code_category_name(-1));

	assert_string_equal(smtp_enh_class_name(2), "Success");
	assert_string_equal(smtp_enh_class_name(4), "Persistent transient failure");
	assert_string_equal(smtp_enh_class_name(5), "Permanent failure");
	assert_null(smtp_enh_class_name(3));
	assert_null(smtp_enh_class_name(0));
	assert_null(smtp_enh_class_name(6));
}

static void test_subject_names(void **state)
{
	(void)state;
	assert_string_equal(smtp_enh_subject_name(0), "Other or undefined status");
	assert_string_equal(smtp_enh_subject_name(1), "Addressing status");
	assert_string_equal(smtp_enh_subject_name(2), "Mailbox status");
	assert_string_equal(smtp_enh_subject_name(3), "Mail system status");
	assert_string_equal(smtp_enh_subject_name(4), "Network and routing status");
	assert_string_equal(smtp_enh_subject_name(5), "Mail delivery protocol status");
	assert_string_equal(smtp_enh_subject_name(6), "Message content or media status");
	assert_string_equal(smtp_enh_subject_name(7), "Security or policy status");
	assert_null(smtp_enh_subject_name(8));
	assert_null(smtp_enh_subject_name(-1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_lookup),
		cmocka_unit_test(test_basic_first_last),
		cmocka_unit_test(test_enhanced_lookup),
		cmocka_unit_test(test_enhanced_first_last),
		cmocka_unit_test(test_basic_entries_complete),
		cmocka_unit_test(test_enhanced_entries_complete),
		cmocka_unit_test(test_tables_sorted_unique),
		cmocka_unit_test(test_enhanced_registry_coverage),
		cmocka_unit_test(test_basic_required_codes),
		cmocka_unit_test(test_basic_esc_consistent),
		cmocka_unit_test(test_enhanced_basic_consistent),
		cmocka_unit_test(test_enum_resolves),
		cmocka_unit_test(test_class_names),
		cmocka_unit_test(test_subject_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
