/* Unit tests for client/explain.c: `postern explain` in English and Thai,
 * the comparison of codes, argument parsing, JSON, and the coverage of the
 * Thai catalogue (po/th.po, compiled by the build into
 * POSTERN_BUILD_LOCALEDIR). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libintl.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/explain.h"
#include "smtp/codes.h"

#ifndef POSTERN_BUILD_LOCALEDIR
#error "meson passes POSTERN_BUILD_LOCALEDIR"
#endif

static const char *th(const char *msgid)
{
	return dgettext("postern", msgid);
}

/* Explain the arguments (as on the command line) as text or JSON; returns a
 * NUL-terminated copy for the caller to free. */
static char *run(client_explain_tr tr, bool json, size_t nargs, ...)
{
	char *args[CLIENT_EXPLAIN_MAX_CODES + 4];
	struct client_explain_code codes[CLIENT_EXPLAIN_MAX_CODES];
	size_t n = 0, bad = 0;
	struct buf b;
	va_list ap;

	assert_true(nargs <= CLIENT_EXPLAIN_MAX_CODES + 4);
	va_start(ap, nargs);
	for (size_t i = 0; i < nargs; i++)
		args[i] = va_arg(ap, char *);
	va_end(ap);
	assert_int_equal(client_explain_parse_args(args, nargs, codes, &n, &bad), EXPLAIN_OK);
	buf_init(&b, CLIENT_EXPLAIN_MAX_OUTPUT);
	if (json)
		assert_int_equal(client_explain_json(&b, codes, n, tr, tr ? "th" : "en"), BUF_OK);
	else
		assert_int_equal(client_explain_text(&b, codes, n, tr), BUF_OK);
	assert_int_equal(buf_append(&b, "", 1), BUF_OK);
	char *s = strdup(b.data);
	buf_fini(&b);
	assert_non_null(s);
	return s;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected to find\n  %s\nin\n%s", needle, hay);
}

static void assert_prefix(const char *s, const char *prefix)
{
	if (strncmp(s, prefix, strlen(prefix)) != 0)
		fail_msg("expected to start with\n%s\ngot\n%s", prefix, s);
}

static void assert_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle))
		fail_msg("did not expect\n  %s\nin\n%s", needle, hay);
}

/* ---- English, exact text ---- */

static void test_en_334(void **state)
{
	(void)state;
	char *s = run(NULL, false, 1, "334");

	assert_string_equal(s,
		"334 Authentication challenge (RFC 4954)\n"
		"  Class:       3xx positive intermediate: the command was accepted, but the server needs more from the client to complete it\n"
		"  Category:    x3x unspecified: left open by RFC 5321; SMTP AUTH (RFC 4954) uses it for authentication replies\n"
		"  Description: A positive intermediate reply carrying the server's SASL challenge as base64, possibly empty.\n"
		"  When you meet it: During AUTH: the server sends a base64 challenge and the client answers with one base64 line; AUTH LOGIN asks with two fixed prompts, VXNlcm5hbWU6 (\"Username:\") and UGFzc3dvcmQ6 (\"Password:\").\n"
		"  How to fix:  Nothing to fix: answer with one base64 line (for AUTH LOGIN the user name, then the password), or send \"*\" to cancel; if authentication keeps failing, check your credentials and the SASL mechanism.\n"
		"  Enhanced codes: none (3xx replies carry none)\n");
	free(s);
}

static void test_en_500(void **state)
{
	(void)state;
	char *s = run(NULL, false, 1, "500");

	assert_string_equal(s,
		"500 Syntax error, command unrecognised (RFC 5321, RFC 4954)\n"
		"  Class:       5xx permanent negative completion: the action was not taken, and repeating the command unchanged will fail again\n"
		"  Category:    x0x syntax: syntax errors, and commands that are unrecognised, out of place or not implemented\n"
		"  Description: The server could not make sense of the command line.\n"
		"  When you meet it: A typo or an unknown verb, a line over 512 octets or not ended by CRLF, or base64 sent when the server is not in an AUTH exchange (500 5.5.2); during AUTH, a response line that is too long (500 5.5.6).\n"
		"  How to fix:  Look at the command sent last: spell the verb right, keep lines under 512 octets ending in CRLF, and send base64 only in answer to a 334 challenge.\n"
		"  Enhanced codes:\n"
		"    5.3.3 System not capable of selected features\n"
		"    5.5.1 Invalid command\n"
		"    5.5.2 Syntax error\n"
		"    5.5.6 Authentication Exchange line is too long\n"
		"    5.7.0 Other or undefined security status\n"
		"  Seen in practice:\n"
		"    Microsoft Exchange: 500 5.3.3 Unrecognized command\n"
		"      Exchange's reply to a command it does not know, often a client speaking a later stage too early or a proxy mangling the session. Look at the command sent just before it in the transcript; send EHLO first and only commands listed in the EHLO reply.\n"
		"      (source: https://learn.microsoft.com/en-us/exchange/mail-flow/connectors/receive-connectors)\n");
	free(s);
}

static void test_en_578(void **state)
{
	(void)state;
	char *s = run(NULL, false, 1, "5.7.8");

	assert_string_equal(s,
		"5.7.8 Authentication credentials invalid (RFC 4954)\n"
		"  Class:       5.x.x permanent failure: resending as it is will not help; the cause must be fixed first (the message, the address, the destination or the credentials)\n"
		"  Subject:     x.7.x security or policy status\n"
		"  Detail:      x.x.8 Authentication credentials invalid\n"
		"  Description: AUTH failed because the credentials are wrong or not sufficient.\n"
		"  When you meet it: As the last reply of a failed AUTH exchange: a wrong user name or password, or a provider refusing a plain password (Gmail: 535-5.7.8 Username and Password not accepted).\n"
		"  How to fix:  Check the user name (often the full address) and the password; at providers with two-step login, create an app password.\n"
		"  Basic codes (IANA registry):\n"
		"    535 Authentication credentials invalid\n"
		"    554 Transaction failed\n"
		"  Seen in practice:\n"
		"    Gmail: 535-5.7.8 Username and Password not accepted.\n"
		"      The user name or password is wrong, or the account needs an app password for SMTP. Use the full address as the user name, then an app password if 2-Step Verification is on.\n"
		"      (source: https://support.google.com/a/answer/3726730)\n");
	free(s);
}

