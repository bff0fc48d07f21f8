/* Unit tests for smtp/codes.c: the reply-code table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
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

static void test_basic_lookup(void **state)
{
	const struct smtp_basic_code *c;

	(void)state;
	c = smtp_code_basic(334);
	assert_non_null(c);
	assert_int_equal(c->code, 334);
	assert_string_equal(c->rfc, "RFC 4954");
	assert_non_null(strstr(c->fix, "*"));
	/* the AUTH LOGIN prompts and the advice when AUTH keeps failing */
	assert_non_null(strstr(c->when, "VXNlcm5hbWU6"));
	assert_non_null(strstr(c->when, "UGFzc3dvcmQ6"));
	assert_non_null(strstr(c->fix, "credentials and the SASL mechanism"));

	c = smtp_code_basic(500);
	assert_non_null(c);
	assert_int_equal(c->code, 500);
	assert_non_null(strstr(c->when, "512"));
	assert_non_null(strstr(c->when, "CRLF"));
	/* base64 outside an AUTH exchange */
	assert_non_null(strstr(c->when, "500 5.5.2"));

	/* RFC 1985 ETRN */
	assert_non_null(smtp_code_basic(253));
	assert_non_null(smtp_code_basic(458));
	assert_non_null(smtp_code_basic(459));

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
	assert_string_equal(e->registry, "535 554");
	assert_string_equal(e->classes, "45");

	e = smtp_code_enhanced(5, 2);
	assert_non_null(e);
	assert_string_equal(e->name, "Syntax error");

	e = smtp_code_enhanced(4, 2);
	assert_non_null(e);
	assert_string_equal(e->name, "Bad connection");

	e = smtp_code_enhanced(7, 11); /* X.7.11 */
	assert_non_null(e);
	assert_string_equal(e->registry, "524 538");

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
		assert_text(e->when);
		assert_text(e->fix);
		assert_non_null(e->registry);
		assert_non_null(e->practice);
		assert_text(e->classes);
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
		211, 214, 220, 221, 235, 250, 251, 252, 253, 334, 354,
		421, 432, 450, 451, 452, 454, 455, 458, 459,
		500, 501, 502, 503, 504, 521, 530, 534, 535, 538,
		550, 551, 552, 553, 554, 555, 556,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (smtp_code_basic(required[i]) == NULL)
			fail_msg("basic code %d missing", required[i]);
	}
}

/* Every token of a basic-code list is a three-digit code or a "Dxx"
 * wildcard of a class (2, 4, 5); never a 3xx (RFC 3463 has no class 3), and
 * its class is one the entry can carry. */
static void check_list(const struct smtp_enh_code *e, const char *list, bool wildcards)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, " ");

		if (n != 3 || p[0] < '2' || p[0] > '5' || p[0] == '3')
			fail_msg("X.%d.%d: bad token in \"%s\"", e->subject, e->detail, list);
		if (p[1] == 'x') {
			if (!wildcards || p[2] != 'x')
				fail_msg("X.%d.%d: bad wildcard in \"%s\"", e->subject, e->detail, list);
		} else if (p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9') {
			fail_msg("X.%d.%d: bad code in \"%s\"", e->subject, e->detail, list);
		}
		if (!strchr(e->classes, p[0]))
			fail_msg("X.%d.%d: %.3s but classes \"%s\"", e->subject, e->detail, p, e->classes);
		p += n;
		while (*p == ' ')
			p++;
	}
}

static void test_enhanced_lists_wellformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < smtp_code_enhanced_count(); i++) {
		const struct smtp_enh_code *e = smtp_code_enhanced_at(i);

		check_list(e, e->registry, true);
		check_list(e, e->practice, false);
		assert_true(strcmp(e->classes, "2") == 0 || strcmp(e->classes, "45") == 0 ||
			    strcmp(e->classes, "245") == 0);
		/* a practice code repeats none of the registry's */
		for (int b = 200; b < 600; b++)
			if (smtp_code_list_has(e->registry, b, 1) && smtp_code_list_has(e->practice, b, 1))
				fail_msg("X.%d.%d: %d in both lists", e->subject, e->detail, b);
	}
}

/* The two directions come from one table and agree for every pair: the
 * basic code lists the enhanced code exactly when the enhanced code names
 * the basic code (registry or practice), and then the pair is usual. */
static void test_pairs_agree(void **state)
{
	const struct smtp_enh_code *es[256];
	size_t pairs = 0;

	(void)state;
	for (int b = 200; b < 600; b++) {
		size_t n = smtp_code_enh_for_basic(b, es, 256);

		assert_true(n <= 256);
		for (size_t i = 0; i < smtp_code_enhanced_count(); i++) {
			const struct smtp_enh_code *e = smtp_code_enhanced_at(i);
			bool listed = false;

			for (size_t k = 0; k < n; k++)
				listed |= es[k] == e;
			bool named = smtp_code_list_has(e->registry, b, 1) ||
				     smtp_code_list_has(e->practice, b, 1);
			if (listed != named)
				fail_msg("%d and X.%d.%d disagree", b, e->subject, e->detail);
			if (!named)
				continue;
			pairs++;
			enum smtp_pair p = smtp_code_pair(b, b / 100, e);
			if (p != SMTP_PAIR_REGISTRY && p != SMTP_PAIR_PRACTICE)
				fail_msg("%d X.%d.%d listed but judged %d", b, e->subject, e->detail, p);
		}
	}
	assert_true(pairs > 150);
}