static const char en_535_578[] =
	"535 5.7.8 Authentication credentials invalid (RFC 4954)\n"
	"  Class:       5xx permanent negative completion: the action was not taken, and repeating the command unchanged will fail again\n"
	"  Category:    x3x unspecified: left open by RFC 5321; SMTP AUTH (RFC 4954) uses it for authentication replies\n"
	"  Description: Authentication failed: the user name, password or other credential is wrong.\n"
	"  When you meet it: As the last reply of a failed AUTH exchange; unknown users and wrong passwords get the same reply.\n"
	"  How to fix:  Check the user name and password and try again; repeated failures may close the session.\n"
	"  Enhanced codes:\n"
	"    5.7.0 Other or undefined security status\n"
	"    5.7.8 Authentication credentials invalid\n"
	"    5.7.13 User Account Disabled\n"
	"    5.7.14 Trust relationship required\n"
	"  Enhanced code: 5.7.8 Authentication credentials invalid (RFC 4954)\n"
	"    Class:       5.x.x permanent failure: resending as it is will not help; the cause must be fixed first (the message, the address, the destination or the credentials)\n"
	"    Subject:     x.7.x security or policy status\n"
	"    Detail:      x.x.8 Authentication credentials invalid\n"
	"    Description: AUTH failed because the credentials are wrong or not sufficient.\n"
	"    Note:        The IANA registry lists 5.7.8 with 535.\n"
	"    When you meet it: As the last reply of a failed AUTH exchange: a wrong user name or password, or a provider refusing a plain password (Gmail: 535-5.7.8 Username and Password not accepted).\n"
	"    How to fix:  Check the user name (often the full address) and the password; at providers with two-step login, create an app password.\n"
	"    Basic codes (IANA registry):\n"
	"      535 Authentication credentials invalid\n"
	"      554 Transaction failed\n"
	"  Seen in practice:\n"
	"    Gmail: 535-5.7.8 Username and Password not accepted.\n"
	"      The user name or password is wrong, or the account needs an app password for SMTP. Use the full address as the user name, then an app password if 2-Step Verification is on.\n"
	"      (source: https://support.google.com/a/answer/3726730)\n";

static void test_en_535_578(void **state)
{
	(void)state;
	char *s = run(NULL, false, 1, "535 5.7.8");

	assert_string_equal(s, en_535_578);
	free(s);
	/* the continuation-line form and two separate arguments are the same reply */
	s = run(NULL, false, 1, "535-5.7.8");
	assert_string_equal(s, en_535_578);
	free(s);
	s = run(NULL, false, 2, "535", "5.7.8");
	assert_string_equal(s, en_535_578);
	free(s);
}

static void test_en_pair_notes(void **state)
{
	(void)state;
	char *s = run(NULL, false, 1, "250 5.1.1");

	assert_contains(s, "    Note:        Impossible: the class of 5.1.1 does not match 250; an enhanced code starts with the first digit of its basic code.\n");
	free(s);
	s = run(NULL, false, 1, "550 5.7.8");
	assert_contains(s, "    Note:        Unusual: the IANA registry lists 5.7.8 with 535, 554, not with 550.\n");
	free(s);
	s = run(NULL, false, 1, "334 5.7.8");
	assert_contains(s, "    Note:        Impossible: 3xx replies carry no enhanced code.\n");
	free(s);
	/* the pairs the issue found contradicting themselves, and Postfix's and Sendmail's */
	s = run(NULL, false, 1, "550 5.7.26");
	assert_contains(s, "    Note:        The IANA registry lists 5.7.26 with 550.\n");
	free(s);
	s = run(NULL, false, 1, "5.7.26");
	assert_contains(s, "  Basic codes (IANA registry):\n    550 Mailbox unavailable\n");
	free(s);
	s = run(NULL, false, 1, "502 5.5.2");
	assert_contains(s, "    Note:        The IANA registry lists 5.5.2 with 502.\n");
	free(s);
	s = run(NULL, false, 1, "500 5.5.1");
	assert_contains(s, "    Note:        The IANA registry lists 5.5.1 with 500.\n");
	free(s);
	s = run(NULL, false, 1, "554 5.7.1");
	assert_contains(s, "    Note:        The IANA registry does not list 5.7.1 with 554, but servers commonly send them together.\n");
	/* a relay refusal is explained as relaying */
	assert_contains(s, "Relaying: the server takes mail only for its own domains unless you authenticate");
	free(s);
	s = run(NULL, false, 1, "503 5.7.1 Relay not allowed");
	assert_contains(s, "  Reply text:  Relay not allowed\n");
	assert_contains(s, "with 5.7.1 it is a relay refusal, not an order problem");
	free(s);
	/* impossible on its own: a failure code with the success class */
	s = run(NULL, false, 1, "2.7.8");
	assert_contains(s, "  Note:        Impossible: 2.7.8 reports a failure, so it never comes with a success (class 2); it occurs as 4.7.8, 5.7.8.\n");
	free(s);
	s = run(NULL, false, 1, "5.1.5");
	assert_contains(s, "  Note:        Impossible: 5.1.5 reports a success, so it never comes with a failure (class 4 or 5); it occurs as 2.1.5.\n");
	free(s);
	/* the registry's form: every class it occurs in */
	s = run(NULL, false, 1, "X.7.8");
	assert_prefix(s, "X.7.8 Authentication credentials invalid (RFC 4954)\n"
		"  Class:       X (the registry's form, without a class): it occurs as 4.7.8, 5.7.8\n");
	free(s);
	/* RFC 1985 ETRN */
	s = run(NULL, false, 1, "459");
	assert_contains(s, "459 Node not allowed (RFC 1985)\n");
	free(s);
	/* seen in practice, with a source */
	s = run(NULL, false, 1, "534 5.7.9");
	assert_contains(s, "    Gmail: 534-5.7.9 Application-specific password required.\n");
	assert_contains(s, "(source: https://support.google.com/a/answer/3726730)\n");
	free(s);
	s = run(NULL, false, 1, "5.7.139");
	assert_contains(s, "5.7.139 is not a defined enhanced status code\n");
	assert_contains(s, "    Microsoft 365: 535 5.7.139 ");
	free(s);
	/* a 334 challenge is decoded */
	s = run(NULL, false, 1, "334 UGFzc3dvcmQ6");
	assert_contains(s, "  Challenge:   \"Password:\"\n");
	free(s);
	/* an enhanced code of another class stays a code of its own */
	s = run(NULL, false, 2, "250", "5.1.1");
	assert_contains(s, "Key difference:\n");
	free(s);
}

/* ---- undefined but well-formed codes ---- */

static void test_en_undefined(void **state)
{
	(void)state;
	char *s = run(NULL, false, 1, "299");

	assert_string_equal(s,
		"299 is not a defined SMTP reply code\n"
		"  Class:       2xx positive completion: the requested action was completed\n"
		"  Category:    x9x not a category RFC 5321 defines: the second digit runs from 0 to 5\n"
		"  How to fix:  Nothing to fix.\n"
		"  Defined codes like it: none\n");
	free(s);

	s = run(NULL, false, 1, "553");
	assert_lacks(s, "not a defined");
	free(s);
	s = run(NULL, false, 1, "559");
	assert_contains(s, "559 is not a defined SMTP reply code\n");
	assert_contains(s, "  Category:    x5x mail system: ");
	assert_contains(s, "  Defined codes like it:\n    550 Mailbox unavailable\n    551 ");
	assert_contains(s, "    556 Domain does not accept mail\n");
	free(s);

	s = run(NULL, false, 1, "5.9.9");
	assert_string_equal(s,
		"5.9.9 is not a defined enhanced status code\n"
		"  Class:       5.x.x permanent failure: resending as it is will not help; the cause must be fixed first (the message, the address, the destination or the credentials)\n"
		"  Subject:     x.9.x not a subject RFC 3463 defines: subjects run from 0 to 7\n"
		"  Detail:      x.x.9 not defined for this subject\n"
		"  How to fix:  Do not send it again unchanged: first correct what the reply text points to.\n");
	free(s);

	s = run(NULL, false, 1, "4.7.999");
	assert_contains(s, "4.7.999 is not a defined enhanced status code\n");
	assert_contains(s, "  Subject:     x.7.x security or policy status\n");
	assert_contains(s, "  How to fix:  Wait and try again later;");
	free(s);
}

/* ---- comparison ---- */

static void test_compare_334_500(void **state)
{
	(void)state;
	char *s = run(NULL, false, 2, "334", "500");
	const char *key = strstr(s, "Key difference:\n");

	assert_non_null(key);
	/* side by side first, then each code, then the comparison */
	assert_prefix(s,
		"Side by side:\n"
		"  334  3xx positive intermediate          x3x unspecified  Authentication challenge\n"
		"  500  5xx permanent negative completion  x0x syntax       Syntax error, command unrecognised\n"
		"\n"
		"334 Authentication challenge (RFC 4954)\n");
	assert_contains(s, "\n500 Syntax error, command unrecognised (RFC 5321, RFC 4954)\n");
	assert_string_equal(key,
		"Key difference:\n"
		"  334 is a positive reply (the server goes along with the command); 500 is a negative one (the server refuses it).\n"
		"  334 is intermediate: the exchange is not over and the server waits for the client; 500 is final: the command is over, one way or the other.\n"
		"  500 is permanent: repeating the command unchanged will fail again.\n"
		"  They differ in category: 334 is in x3x unspecified, 500 is in x0x syntax.\n"
		"  334: A positive intermediate reply carrying the server's SASL challenge as base64, possibly empty.\n"
		"  500: The server could not make sense of the command line.\n"
		"  How they meet: base64 sent when the server is not in an AUTH exchange (no 334 pending) is read as a command and gets 500 5.5.2.\n"
		"\n"
		"Which applies when:\n"
		"  334: During AUTH: the server sends a base64 challenge and the client answers with one base64 line; AUTH LOGIN asks with two fixed prompts, VXNlcm5hbWU6 (\"Username:\") and UGFzc3dvcmQ6 (\"Password:\").\n"
		"    What to do on 334: carry on with the exchange: the server waits for you. Nothing to fix: answer with one base64 line (for AUTH LOGIN the user name, then the password), or send \"*\" to cancel; if authentication keeps failing, check your credentials and the SASL mechanism.\n"
		"  500: A typo or an unknown verb, a line over 512 octets or not ended by CRLF, or base64 sent when the server is not in an AUTH exchange (500 5.5.2); during AUTH, a response line that is too long (500 5.5.6).\n"
		"    What to do on 500: fix the cause before trying again. Look at the command sent last: spell the verb right, keep lines under 512 octets ending in CRLF, and send base64 only in answer to a 334 challenge.\n");
	free(s);
}