static void test_pair_judgements(void **state)
{
	(void)state;
	/* used by Postfix and Sendmail; both in the registry */
	assert_int_equal(smtp_code_pair(502, 5, smtp_code_enhanced(5, 2)), SMTP_PAIR_REGISTRY);
	assert_int_equal(smtp_code_pair(500, 5, smtp_code_enhanced(5, 1)), SMTP_PAIR_REGISTRY);
	/* the cases of the issue: listed with 550 in both directions */
	for (int d = 20; d <= 26; d++)
		assert_int_equal(smtp_code_pair(550, 5, smtp_code_enhanced(7, d)), SMTP_PAIR_REGISTRY);
	assert_int_equal(smtp_code_pair(554, 5, smtp_code_enhanced(7, 0)), SMTP_PAIR_PRACTICE);
	assert_int_equal(smtp_code_pair(554, 5, smtp_code_enhanced(7, 1)), SMTP_PAIR_PRACTICE);
	assert_int_equal(smtp_code_pair(452, 4, smtp_code_enhanced(2, 2)), SMTP_PAIR_PRACTICE);
	/* the registry's wildcards: X.7.17 with any 5xx, X.0.0 with anything */
	assert_int_equal(smtp_code_pair(554, 5, smtp_code_enhanced(7, 17)), SMTP_PAIR_REGISTRY);
	assert_int_equal(smtp_code_pair(251, 2, smtp_code_enhanced(0, 0)), SMTP_PAIR_REGISTRY);
	assert_int_equal(smtp_code_pair(550, 5, smtp_code_enhanced(7, 8)), SMTP_PAIR_UNLISTED);
	/* impossible: the class differs, a 3xx, or a class the code never has */
	assert_int_equal(smtp_code_pair(250, 5, smtp_code_enhanced(1, 1)), SMTP_PAIR_IMPOSSIBLE);
	assert_int_equal(smtp_code_pair(334, 5, smtp_code_enhanced(7, 8)), SMTP_PAIR_IMPOSSIBLE);
	assert_int_equal(smtp_code_pair(250, 2, smtp_code_enhanced(7, 8)), SMTP_PAIR_IMPOSSIBLE);
	assert_int_equal(smtp_code_pair(550, 5, smtp_code_enhanced(1, 5)), SMTP_PAIR_IMPOSSIBLE);
	assert_false(smtp_code_class_possible(smtp_code_enhanced(7, 8), 2));
	assert_true(smtp_code_class_possible(smtp_code_enhanced(7, 8), 4));
	assert_true(smtp_code_class_possible(smtp_code_enhanced(0, 0), 2));
	assert_false(smtp_code_class_possible(smtp_code_enhanced(1, 5), 5));
	assert_false(smtp_code_class_possible(smtp_code_enhanced(1, 5), 3));
	/* ETRN (RFC 1985) through X.5.0 */
	assert_int_equal(smtp_code_pair(253, 2, smtp_code_enhanced(5, 0)), SMTP_PAIR_REGISTRY);
	assert_int_equal(smtp_code_pair(459, 4, smtp_code_enhanced(5, 0)), SMTP_PAIR_REGISTRY);
}

/* Every enhanced code has its own when and fix: no two share a sentence,
 * and none is a basic code's sentence reused. */
static void test_enhanced_own_advice(void **state)
{
	(void)state;
	for (size_t i = 0; i < smtp_code_enhanced_count(); i++) {
		const struct smtp_enh_code *e = smtp_code_enhanced_at(i);

		for (size_t j = i + 1; j < smtp_code_enhanced_count(); j++) {
			const struct smtp_enh_code *f = smtp_code_enhanced_at(j);

			if (strcmp(e->when, f->when) == 0 || strcmp(e->fix, f->fix) == 0)
				fail_msg("X.%d.%d and X.%d.%d share advice", e->subject, e->detail,
					 f->subject, f->detail);
		}
		for (size_t j = 0; j < smtp_code_basic_count(); j++) {
			const struct smtp_basic_code *b = smtp_code_basic_at(j);

			assert_true(strcmp(e->fix, b->fix) != 0);
			assert_true(strcmp(e->when, b->when) != 0);
		}
	}
	/* advice that does not apply: typos for authentication checks, CRLF
	 * for a long AUTH line */
	for (int d = 20; d <= 30; d++)
		assert_null(strstr(smtp_code_enhanced(7, d)->fix, "typo"));
	assert_null(strstr(smtp_code_enhanced(5, 6)->fix, "CRLF"));
}

/* Seen-in-practice notes name who, what and a public page. */
static void test_seen_notes(void **state)
{
	bool gmail_534 = false, ms_139 = false;

	(void)state;
	assert_true(smtp_code_seen_count() >= 10);
	for (size_t i = 0; i < smtp_code_seen_count(); i++) {
		const struct smtp_code_seen *s = smtp_code_seen_at(i);

		assert_text(s->who);
		assert_text(s->reply);
		assert_text(s->meaning);
		assert_text(s->fix);
		assert_true(strncmp(s->source, "https://", 8) == 0);
		if (s->basic) {
			char code[8];

			snprintf(code, sizeof(code), "%d", s->basic);
			assert_true(strncmp(s->reply, code, 3) == 0);
		}
		gmail_534 |= s->basic == 534 && s->subject == 7 && s->detail == 9;
		ms_139 |= s->detail == 139;
	}
	assert_true(gmail_534);
	assert_true(ms_139);
	assert_null(smtp_code_seen_at(smtp_code_seen_count()));
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
		cmocka_unit_test(test_enhanced_lists_wellformed),
		cmocka_unit_test(test_pairs_agree),
		cmocka_unit_test(test_pair_judgements),
		cmocka_unit_test(test_enhanced_own_advice),
		cmocka_unit_test(test_seen_notes),
		cmocka_unit_test(test_enum_resolves),
		cmocka_unit_test(test_class_names),
		cmocka_unit_test(test_subject_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