/* The key difference follows from the digits, whatever the pair. */
static void test_compare_generic(void **state)
{
	(void)state;
	char *s = run(NULL, false, 2, "450", "550");

	assert_contains(s, "  Both 450 and 550 are negative replies: the server refuses the command.\n");
	assert_contains(s, "  450 is transient: the same command may succeed if tried again later; 550 is permanent: repeating it unchanged will fail again.\n");
	assert_contains(s, "  Both are in category x5x mail system.\n");
	assert_contains(s, "    What to do on 450: wait and try again later.");
	assert_lacks(s, "intermediate:");
	free(s);

	/* order does not matter: the positive one is named first */
	s = run(NULL, false, 2, "550", "250");
	assert_contains(s, "  250 is a positive reply (the server goes along with the command); 550 is a negative one (the server refuses it).\n");
	assert_contains(s, "  550 is permanent: repeating the command unchanged will fail again.\n");
	free(s);

	s = run(NULL, false, 2, "250", "354");
	assert_contains(s, "  Both 250 and 354 are positive replies: the server goes along with the command.\n");
	assert_contains(s, "  354 is intermediate: the exchange is not over and the server waits for the client; 250 is final: the command is over, one way or the other.\n");
	assert_lacks(s, "transient");
	assert_lacks(s, "permanent:");
	free(s);

	s = run(NULL, false, 2, "4.2.2", "5.2.2");
	assert_contains(s, "  4.2.2 is transient: the same command may succeed if tried again later; 5.2.2 is permanent: repeating it unchanged will fail again.\n");
	assert_contains(s, "  Both are in subject x.2.x mailbox status.\n");
	assert_lacks(s, "category");
	free(s);

	s = run(NULL, false, 2, "5.1.1", "5.7.1");
	assert_contains(s, "  Both 5.1.1 and 5.7.1 are permanent: repeating the command unchanged will fail again.\n");
	assert_contains(s, "  They differ in subject: 5.1.1 is in x.1.x addressing status, 5.7.1 is in x.7.x security or policy status.\n");
	free(s);

	/* three codes: every pair, each under its own heading */
	s = run(NULL, false, 3, "334", "421", "535 5.7.8");
	assert_contains(s, "  334 / 421:\n    334 is a positive reply");
	assert_contains(s, "  334 / 535 5.7.8:\n");
	assert_contains(s, "  421 / 535 5.7.8:\n    Both 421 and 535 5.7.8 are negative replies");
	assert_contains(s, "    421 is transient: the same command may succeed if tried again later; 535 5.7.8 is permanent: repeating it unchanged will fail again.\n");
	assert_contains(s, "  535 5.7.8: As the last reply of a failed AUTH exchange:");
	free(s);
}

/* ---- parsing ---- */

static void test_parse(void **state)
{
	static const struct {
		const char *arg;
		int rc;
		int basic, cls, subject, detail;
	} cases[] = {
		{ "334", EXPLAIN_OK, 334, 0, 0, 0 },
		{ "299", EXPLAIN_OK, 299, 0, 0, 0 },
		{ "5.7.8", EXPLAIN_OK, 0, 5, 7, 8 },
		{ "4.4.2", EXPLAIN_OK, 0, 4, 4, 2 },
		{ "5.9.9", EXPLAIN_OK, 0, 5, 9, 9 },
		{ "2.0.0", EXPLAIN_OK, 0, 2, 0, 0 },
		{ "5.7.999", EXPLAIN_OK, 0, 5, 7, 999 },
		{ "535 5.7.8", EXPLAIN_OK, 535, 5, 7, 8 },
		{ "535  5.7.8", EXPLAIN_OK, 535, 5, 7, 8 },
		{ "535-5.7.8", EXPLAIN_OK, 535, 5, 7, 8 },
		{ "abc", EXPLAIN_ERR_SYNTAX, 0, 0, 0, 0 },
		{ "", EXPLAIN_ERR_SYNTAX, 0, 0, 0, 0 },
		/* what people paste: spaces around, a CR, the rest of the reply line */
		{ " 550", EXPLAIN_OK, 550, 0, 0, 0 },
		{ "550 \r", EXPLAIN_OK, 550, 0, 0, 0 },
		{ "535-5.7.8 Username and Password not accepted.", EXPLAIN_OK, 535, 5, 7, 8 },
		{ "X.7.8", EXPLAIN_OK, 0, CLIENT_EXPLAIN_ANY_CLASS, 7, 8 },
		{ "x.1.10", EXPLAIN_OK, 0, CLIENT_EXPLAIN_ANY_CLASS, 1, 10 },
		{ "334 VXNlcm5hbWU6", EXPLAIN_OK, 334, 0, 0, 0 },
		{ "X.7", EXPLAIN_ERR_ENH_PARTS, 0, 0, 0, 0 },
		{ "Y.7.8", EXPLAIN_ERR_SYNTAX, 0, 0, 0, 0 },
		{ "535 5.7", EXPLAIN_ERR_ENH_PARTS, 0, 0, 0, 0 },
		{ "55O", EXPLAIN_ERR_SYNTAX, 0, 0, 0, 0 },
		{ "6000", EXPLAIN_ERR_BASIC_DIGITS, 0, 0, 0, 0 },
		{ "55", EXPLAIN_ERR_BASIC_DIGITS, 0, 0, 0, 0 },
		{ "600", EXPLAIN_ERR_BASIC_CLASS, 0, 0, 0, 0 },
		{ "199", EXPLAIN_ERR_BASIC_CLASS, 0, 0, 0, 0 },
		{ "1.2", EXPLAIN_ERR_ENH_PARTS, 0, 0, 0, 0 },
		{ "5.1.1.1", EXPLAIN_ERR_ENH_PARTS, 0, 0, 0, 0 },
		{ "5..1", EXPLAIN_ERR_ENH_PARTS, 0, 0, 0, 0 },
		{ "5.1.", EXPLAIN_ERR_ENH_PARTS, 0, 0, 0, 0 },
		{ ".1.1", EXPLAIN_ERR_ENH_PARTS, 0, 0, 0, 0 },
		{ "3.1.1", EXPLAIN_ERR_ENH_CLASS, 0, 0, 0, 0 },
		{ "55.1.1", EXPLAIN_ERR_ENH_CLASS, 0, 0, 0, 0 },
		{ "5.1000.1", EXPLAIN_ERR_ENH_DIGITS, 0, 0, 0, 0 },
		{ "5.1.1000", EXPLAIN_ERR_ENH_DIGITS, 0, 0, 0, 0 },
		{ "5.01.1", EXPLAIN_ERR_ENH_ZERO, 0, 0, 0, 0 },
		{ "5.1.00", EXPLAIN_ERR_ENH_ZERO, 0, 0, 0, 0 },
		{ "535 abc", EXPLAIN_OK, 535, 0, 0, 0 },
		{ "535 535", EXPLAIN_OK, 535, 0, 0, 0 },
		{ "5.7.8 535", EXPLAIN_OK, 0, 5, 7, 8 },
		{ "6000 5.7.8", EXPLAIN_ERR_BASIC_DIGITS, 0, 0, 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct client_explain_code c;
		int rc = client_explain_parse(cases[i].arg, &c);

		if (rc != cases[i].rc)
			fail_msg("\"%s\": got %d, want %d", cases[i].arg, rc, cases[i].rc);
		if (rc != EXPLAIN_OK)
			continue;
		assert_int_equal(c.basic, cases[i].basic);
		assert_int_equal(c.cls, cases[i].cls);
		assert_int_equal(c.subject, cases[i].subject);
		assert_int_equal(c.detail, cases[i].detail);
	}
	/* the reply text is kept, cut and cleaned */
	struct client_explain_code c;

	assert_int_equal(client_explain_parse("535-5.7.8 Username and\x1b[2J Password \r", &c), EXPLAIN_OK);
	assert_string_equal(c.text, "Username and?[2J Password");
	assert_int_equal(client_explain_parse("334 VXNlcm5hbWU6", &c), EXPLAIN_OK);
	assert_string_equal(c.text, "VXNlcm5hbWU6");
	/* every error has a one-line message naming the argument */
	for (int e = EXPLAIN_ERR_SYNTAX; e <= EXPLAIN_ERR_TOO_MANY; e++) {
		const char *m = client_explain_strerror(e);

		assert_non_null(strstr(m, "\"%s\":"));
		assert_null(strchr(m, '\n'));
	}
}

static void test_parse_args(void **state)
{
	struct client_explain_code c[CLIENT_EXPLAIN_MAX_CODES];
	size_t n = 99, bad = 99;

	(void)state;
	char *a1[] = { "334", "500" };
	assert_int_equal(client_explain_parse_args(a1, 2, c, &n, &bad), EXPLAIN_OK);
	assert_int_equal(n, 2);

	/* a basic code and an enhanced code of its class make one reply, once */
	char *a2[] = { "550", "5.1.1", "5.7.1", "4.2.2" };
	assert_int_equal(client_explain_parse_args(a2, 4, c, &n, &bad), EXPLAIN_OK);
	assert_int_equal(n, 3);
	assert_int_equal(c[0].basic, 550);
	assert_int_equal(c[0].detail, 1);
	assert_int_equal(c[1].basic, 0);
	assert_int_equal(c[1].subject, 7);

	char *a3[] = { "450", "5.1.1" };
	assert_int_equal(client_explain_parse_args(a3, 2, c, &n, &bad), EXPLAIN_OK);
	assert_int_equal(n, 2);

	char *a4[] = { "550 5.1.1", "5.1.1" };
	assert_int_equal(client_explain_parse_args(a4, 2, c, &n, &bad), EXPLAIN_OK);
	assert_int_equal(n, 2);

	char *a5[] = { "250", "abc", "6000" };
	assert_int_equal(client_explain_parse_args(a5, 3, c, &n, &bad), EXPLAIN_ERR_SYNTAX);
	assert_int_equal(bad, 1);

	/* the limit: CLIENT_EXPLAIN_MAX_CODES codes, not one more */
	char *many[CLIENT_EXPLAIN_MAX_CODES + 1];
	for (size_t i = 0; i <= CLIENT_EXPLAIN_MAX_CODES; i++)
		many[i] = "250";
	assert_int_equal(client_explain_parse_args(many, CLIENT_EXPLAIN_MAX_CODES, c, &n, &bad), EXPLAIN_OK);
	assert_int_equal(n, CLIENT_EXPLAIN_MAX_CODES);
	assert_int_equal(client_explain_parse_args(many, CLIENT_EXPLAIN_MAX_CODES + 1, c, &n, &bad),
		EXPLAIN_ERR_TOO_MANY);
	assert_int_equal(bad, CLIENT_EXPLAIN_MAX_CODES);
}

/* The output buffer has a maximum; hitting it is an error, not a crash. */
static void test_output_limit(void **state)
{
	struct client_explain_code c[2] = { { .basic = 334 }, { .basic = 500 } };
	struct buf b;

	(void)state;
	for (size_t max = 0; max < 400; max += 37) {
		buf_init(&b, max);
		assert_int_equal(client_explain_text(&b, c, 2, NULL), BUF_TOO_BIG);
		assert_true(b.len <= max);
		buf_fini(&b);
		buf_init(&b, max);
		assert_int_equal(client_explain_json(&b, c, 2, NULL, "en"), BUF_TOO_BIG);
		buf_fini(&b);
	}
	buf_init(&b, 64);
	assert_int_equal(client_explain_text(&b, c, 0, NULL), BUF_TOO_BIG);
	buf_fini(&b);
}

/* ---- JSON ---- */

static void test_json(void **state)
{
	(void)state;
	char *s = run(NULL, true, 2, "334", "535 5.7.8");

	assert_prefix(s, "{\"schema\":1,\"lang\":\"en\",\"codes\":[{\"code\":\"334\",\"status\":\"defined\","
		"\"name\":\"Authentication challenge\",\"text\":null,\"challenge\":null,\"basic\":{\"code\":\"334\"");
	assert_contains(s, "\"enhanced\":null,\"pair\":null,\"note\":null,\"seen_in_practice\":[]");
	assert_contains(s, "\"enhanced\":{\"code\":\"5.7.8\",\"defined\":true");
	assert_contains(s, "\"pair\":\"registry\",\"note\":\"The IANA registry lists 5.7.8 with 535.\"");
	assert_contains(s, "\"source\":\"https://support.google.com/a/answer/3726730\"");
	assert_contains(s, "\"comparison\":{\"pairs\":[{\"codes\":[\"334\",\"535 5.7.8\"],\"key_difference\":[\"334 is a positive reply");
	assert_contains(s, "\"which_when\":[{\"code\":\"334\",\"when\":");
	assert_int_equal(s[strlen(s) - 1], '\n');
	assert_int_equal(s[strlen(s) - 2], '}');
	free(s);

	s = run(NULL, true, 1, "299");
	assert_contains(s, "\"status\":\"undefined\"");
	assert_contains(s, "\"category\":{\"digit\":9,\"name\":null,");
	assert_contains(s, "\"comparison\":null}");
	free(s);

	s = run(NULL, true, 1, "2.7.8");
	assert_contains(s, "\"status\":\"impossible\"");
	assert_contains(s, "\"note\":\"Impossible: 2.7.8 reports a failure");
	free(s);
}

/* ---- Thai ---- */

static void test_th_catalogue_found(void **state)
{
	(void)state;
	if (strcmp(th("Description"), "คำอธิบาย") != 0)
		fail_msg("no Thai catalogue under %s (build po/th.po first)", POSTERN_BUILD_LOCALEDIR);
}

static void test_th_334(void **state)
{
	(void)state;
	char *s = run(th, false, 1, "334");

	assert_string_equal(s,
		"334 เซิร์ฟเวอร์ส่ง challenge เพื่อยืนยันตัวตน (RFC 4954)\n"
		"  กลุ่ม:         3xx ตอบรับขั้นกลาง (รอข้อมูลเพิ่ม): เซิร์ฟเวอร์รับคำสั่งแล้ว แต่ยังต้องการข้อมูลเพิ่มเติมจากไคลเอนต์เพื่อทำให้เสร็จ\n"
		"  หมวด:        x3x ไม่ได้กำหนด: RFC 5321 ไม่ได้กำหนดไว้ ส่วน SMTP AUTH (RFC 4954) ใช้หมวดนี้กับการตอบเรื่องการยืนยันตัวตน\n"
		"  คำอธิบาย:     การตอบรับขั้นกลางที่มีค่า challenge ของ SASL เข้ารหัสแบบ base64 (อาจเป็นค่าว่าง)\n"
		"  เมื่อพบรหัสนี้:   ระหว่าง AUTH เซิร์ฟเวอร์ส่ง challenge เป็น base64 และไคลเอนต์แปลงกลับ (decode) แล้วตอบด้วย base64 หนึ่งบรรทัด ส่วน AUTH LOGIN ถามด้วยสองข้อความคงที่ คือ VXNlcm5hbWU6 (\"Username:\") และ UGFzc3dvcmQ6 (\"Password:\")\n"
		"  วิธีแก้ไข:      ไม่ต้องแก้ไข ให้ตอบด้วย base64 หนึ่งบรรทัด (สำหรับ AUTH LOGIN คือชื่อผู้ใช้ แล้วตามด้วยรหัสผ่าน) หรือส่ง \"*\" เพื่อยกเลิก ถ้ายืนยันตัวตนไม่ผ่านซ้ำ ๆ ให้ตรวจข้อมูลยืนยันตัวตนและกลไก SASL\n"
		"  รหัสแบบขยายที่ใช้คู่กัน: ไม่มี (รหัสตอบกลับ 3xx ไม่มีรหัสสถานะแบบขยาย)\n");
	free(s);
}

static void test_th_500_578(void **state)
{
	(void)state;
	char *s = run(th, false, 1, "500");

	assert_contains(s, "500 ไวยากรณ์ผิด ไม่รู้จักคำสั่ง (RFC 5321, RFC 4954)\n");
	assert_contains(s, "  กลุ่ม:         5xx ปฏิเสธถาวร: ");
	assert_contains(s, "  หมวด:        x0x ไวยากรณ์: ");
	assert_contains(s, "  คำอธิบาย:     เซิร์ฟเวอร์ไม่เข้าใจบรรทัดคำสั่งนี้\n");
	assert_contains(s, "  วิธีแก้ไข:      ดูคำสั่งที่ส่งไปล่าสุด สะกดคำสั่งให้ถูก ให้บรรทัดยาวไม่เกิน 512 ไบต์และลงท้ายด้วย CRLF และส่ง base64 เฉพาะเมื่อตอบ challenge ของ 334\n");
	assert_contains(s, "    5.5.6 บรรทัดในการแลกเปลี่ยนเพื่อยืนยันตัวตนยาวเกินไป\n");
	free(s);

	s = run(th, false, 1, "5.7.8");
	assert_contains(s, "5.7.8 ข้อมูลยืนยันตัวตนไม่ถูกต้อง (ชื่อผู้ใช้หรือรหัสผ่านผิด) (RFC 4954)\n");
	assert_contains(s, "  หัวข้อ:        x.7.x สถานะด้านความปลอดภัยหรือนโยบาย\n");
	assert_contains(s, "  เมื่อพบรหัสนี้:   เป็นคำตอบสุดท้ายของ AUTH ที่ล้มเหลว ");
	assert_contains(s, "  วิธีแก้ไข:      ตรวจชื่อผู้ใช้ (มักเป็นที่อยู่อีเมลเต็ม) และรหัสผ่าน ");
	free(s);

	s = run(th, false, 1, "535 5.7.8");
	assert_contains(s, "535 5.7.8 ข้อมูลยืนยันตัวตนไม่ถูกต้อง (ชื่อผู้ใช้หรือรหัสผ่านผิด) (RFC 4954)\n");
	assert_contains(s, "    หมายเหตุ:     ทะเบียน IANA ระบุ 5.7.8 ให้ใช้คู่กับ 535\n");
	free(s);

	/* the rewrites of the Thai review: no "change your password", no "English" */
	s = run(th, false, 1, "432");
	assert_lacks(s, "เปลี่ยนผ่าน");
	assert_contains(s, "ต้องยืนยันตัวตนด้วย PLAIN หนึ่งครั้ง");
	free(s);
	s = run(th, false, 1, "553");
	assert_lacks(s, "ภาษาสากล");
	free(s);
	s = run(th, false, 1, "5.7.5");
	assert_lacks(s, "การเข้ารหัสลับล้มเหลว");
	assert_contains(s, "ถอดรหัสหรือตรวจสอบลายเซ็นไม่สำเร็จ");
	free(s);
}

static void test_th_compare(void **state)
{
	(void)state;
	char *s = run(th, false, 2, "334", "500");

	assert_contains(s, "\nความแตกต่างหลัก:\n"
		"  334 เป็นการตอบรับ (เซิร์ฟเวอร์ยอมทำตามคำสั่ง) ส่วน 500 เป็นการปฏิเสธ (เซิร์ฟเวอร์ไม่ยอมทำตามคำสั่ง)\n");
	assert_contains(s, "\nแต่ละรหัสพบเมื่อใดและควรทำอย่างไร:\n  334: ระหว่าง AUTH ");
	assert_contains(s, "    สิ่งที่ควรทำเมื่อได้รับ 334 คือ ดำเนินขั้นตอนต่อไป ");
	assert_contains(s, "    สิ่งที่ควรทำเมื่อได้รับ 500 คือ แก้ไขสาเหตุก่อนลองใหม่ ");
	assert_contains(s, "สองรหัสนี้เกี่ยวกันอย่างไร ถ้าส่ง base64 ");
	free(s);
}

/* A translation that exists, is not empty and is not the English text. */
static void assert_translated(const char *msgid, const char *where)
{
	const char *t = th(msgid);

	if (t == msgid || strcmp(t, msgid) == 0 || t[0] == '\0')
		fail_msg("%s: no Thai translation of \"%s\"", where, msgid);
}

/* Every text of the table and of explain has a Thai translation, and every
 * code of the table explains in Thai with its translated meaning. */
static void test_th_coverage(void **state)
{
	char where[64];

	(void)state;
	for (size_t i = 0; i < smtp_code_basic_count(); i++) {
		const struct smtp_basic_code *c = smtp_code_basic_at(i);
		char code[8];

		snprintf(where, sizeof(where), "basic %d", c->code);
		assert_translated(c->name, where);
		assert_translated(c->meaning, where);
		assert_translated(c->when, where);
		assert_translated(c->fix, where);

		snprintf(code, sizeof(code), "%d", c->code);
		char *s = run(th, false, 1, code);
		assert_contains(s, th(c->meaning));
		assert_contains(s, th(c->when));
		assert_contains(s, "คำอธิบาย:");
		assert_lacks(s, c->meaning);
		free(s);
	}
	for (size_t i = 0; i < smtp_code_enhanced_count(); i++) {
		const struct smtp_enh_code *e = smtp_code_enhanced_at(i);

		snprintf(where, sizeof(where), "enhanced X.%d.%d", e->subject, e->detail);
		assert_translated(e->name, where);
		assert_translated(e->meaning, where);
		assert_translated(e->when, where);
		assert_translated(e->fix, where);
		/* its own advice in Thai too: no two codes share a sentence */
		for (size_t j = 0; j < i; j++) {
			const struct smtp_enh_code *f = smtp_code_enhanced_at(j);

			if (strcmp(th(e->when), th(f->when)) == 0 || strcmp(th(e->fix), th(f->fix)) == 0)
				fail_msg("%s and X.%d.%d share Thai advice", where, f->subject, f->detail);
		}
		for (int cls = 2; cls <= 5; cls += (cls == 2 ? 2 : 1)) {
			char code[16];

			snprintf(code, sizeof(code), "%d.%d.%d", cls, e->subject, e->detail);
			char *s = run(th, false, 1, code);
			assert_contains(s, th(e->meaning));
			assert_lacks(s, e->meaning);
			free(s);
		}
	}
	for (int d = 0; d <= 9; d++) {
		const char *names[] = {
			smtp_code_class_name(d), smtp_code_category_name(d),
			smtp_enh_class_name(d), smtp_enh_subject_name(d),
		};

		for (size_t k = 0; k < 4; k++)
			if (names[k])
				assert_translated(names[k], "digit names");
	}
	for (size_t i = 0; client_explain_msgid_at(i); i++)
		assert_translated(client_explain_msgid_at(i), "explain");
	for (size_t i = 0; i < smtp_code_seen_count(); i++) {
		assert_translated(smtp_code_seen_at(i)->meaning, "seen in practice");
		assert_translated(smtp_code_seen_at(i)->fix, "seen in practice");
	}
}

/* Every word explain prints goes through the translation function: with a
 * translator that maps everything to "ZZ", no English is left but the RFC
 * references (which are citations, not prose). */
static const char *zz(const char *msgid)
{
	static const char *const with_args[] = { "ZZ", "ZZ %s", "ZZ %s %s", "ZZ %s %s %s", "ZZ %s %s %s %s" };
	size_t n = 0;

	for (const char *p = msgid; (p = strstr(p, "%s")) != NULL; p += 2)
		n++;
	assert_true(n < sizeof(with_args) / sizeof(with_args[0]));
	return with_args[n];
}

static void check_no_english(char *s)
{
	/* blank out the citations, then look for lower-case words */
	for (size_t i = 0; i < smtp_code_basic_count(); i++)
		for (char *p; (p = strstr(s, smtp_code_basic_at(i)->rfc)) != NULL;)
			memset(p, '#', strlen(smtp_code_basic_at(i)->rfc));
	for (size_t i = 0; i < smtp_code_enhanced_count(); i++)
		for (char *p; (p = strstr(s, smtp_code_enhanced_at(i)->rfc)) != NULL;)
			memset(p, '#', strlen(smtp_code_enhanced_at(i)->rfc));
	/* and what providers send, verbatim, then their names and pages */
	for (size_t k = 0; k < 3; k++)
		for (size_t i = 0; i < smtp_code_seen_count(); i++) {
			const struct smtp_code_seen *n = smtp_code_seen_at(i);
			const char *v = k == 0 ? n->reply : k == 1 ? n->source : n->who;

			for (char *p; (p = strstr(s, v)) != NULL;)
				memset(p, '#', strlen(v));
		}
	for (const char *p = s; *p; p++)
		if (*p >= 'a' && *p <= 'z' && *p != 'x')
			fail_msg("untranslated text at \"%.40s\"", p);
}

static void test_all_text_translated(void **state)
{
	(void)state;
	for (size_t i = 0; i < smtp_code_basic_count(); i++) {
		char code[8];

		snprintf(code, sizeof(code), "%d", smtp_code_basic_at(i)->code);
		char *s = run(zz, false, 1, code);
		check_no_english(s);
		free(s);
	}
	const char *sets[][3] = {
		{ "299", "5.9.9", "4.7.999" },
		{ "535 5.7.8", "250 5.1.1", "334 5.7.8" },
		{ "450", "550 5.1.1", "2.1.5" },
		{ "354", "421", "4.4.2" },
	};
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		char *s = run(zz, false, 3, sets[i][0], sets[i][1], sets[i][2]);
		check_no_english(s);
		free(s);
	}
}

/* ---- exit status, --all, wrapping ---- */

static int status_of(const char *arg)
{
	struct client_explain_code c;

	assert_int_equal(client_explain_parse(arg, &c), EXPLAIN_OK);
	return client_explain_exit_status(&c, 1);
}

static void test_exit_status(void **state)
{
	(void)state;
	assert_int_equal(status_of("550"), EXPLAIN_EXIT_DEFINED);
	assert_int_equal(status_of("535 5.7.8 bad"), EXPLAIN_EXIT_DEFINED);
	assert_int_equal(status_of("550 5.7.8"), EXPLAIN_EXIT_DEFINED); /* unusual, not impossible */
	assert_int_equal(status_of("X.7.8"), EXPLAIN_EXIT_DEFINED);
	assert_int_equal(status_of("299"), EXPLAIN_EXIT_UNDEFINED);
	assert_int_equal(status_of("5.9.99"), EXPLAIN_EXIT_UNDEFINED);
	assert_int_equal(status_of("2.7.8"), EXPLAIN_EXIT_UNDEFINED);
	assert_int_equal(status_of("250 5.1.1"), EXPLAIN_EXIT_UNDEFINED);
	assert_int_equal(status_of("334 5.7.8"), EXPLAIN_EXIT_UNDEFINED);
	assert_int_equal(status_of("550 5.1.5"), EXPLAIN_EXIT_UNDEFINED);
}

static void test_all(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, CLIENT_EXPLAIN_MAX_OUTPUT);
	assert_int_equal(client_explain_all_text(&b, NULL), BUF_OK);
	assert_int_equal(buf_append(&b, "", 1), BUF_OK);
	for (size_t i = 0; i < smtp_code_basic_count(); i++) {
		char title[128];

		snprintf(title, sizeof(title), "%d %s (", smtp_code_basic_at(i)->code, smtp_code_basic_at(i)->name);
		assert_contains(b.data, title);
	}
	for (size_t i = 0; i < smtp_code_enhanced_count(); i++) {
		const struct smtp_enh_code *e = smtp_code_enhanced_at(i);
		char title[256];

		snprintf(title, sizeof(title), "\nX.%d.%d %s (", e->subject, e->detail, e->name);
		assert_contains(b.data, title);
		assert_contains(b.data, e->fix);
	}
	buf_fini(&b);
	buf_init(&b, CLIENT_EXPLAIN_MAX_OUTPUT);
	assert_int_equal(client_explain_all_json(&b, NULL, "en"), BUF_OK);
	assert_true(b.len > 0 && b.data[0] == '{' && b.data[b.len - 1] == '\n');
	buf_fini(&b);
}

/* Lines over the width break at spaces, continued under their value. */
static void test_wrap(void **state)
{
	const char *in =
		"  When you meet it: one two three four five six seven eight nine ten eleven\n"
		"short\n"
		"  averyveryverylongwordthatdoesnotfit another\n";
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(client_explain_wrap(&b, in, strlen(in), 40), BUF_OK);
	assert_int_equal(buf_append(&b, "", 1), BUF_OK);
	assert_string_equal(b.data,
		"  When you meet it: one two three four\n"
		"                    five six seven eight\n"
		"                    nine ten eleven\n"
		"short\n"
		"  averyveryverylongwordthatdoesnotfit\n"
		"    another\n");
	buf_fini(&b);

	/* every line of a whole explanation fits in 80 columns but long words */
	char *s = run(NULL, false, 3, "535 5.7.8", "334", "554 5.7.1");

	buf_init(&b, CLIENT_EXPLAIN_MAX_OUTPUT * 2);
	assert_int_equal(client_explain_wrap(&b, s, strlen(s), 80), BUF_OK);
	for (size_t i = 0, col = 0, start = 0; i < b.len; i++) {
		if (b.data[i] == '\n') {
			col = 0;
			start = i + 1;
			continue;
		}
		col += (b.data[i] & 0xc0) != 0x80;
		if (col <= 80)
			continue;
		/* only a single word (a URL) may stick out */
		size_t k = start;

		while (b.data[k] == ' ')
			k++;
		const char *nl = memchr(b.data + k, '\n', b.len - k);
		const char *sp = memchr(b.data + k, ' ', b.len - k);
		if (sp && (!nl || sp < nl))
			fail_msg("a line over 80 columns at %zu", i);
	}
	buf_fini(&b);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_en_334),
		cmocka_unit_test(test_en_500),
		cmocka_unit_test(test_en_578),
		cmocka_unit_test(test_en_535_578),
		cmocka_unit_test(test_en_pair_notes),
		cmocka_unit_test(test_en_undefined),
		cmocka_unit_test(test_compare_334_500),
		cmocka_unit_test(test_compare_generic),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_args),
		cmocka_unit_test(test_output_limit),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_th_catalogue_found),
		cmocka_unit_test(test_th_334),
		cmocka_unit_test(test_th_500_578),
		cmocka_unit_test(test_th_compare),
		cmocka_unit_test(test_th_coverage),
		cmocka_unit_test(test_all_text_translated),
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_all),
		cmocka_unit_test(test_wrap),
	};

	/* What `postern --lang th` does: gettext needs a non-C locale to read
	 * LANGUAGE, and C.UTF-8 is the one glibc always has. */
	if (!setlocale(LC_ALL, "C.UTF-8")) {
		fprintf(stderr, "test_explain: no C.UTF-8 locale\n");
		return 1;
	}
	setenv("LANGUAGE", "th", 1);
	bindtextdomain("postern", POSTERN_BUILD_LOCALEDIR);
	bind_textdomain_codeset("postern", "UTF-8");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
