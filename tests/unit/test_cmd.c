/* Command parsing (src/smtp/cmd.c): verbs (RFC 5321 §4.1.1), paths
 * (§4.1.2, §4.1.3, RFC 6531), MAIL parameters (RFC 1870, 6152, 3030, 6531,
 * 4954 §5, 3461 xtext), EHLO/HELO argument and BDAT (RFC 3030). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "smtp/cmd.h"

/* ---- helpers ---- */

static enum smtp_parse_status mail(const char *arg, struct smtp_path *p, struct smtp_mail_params *m)
{
	return smtp_cmd_parse_mail(arg, strlen(arg), p, m);
}

static enum smtp_parse_status rcpt(const char *arg, struct smtp_path *p)
{
	return smtp_cmd_parse_rcpt(arg, strlen(arg), p);
}

static bool helo(const char *arg) { return smtp_cmd_valid_helo(arg, strlen(arg)); }

static void check_path(const struct smtp_path *p, const char *addr, size_t at, bool utf8)
{
	assert_string_equal(p->addr, addr);
	assert_int_equal(p->len, strlen(addr));
	assert_int_equal(p->at, at);
	assert_int_equal(p->utf8, utf8);
	assert_false(p->null);
	assert_false(p->postmaster);
}

/* MAIL "FROM:<mailbox>" must succeed and store the mailbox unchanged. */
static void mail_ok(const char *mailbox, bool utf8)
{
	char arg[600];
	struct smtp_path p;
	struct smtp_mail_params m;
	int n = snprintf(arg, sizeof arg, "FROM:<%s>", mailbox);
	assert_true(n > 0 && (size_t)n < sizeof arg);
	enum smtp_parse_status st = mail(arg, &p, &m);
	if (st != SMTP_PARSE_OK)
		fail_msg("expected OK for %s, got %d", arg, st);
	const char *at = strrchr(mailbox, '@');
	assert_non_null(at);
	check_path(&p, mailbox, (size_t)(at - mailbox), utf8);
}

static void mail_bad(const char *path)
{
	char arg[600];
	struct smtp_path p;
	struct smtp_mail_params m;
	int n = snprintf(arg, sizeof arg, "FROM:%s", path);
	assert_true(n > 0 && (size_t)n < sizeof arg);
	enum smtp_parse_status st = mail(arg, &p, &m);
	if (st != SMTP_PARSE_BAD_ADDRESS)
		fail_msg("expected BAD_ADDRESS for %s, got %d", arg, st);
	/* the same path is refused by RCPT too */
	n = snprintf(arg, sizeof arg, "TO:%s", path);
	assert_true(n > 0 && (size_t)n < sizeof arg);
	st = rcpt(arg, &p);
	if (st != SMTP_PARSE_BAD_ADDRESS)
		fail_msg("expected BAD_ADDRESS for %s, got %d", arg, st);
}

/* "FROM:<a@b.example> " + params, expecting st. */
static enum smtp_parse_status params(const char *ps, struct smtp_mail_params *m)
{
	char arg[1200];
	struct smtp_path p;
	int n = snprintf(arg, sizeof arg, "FROM:<a@b.example> %s", ps);
	assert_true(n > 0 && (size_t)n < sizeof arg);
	return mail(arg, &p, m);
}

static void expect_params(const char *ps, enum smtp_parse_status want)
{
	struct smtp_mail_params m;
	enum smtp_parse_status st = params(ps, &m);
	if (st != want)
		fail_msg("params \"%s\": expected %d, got %d", ps, want, st);
}

static void fill(char *dst, size_t n, char c)
{
	memset(dst, c, n);
	dst[n] = '\0';
}

/* ---- verbs ---- */

static void test_verbs_all(void **state)
{
	for (int v = SMTP_VERB_UNKNOWN + 1; v < SMTP_VERB__COUNT; v++) {
		const char *name = smtp_verb_name((enum smtp_verb)v);
		char line[64], lower[64], mixed[64];
		size_t n = strlen(name);
		assert_true(n > 0 && n < sizeof line);
		for (size_t i = 0; i <= n; i++) {
			line[i] = name[i];
			assert_true(name[i] < 'a' || name[i] > 'z'); /* canonical is upper case */
			lower[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];
			mixed[i] = (i % 2) ? lower[i] : name[i];
		}
		struct smtp_cmd c;
		const char *forms[] = { line, lower, mixed };
		for (size_t f = 0; f < 3; f++) {
			assert_true(smtp_cmd_parse(forms[f], n, &c));
			assert_int_equal(c.verb, v);
			assert_int_equal(c.arg_len, 0);
			assert_ptr_equal(c.arg, forms[f] + n);
		}
	}
	assert_string_equal(smtp_verb_name(SMTP_VERB_UNKNOWN), "?");
	assert_string_equal(smtp_verb_name(SMTP_VERB__COUNT), "?");
	assert_string_equal(smtp_verb_name(SMTP_VERB_STARTTLS), "STARTTLS");
	assert_string_equal(smtp_verb_name(SMTP_VERB_XFORWARD), "XFORWARD");
}

static void expect_cmd(const char *line, bool ret, enum smtp_verb verb, const char *arg)
{
	struct smtp_cmd c;
	size_t len = strlen(line);
	bool r = smtp_cmd_parse(line, len, &c);
	if (r != ret || c.verb != verb)
		fail_msg("\"%s\": got %d/%d, want %d/%d", line, r, c.verb, ret, verb);
	assert_non_null(c.arg);
	assert_true(c.arg >= line && c.arg + c.arg_len <= line + len);
	assert_int_equal(c.arg_len, strlen(arg));
	assert_memory_equal(c.arg, arg, c.arg_len);
}

static void test_verbs_args(void **state)
{
	expect_cmd("EHLO client.example", true, SMTP_VERB_EHLO, "client.example");
	expect_cmd("MAIL FROM:<a@b>", true, SMTP_VERB_MAIL, "FROM:<a@b>");
	expect_cmd("mail from:<a@b> SIZE=10", true, SMTP_VERB_MAIL, "from:<a@b> SIZE=10");
	expect_cmd("RCPT TO:<c@d>", true, SMTP_VERB_RCPT, "TO:<c@d>");
	/* extra spaces around the argument are dropped, inner ones kept */
	expect_cmd("EHLO   client.example  ", true, SMTP_VERB_EHLO, "client.example");
	expect_cmd("NOOP a  b", true, SMTP_VERB_NOOP, "a  b");
	expect_cmd("NOOP ", true, SMTP_VERB_NOOP, "");
	expect_cmd("NOOP    ", true, SMTP_VERB_NOOP, "");
	expect_cmd("BDAT 100 LAST", true, SMTP_VERB_BDAT, "100 LAST");
	expect_cmd("AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=", true, SMTP_VERB_AUTH,
		   "PLAIN dGVzdAB0ZXN0AHRlc3Q=");
	/* the argument keeps octets >= 0x80 */
	expect_cmd("VRFY j\xc3\xb6rg", true, SMTP_VERB_VRFY, "j\xc3\xb6rg");
}

static void test_verbs_unknown(void **state)
{
	/* a verb-shaped word that is not a verb: true, UNKNOWN (500) */
	expect_cmd("EHOL client.example", true, SMTP_VERB_UNKNOWN, "");
	expect_cmd("EHLOX", true, SMTP_VERB_UNKNOWN, "");
	expect_cmd("EH", true, SMTP_VERB_UNKNOWN, "");
	expect_cmd("MAILFROM:<a@b>", true, SMTP_VERB_UNKNOWN, "");
	expect_cmd("FOO bar", true, SMTP_VERB_UNKNOWN, "");
	/* a verb not followed by SP or the end */
	expect_cmd("NOOP\tx", true, SMTP_VERB_UNKNOWN, "");
	expect_cmd("EHLO:", true, SMTP_VERB_UNKNOWN, "");
	expect_cmd("QUIT.", true, SMTP_VERB_UNKNOWN, "");
	expect_cmd("X-FOO", true, SMTP_VERB_UNKNOWN, "");
	expect_cmd("DATA\xc3\xa9", true, SMTP_VERB_UNKNOWN, "");
	/* nothing verb-shaped: false */
	expect_cmd("", false, SMTP_VERB_UNKNOWN, "");
	expect_cmd(" NOOP", false, SMTP_VERB_UNKNOWN, "");
	expect_cmd("1NOOP", false, SMTP_VERB_UNKNOWN, "");
	expect_cmd("\xc3\xa9HLO", false, SMTP_VERB_UNKNOWN, "");
	expect_cmd(".", false, SMTP_VERB_UNKNOWN, "");
	/* the length is respected: "NOOP" inside a longer buffer */
	struct smtp_cmd c;
	assert_true(smtp_cmd_parse("NOOPX", 4, &c));
	assert_int_equal(c.verb, SMTP_VERB_NOOP);
	assert_false(smtp_cmd_parse("NOOP", 0, &c));
}

/* ---- paths ---- */

static void test_mail_basic(void **state)
{
	struct smtp_path p;
	struct smtp_mail_params m;
	assert_int_equal(mail("FROM:<a@b.example>", &p, &m), SMTP_PARSE_OK);
	check_path(&p, "a@b.example", 1, false);
	assert_false(m.has_size);
	assert_int_equal(m.body, SMTP_BODY_NONE);
	assert_false(m.smtputf8);
	assert_false(m.has_auth);

	/* the keyword in any case; spaces after the colon tolerated */
	assert_int_equal(mail("from:<User@Example.COM>", &p, &m), SMTP_PARSE_OK);
	check_path(&p, "User@Example.COM", 4, false);
	assert_int_equal(mail("From: <a@b.example>", &p, &m), SMTP_PARSE_OK);
	check_path(&p, "a@b.example", 1, false);
	assert_int_equal(mail("FROM:    <a@b.example>", &p, &m), SMTP_PARSE_OK);
	check_path(&p, "a@b.example", 1, false);
	/* trailing spaces */
	assert_int_equal(mail("FROM:<a@b.example>   ", &p, &m), SMTP_PARSE_OK);
	check_path(&p, "a@b.example", 1, false);
}

static void test_mail_null(void **state)
{
	struct smtp_path p;
	struct smtp_mail_params m;
	assert_int_equal(mail("FROM:<>", &p, &m), SMTP_PARSE_OK);
	assert_true(p.null);
	assert_string_equal(p.addr, "");
	assert_int_equal(p.len, 0);
	assert_int_equal(p.at, 0);
	assert_false(p.postmaster);
	assert_int_equal(mail("FROM: <> SIZE=100", &p, &m), SMTP_PARSE_OK);
	assert_true(p.null);
	assert_true(m.has_size);
	assert_int_equal(m.size, 100);
	/* a later non-null parse clears the flag */
	assert_int_equal(mail("FROM:<a@b>", &p, &m), SMTP_PARSE_OK);
	assert_false(p.null);
	/* null path only for MAIL */
	assert_int_equal(rcpt("TO:<>", &p), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(mail("FROM:< >", &p, &m), SMTP_PARSE_BAD_ADDRESS);
	/* <postmaster> without a domain is RCPT only */
	assert_int_equal(mail("FROM:<postmaster>", &p, &m), SMTP_PARSE_BAD_ADDRESS);
}

static void test_mail_syntax(void **state)
{
	struct smtp_path p;
	struct smtp_mail_params m;
	/* keyword or colon missing: 501 5.5.4 */
	assert_int_equal(mail("FROM<a@b>", &p, &m), SMTP_PARSE_SYNTAX);
	assert_int_equal(mail("<a@b>", &p, &m), SMTP_PARSE_SYNTAX);
	assert_int_equal(mail("FRM:<a@b>", &p, &m), SMTP_PARSE_SYNTAX);
	assert_int_equal(mail("FROM :<a@b>", &p, &m), SMTP_PARSE_SYNTAX);
	assert_int_equal(mail("TO:<a@b>", &p, &m), SMTP_PARSE_SYNTAX);
	assert_int_equal(mail("", &p, &m), SMTP_PARSE_SYNTAX);
	assert_int_equal(mail("FROM", &p, &m), SMTP_PARSE_SYNTAX);
	/* junk glued to the path */
	assert_int_equal(mail("FROM:<a@b>x", &p, &m), SMTP_PARSE_SYNTAX);
	assert_int_equal(mail("FROM:<a@b>>", &p, &m), SMTP_PARSE_SYNTAX);
	assert_int_equal(mail("FROM:<>SIZE=1", &p, &m), SMTP_PARSE_SYNTAX);
	/* brackets missing: a bad address (501 5.1.7) */
	assert_int_equal(mail("FROM:a@b", &p, &m), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(mail("FROM:<a@b", &p, &m), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(mail("FROM:a@b>", &p, &m), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(mail("FROM:", &p, &m), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(mail("FROM:   ", &p, &m), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(mail("FROM:<", &p, &m), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(mail("FROM:\"a\"@b", &p, &m), SMTP_PARSE_BAD_ADDRESS);
	/* the outputs are defined after a failure */
	assert_string_equal(p.addr, "");
	assert_int_equal(p.len, 0);
	assert_false(m.has_size);
}

static void test_path_dot_string(void **state)
{
	mail_ok("a@b", false);
	mail_ok("first.last@example.com", false);
	mail_ok("a.b+tag!#$%&'*/=?^_`{|}~-@x.example", false);
	mail_ok("1234@5.6.7.8", false);
	mail_ok("u@a-b.c-d.example", false);
	mail_ok("u@x1.2y.example", false);
	mail_bad("<.a@x>");
	mail_bad("<a.@x>");
	mail_bad("<a..b@x>");
	mail_bad("<a b@x>");
	mail_bad("<a(b)@x>");
	mail_bad("<a,b@x>");
	mail_bad("<a;b@x>");
	mail_bad("<a\\b@x>");
	mail_bad("<a@b@c>");
	mail_bad("<ab>");
	mail_bad("<@x>");
	mail_bad("<a@>");
	mail_bad("<@>");
}

static void test_path_quoted(void **state)
{
	mail_ok("\"john doe\"@example.com", false);
	mail_ok("\"\"@example.com", false);
	mail_ok("\"a@b\"@example.com", false);
	mail_ok("\"a\\\"b\"@example.com", false);
	mail_ok("\"a\\\\\"@example.com", false);
	mail_ok("\"a>b\"@example.com", false);
	mail_ok("\"<>()[]:;,. !#\"@example.com", false);
	mail_ok("\"j\xc3\xb6rg\"@example.com", true);

	/* at points at the separating '@', not one inside the quotes */
	struct smtp_path p;
	struct smtp_mail_params m;
	assert_int_equal(mail("FROM:<\"a@b\"@c.example>", &p, &m), SMTP_PARSE_OK);
	assert_int_equal(p.at, 5);

	mail_bad("<\"unterminated@x>");
	mail_bad("<\"a\"b@x>");
	mail_bad("<a\"b\"@x>");
	mail_bad("<\"a\x01\"@x>");
	mail_bad("<\"a\x7f\"@x>");
	mail_bad("<\"a\\\x01\"@x>");
	mail_bad("<\"a\\\"@x>");
	mail_bad("<\"a\\\xc3\xa9\"@x>"); /* quoted-pairSMTP is ASCII only */
	mail_bad("<\"a\"@>");
}

static void test_path_domain(void **state)
{
	mail_bad("<a@-x.example>");
	mail_bad("<a@x-.example>");
	mail_bad("<a@x.-example>");
	mail_bad("<a@x..example>");
	mail_bad("<a@x.example.>"); /* no root dot in a path */
	mail_bad("<a@.x.example>");
	mail_bad("<a@x_y.example>");
	mail_bad("<a@x y.example>");
	mail_bad("<a@x.example:25>");
}

static void test_path_ipv4_literal(void **state)
{
	mail_ok("u@[192.0.2.1]", false);
	mail_ok("u@[0.0.0.0]", false);
	mail_ok("u@[255.255.255.255]", false);
	mail_ok("u@[01.002.3.4]", false);
	mail_bad("<u@[256.0.0.1]>");
	mail_bad("<u@[1.2.3]>");
	mail_bad("<u@[1.2.3.4.5]>");
	mail_bad("<u@[1234.1.1.1]>");
	mail_bad("<u@[1.2.3.4.]>");
	mail_bad("<u@[1..3.4]>");
	mail_bad("<u@[-1.2.3.4]>");
	mail_bad("<u@[]>");
	mail_bad("<u@[1.2.3.4>");
	mail_bad("<u@1.2.3.4]>");
	mail_bad("<u@[1.2.3.4]x>");
	mail_bad("<u@[ 1.2.3.4]>");
}

static void test_path_ipv6_literal(void **state)
{
	const char *good[] = {
		"u@[IPv6:::1]",
		"u@[IPv6:2001:db8::1]",
		"u@[IPv6:::ffff:1.2.3.4]",
		"u@[ipv6:::]",
		"u@[IPV6:FE80::]",
		"u@[IPv6:2001:db8:0:0:0:0:0:1]",
		"u@[IPv6:2001:0db8:85a3:0000:0000:8a2e:0370:7334]",
		"u@[IPv6:1:2:3:4:5:6::]",
		"u@[IPv6:::1:2:3:4:5:6]",
		"u@[IPv6:1:2:3::4:5:6]",
		"u@[IPv6:1:2:3:4:5:6:1.2.3.4]",
		"u@[IPv6:::1.2.3.4]",
		"u@[IPv6:1::1.2.3.4]",
		"u@[IPv6:1:2:3:4::1.2.3.4]",
		"u@[IPv6:1:2::3:4:1.2.3.4]",
	};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		mail_ok(good[i], false);

	const char *bad[] = {
		"<u@[IPv6:]>",
		"<u@[IPv6::1]>",
		"<u@[IPv6:1:]>",
		"<u@[IPv6:1:2:3:4:5:6:7]>",
		"<u@[IPv6:1:2:3:4:5:6:7:8:9]>",
		"<u@[IPv6:1:2:3:4:5:6:7::]>",  /* RFC 5321: "::" is at least two groups */
		"<u@[IPv6:::1:2:3:4:5:6:7]>",
		"<u@[IPv6:1::2::3]>",
		"<u@[IPv6:1:::2]>",
		"<u@[IPv6:12345::1]>",
		"<u@[IPv6:g::1]>",
		"<u@[IPv6:1.2.3.4::1]>",
		"<u@[IPv6:1.2.3.4]>",
		"<u@[IPv6:1:2:3:4:5::1.2.3.4]>",
		"<u@[IPv6:1:2:3:4:5:1.2.3.4]>",
		"<u@[IPv6:1:2:3:4:5:6:7:1.2.3.4]>",
		"<u@[IPv6:::1.2.3.256]>",
		"<u@[IPv6:::1.2.3]>",
		"<u@[IPv6:::1.2.3.4:1]>",
		"<u@[IPv6 ::1]>",
		"<u@[IPv6:::1>",
		"<u@[::1]>",
		"<u@IPv6:::1>",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		mail_bad(bad[i]);
}

static void test_path_general_literal(void **state)
{
	/* General-address-literal = Standardized-tag ":" 1*dcontent */
	mail_ok("u@[x-tag:some-content]", false);
	mail_ok("u@[X400:c=gb;a=x;p=y]", false);
}

static void test_path_general_literal_bad(void **state)
{
	mail_bad("<u@[tag-:x]>");
	mail_bad("<u@[tag:]>");
	mail_bad("<u@[:x]>");
	mail_bad("<u@[t_g:x]>");
	mail_bad("<u@[tag:a\\b]>");
	mail_bad("<u@[tag:a[b]>");
	mail_bad("<u@[word]>");
}

static void test_path_source_route(void **state)
{
	struct smtp_path p;
	struct smtp_mail_params m;
	assert_int_equal(mail("FROM:<@relay1.example,@relay2.example:user@x.example>", &p, &m),
			 SMTP_PARSE_OK);
	check_path(&p, "user@x.example", 4, false);
	assert_int_equal(mail("FROM:<@a:u@b>", &p, &m), SMTP_PARSE_OK);
	check_path(&p, "u@b", 1, false);
	assert_int_equal(rcpt("TO:<@a.example:\"q u\"@[IPv6:::1]>", &p), SMTP_PARSE_OK);
	check_path(&p, "\"q u\"@[IPv6:::1]", 5, false);

	mail_bad("<@a.example>");
	mail_bad("<@a.example:>");
	mail_bad("<@a.example,u@b>");
	mail_bad("<@a.example,:u@b>");
	mail_bad("<@:u@b>");
	mail_bad("<@[1.2.3.4]:u@b>"); /* At-domain is a Domain, no literal */
	mail_bad("<@a..b:u@b>");
	mail_bad("<a.example:u@b>");
}

static void test_path_local_limit(void **state)
{
	char local[80], mbox[200];
	/* RFC 5321 §4.5.3.1.1: 64 octets */
	fill(local, 64, 'a');
	snprintf(mbox, sizeof mbox, "%s@x.example", local);
	mail_ok(mbox, false);
	fill(local, 65, 'a');
	snprintf(mbox, sizeof mbox, "<%s@x.example>", local);
	mail_bad(mbox);

	/* quoted: the local part as sent, quotes included */
	fill(local, 62, 'q');
	snprintf(mbox, sizeof mbox, "\"%s\"@x.example", local);
	mail_ok(mbox, false);
	fill(local, 63, 'q');
	snprintf(mbox, sizeof mbox, "<\"%s\"@x.example>", local);
	mail_bad(mbox);

	/* UTF-8 counts octets: 32 two-octet characters = 64 octets */
	mbox[0] = '\0';
	for (int i = 0; i < 32; i++)
		strcat(mbox, "\xc3\xa9");
	strcat(mbox, "@x.example");
	mail_ok(mbox, true);
	memmove(mbox + 1, mbox, strlen(mbox) + 1);
	mbox[0] = 'a';
	char bad[210];
	snprintf(bad, sizeof bad, "<%s>", mbox);
	mail_bad(bad);
}

/* A domain of exactly n octets made of 63-octet labels. */
static void make_domain(char *dst, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (i % 64 == 63) ? '.' : 'd';
	if (n > 0 && dst[n - 1] == '.')
		dst[n - 1] = 'e';
	dst[n] = '\0';
}

static void test_path_length_limits(void **state)
{
	char dom[300], mbox[600], arg[700];
	struct smtp_path p;
	struct smtp_mail_params m;

	/* "<" + 254-octet mailbox + ">" = 256: the largest path */
	make_domain(dom, 252);
	snprintf(mbox, sizeof mbox, "a@%s", dom);
	assert_int_equal(strlen(mbox), SMTP_ADDR_MAX);
	mail_ok(mbox, false);
	snprintf(arg, sizeof arg, "TO:<%s>", mbox);
	assert_int_equal(rcpt(arg, &p), SMTP_PARSE_OK);
	assert_int_equal(p.len, SMTP_ADDR_MAX);
	assert_int_equal(strlen(p.addr), SMTP_ADDR_MAX);

	make_domain(dom, 253);
	snprintf(mbox, sizeof mbox, "<a@%s>", dom);
	mail_bad(mbox);
	make_domain(dom, 255);
	snprintf(mbox, sizeof mbox, "<a@%s>", dom);
	mail_bad(mbox);
	make_domain(dom, 290);
	snprintf(mbox, sizeof mbox, "<a@%s>", dom);
	mail_bad(mbox);

	/* the source route counts toward the 256 octets */
	make_domain(dom, 241);
	snprintf(arg, sizeof arg, "FROM:<@r.example:a@%s>", dom);
	assert_int_equal(strlen(arg) - 5, 256);
	assert_int_equal(mail(arg, &p, &m), SMTP_PARSE_OK);
	assert_int_equal(p.len, 243);
	snprintf(arg, sizeof arg, "FROM:<@rr.example:a@%s>", dom);
	assert_int_equal(mail(arg, &p, &m), SMTP_PARSE_BAD_ADDRESS);
}

static void test_path_utf8(void **state)
{
	mail_ok("j\xc3\xb6rg@example.com", true);
	mail_ok("user@b\xc3\xa4r.example", true);
	mail_ok("\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a", true);
	mail_ok("\xf0\x9f\x98\x80@x.example", true);
	mail_ok("a.\xc3\xa9.b@x.\xc3\xa9-x.example", true);
	mail_ok("\xef\xbf\xbd@x", true);
	mail_ok("\xf4\x8f\xbf\xbf@x", true);

	const char *bad[] = {
		"<\xc3@x>",                  /* truncated */
		"<\xc3x@x>",
		"<\x80@x>",                  /* lone continuation */
		"<\xc0\xaf@x>",              /* overlong */
		"<\xc1\xbf@x>",
		"<\xe0\x80\xaf@x>",
		"<\xf0\x80\x80\xaf@x>",
		"<\xed\xa0\x80@x>",          /* surrogate */
		"<\xf4\x90\x80\x80@x>",      /* above U+10FFFF */
		"<\xf5\x80\x80\x80@x>",
		"<\xff@x>",
		"<\xfe@x>",
		"<a@\xc3.example>",
		"<a@x.\xed\xbf\xbf>",
		"<a@\xe2\x82>",
		"<\"\xc3\"@x>",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		mail_bad(bad[i]);
}

/* ---- MAIL parameters ---- */

static void test_param_size(void **state)
{
	struct smtp_mail_params m;
	assert_int_equal(params("SIZE=0", &m), SMTP_PARSE_OK);
	assert_true(m.has_size);
	assert_int_equal(m.size, 0);
	assert_int_equal(params("size=12345", &m), SMTP_PARSE_OK);
	assert_int_equal(m.size, 12345);
	assert_int_equal(params("SIZE=18446744073709551615", &m), SMTP_PARSE_OK);
	assert_true(m.size == UINT64_MAX);
	assert_int_equal(params("SIZE=00000000000000000042", &m), SMTP_PARSE_OK);
	assert_int_equal(m.size, 42);

	/* 20 digits past 64 bits: valid (RFC 1870), and more than any limit */
	assert_int_equal(params("SIZE=18446744073709551616", &m), SMTP_PARSE_OK);
	assert_true(m.size == UINT64_MAX);
	assert_int_equal(params("SIZE=99999999999999999999", &m), SMTP_PARSE_OK);
	assert_true(m.size == UINT64_MAX);
	expect_params("SIZE=000000000000000000001", SMTP_PARSE_BAD_PARAM); /* 21 digits */
	expect_params("SIZE=abc", SMTP_PARSE_BAD_PARAM);
	expect_params("SIZE=12k", SMTP_PARSE_BAD_PARAM);
	expect_params("SIZE=-1", SMTP_PARSE_BAD_PARAM);
	expect_params("SIZE=+1", SMTP_PARSE_BAD_PARAM);
	expect_params("SIZE", SMTP_PARSE_BAD_PARAM);
	expect_params("SIZE=1 SIZE=2", SMTP_PARSE_BAD_PARAM);
	expect_params("SIZE=1 size=1", SMTP_PARSE_BAD_PARAM);
	expect_params("SIZE=", SMTP_PARSE_SYNTAX);
	expect_params("SIZE==1", SMTP_PARSE_SYNTAX);
	expect_params("SIZE=1=2", SMTP_PARSE_SYNTAX);

	/* not carried over from an earlier parse */
	assert_int_equal(params("", &m), SMTP_PARSE_OK);
	assert_false(m.has_size);
	assert_int_equal(m.size, 0);
}

static void test_param_body(void **state)
{
	struct smtp_mail_params m;
	assert_int_equal(params("BODY=7BIT", &m), SMTP_PARSE_OK);
	assert_int_equal(m.body, SMTP_BODY_7BIT);
	assert_int_equal(params("BODY=8BITMIME", &m), SMTP_PARSE_OK);
	assert_int_equal(m.body, SMTP_BODY_8BITMIME);
	assert_int_equal(params("body=8bitmime", &m), SMTP_PARSE_OK);
	assert_int_equal(m.body, SMTP_BODY_8BITMIME);
	assert_int_equal(params("BODY=BINARYMIME", &m), SMTP_PARSE_OK);
	assert_int_equal(m.body, SMTP_BODY_BINARYMIME);
	assert_int_equal(params("Body=BinaryMime", &m), SMTP_PARSE_OK);
	assert_int_equal(m.body, SMTP_BODY_BINARYMIME);

	expect_params("BODY=9BIT", SMTP_PARSE_BAD_PARAM);
	expect_params("BODY=8BIT", SMTP_PARSE_BAD_PARAM);
	expect_params("BODY=8BITMIMEX", SMTP_PARSE_BAD_PARAM);
	expect_params("BODY", SMTP_PARSE_BAD_PARAM);
	expect_params("BODY=7BIT BODY=7BIT", SMTP_PARSE_BAD_PARAM);
	expect_params("BODY=7BIT BODY=8BITMIME", SMTP_PARSE_BAD_PARAM);
	expect_params("BODY=", SMTP_PARSE_SYNTAX);
}

static void test_param_smtputf8(void **state)
{
	struct smtp_mail_params m;
	assert_int_equal(params("SMTPUTF8", &m), SMTP_PARSE_OK);
	assert_true(m.smtputf8);
	assert_int_equal(params("smtputf8", &m), SMTP_PARSE_OK);
	assert_true(m.smtputf8);
	expect_params("SMTPUTF8=yes", SMTP_PARSE_BAD_PARAM);
	expect_params("SMTPUTF8 SMTPUTF8", SMTP_PARSE_BAD_PARAM);
	expect_params("SMTPUTF8=", SMTP_PARSE_SYNTAX);

	/* with a UTF-8 path (RFC 6531 §3.4) */
	struct smtp_path p;
	assert_int_equal(mail("FROM:<j\xc3\xb6rg@b\xc3\xa4r.example> SMTPUTF8", &p, &m),
			 SMTP_PARSE_OK);
	assert_true(p.utf8);
	assert_true(m.smtputf8);
}

static void expect_auth(const char *ps, const char *decoded)
{
	struct smtp_mail_params m;
	enum smtp_parse_status st = params(ps, &m);
	if (st != SMTP_PARSE_OK)
		fail_msg("params \"%s\": got %d", ps, st);
	assert_true(m.has_auth);
	assert_string_equal(m.auth, decoded);
}

static void test_param_auth(void **state)
{
	expect_auth("AUTH=<>", "<>");
	expect_auth("auth=<>", "<>");
	expect_auth("AUTH=joe@example.com", "joe@example.com");
	expect_auth("AUTH=joe+2Bsmith@example.com", "joe+smith@example.com");
	expect_auth("AUTH=a+3Db", "a=b");
	expect_auth("AUTH=+20", " ");
	expect_auth("AUTH=+C3+A9@x", "\xc3\xa9@x");
	expect_auth("AUTH=+2B+2B", "++");

	expect_params("AUTH", SMTP_PARSE_BAD_PARAM);
	expect_params("AUTH=+2", SMTP_PARSE_BAD_PARAM);
	expect_params("AUTH=a+", SMTP_PARSE_BAD_PARAM);
	expect_params("AUTH=+zz", SMTP_PARSE_BAD_PARAM);
	expect_params("AUTH=+2b", SMTP_PARSE_BAD_PARAM);  /* RFC 3461: upper-case hex */
	expect_params("AUTH=a+00b", SMTP_PARSE_BAD_PARAM); /* NUL */
	expect_params("AUTH=a+0Db", SMTP_PARSE_BAD_PARAM); /* CR */
	expect_params("AUTH=a+7F", SMTP_PARSE_BAD_PARAM);
	expect_params("AUTH=+C3", SMTP_PARSE_BAD_PARAM);  /* decodes to bad UTF-8 */
	expect_params("AUTH=+FF", SMTP_PARSE_BAD_PARAM);
	expect_params("AUTH=j\xc3\xb6rg@x", SMTP_PARSE_BAD_PARAM); /* xtext is ASCII */
	expect_params("AUTH=<> AUTH=<>", SMTP_PARSE_BAD_PARAM);
	expect_params("AUTH=", SMTP_PARSE_SYNTAX);

	/* the decoded value fills at most SMTP_ADDR_MAX octets */
	char ps[800], want[300];
	fill(want, SMTP_ADDR_MAX, 'x');
	snprintf(ps, sizeof ps, "AUTH=%s", want);
	expect_auth(ps, want);
	fill(want, SMTP_ADDR_MAX + 1, 'x');
	snprintf(ps, sizeof ps, "AUTH=%s", want);
	expect_params(ps, SMTP_PARSE_BAD_PARAM);
	/* "+2B" is 3 octets sent but one decoded */
	ps[0] = '\0';
	strcat(ps, "AUTH=");
	for (int i = 0; i < SMTP_ADDR_MAX; i++)
		strcat(ps, "+2B");
	fill(want, SMTP_ADDR_MAX, '+');
	expect_auth(ps, want);
}

static void test_param_all(void **state)
{
	struct smtp_path p;
	struct smtp_mail_params m;
	assert_int_equal(mail("FROM:<a@b.example>  SIZE=100   BODY=8BITMIME  SMTPUTF8 AUTH=<>  ",
			      &p, &m),
			 SMTP_PARSE_OK);
	check_path(&p, "a@b.example", 1, false);
	assert_true(m.has_size);
	assert_int_equal(m.size, 100);
	assert_int_equal(m.body, SMTP_BODY_8BITMIME);
	assert_true(m.smtputf8);
	assert_true(m.has_auth);
	assert_string_equal(m.auth, "<>");
	assert_int_equal(mail("FROM:<> AUTH=<> SMTPUTF8 BODY=BINARYMIME SIZE=7", &p, &m),
			 SMTP_PARSE_OK);
	assert_true(p.null);
	assert_int_equal(m.size, 7);
	assert_int_equal(m.body, SMTP_BODY_BINARYMIME);
}

static void test_param_unknown_and_syntax(void **state)
{
	/* unknown, well-formed: 555 */
	expect_params("RET=FULL", SMTP_PARSE_UNKNOWN_PARAM);
	expect_params("ENVID=abc", SMTP_PARSE_UNKNOWN_PARAM);
	expect_params("XYZ", SMTP_PARSE_UNKNOWN_PARAM);
	expect_params("X-FOO=bar", SMTP_PARSE_UNKNOWN_PARAM);
	expect_params("1X=1", SMTP_PARSE_UNKNOWN_PARAM);
	expect_params("X-FOO=\xc3\xa9", SMTP_PARSE_UNKNOWN_PARAM);
	expect_params("SIZES=1", SMTP_PARSE_UNKNOWN_PARAM);
	expect_params("SIZE-=1", SMTP_PARSE_UNKNOWN_PARAM);
	/* malformed: 501 */
	expect_params("-SIZE=1", SMTP_PARSE_SYNTAX);
	expect_params("=5", SMTP_PARSE_SYNTAX);
	expect_params("SI_ZE=1", SMTP_PARSE_SYNTAX);
	expect_params("SIZE=1\t", SMTP_PARSE_SYNTAX);
	expect_params("X=a\x01", SMTP_PARSE_SYNTAX);
	expect_params("X=\xff", SMTP_PARSE_SYNTAX);
	expect_params("X=\xc3", SMTP_PARSE_SYNTAX);
	expect_params("\xc3\xa9=1", SMTP_PARSE_SYNTAX);
	expect_params("SIZE=1,BODY=7BIT", SMTP_PARSE_SYNTAX); /* "=" inside a value */
	/* left to right, first fault wins */
	expect_params("FOO=1 SIZE=x", SMTP_PARSE_UNKNOWN_PARAM);
	expect_params("SIZE=x FOO=1", SMTP_PARSE_BAD_PARAM);
	expect_params("SIZE=1 =x FOO", SMTP_PARSE_SYNTAX);
	expect_params("SIZE=1 FOO =x", SMTP_PARSE_UNKNOWN_PARAM);
}

/* ---- RCPT ---- */

static void test_rcpt(void **state)
{
	struct smtp_path p;
	assert_int_equal(rcpt("TO:<c@d.example>", &p), SMTP_PARSE_OK);
	check_path(&p, "c@d.example", 1, false);
	assert_int_equal(rcpt("to: <c@d.example>", &p), SMTP_PARSE_OK);
	check_path(&p, "c@d.example", 1, false);
	assert_int_equal(rcpt("To:<c@d.example>  ", &p), SMTP_PARSE_OK);
	assert_int_equal(rcpt("TO:<\xc3\xa9@d.example>", &p), SMTP_PARSE_OK);
	assert_true(p.utf8);

	assert_int_equal(rcpt("TO:<>", &p), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(rcpt("TO:c@d", &p), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(rcpt("TO:", &p), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(rcpt("TO<c@d>", &p), SMTP_PARSE_SYNTAX);
	assert_int_equal(rcpt("FROM:<c@d>", &p), SMTP_PARSE_SYNTAX);
	assert_int_equal(rcpt("T:<c@d>", &p), SMTP_PARSE_SYNTAX);
	assert_int_equal(rcpt("TO:<c@d>x", &p), SMTP_PARSE_SYNTAX);

	/* no RCPT parameters offered (no DSN): 555 */
	assert_int_equal(rcpt("TO:<c@d> NOTIFY=NEVER", &p), SMTP_PARSE_UNKNOWN_PARAM);
	assert_int_equal(rcpt("TO:<c@d> ORCPT=rfc822;a@b", &p), SMTP_PARSE_UNKNOWN_PARAM);
	assert_int_equal(rcpt("TO:<c@d> SIZE=1", &p), SMTP_PARSE_UNKNOWN_PARAM);
	assert_int_equal(rcpt("TO:<c@d> SMTPUTF8", &p), SMTP_PARSE_UNKNOWN_PARAM);
	assert_int_equal(rcpt("TO:<c@d> =x", &p), SMTP_PARSE_SYNTAX);
	assert_int_equal(rcpt("TO:<c@d> A=", &p), SMTP_PARSE_SYNTAX);
}

static void test_rcpt_postmaster(void **state)
{
	struct smtp_path p;
	assert_int_equal(rcpt("TO:<postmaster>", &p), SMTP_PARSE_OK);
	assert_true(p.postmaster);
	assert_false(p.null);
	assert_false(p.utf8);
	assert_string_equal(p.addr, "postmaster");
	assert_int_equal(p.len, 10);
	assert_int_equal(p.at, 10);

	assert_int_equal(rcpt("TO: <PostMaster> ", &p), SMTP_PARSE_OK);
	assert_true(p.postmaster);
	assert_string_equal(p.addr, "PostMaster");
	assert_int_equal(p.at, p.len);

	/* with a domain it is an ordinary mailbox */
	assert_int_equal(rcpt("TO:<Postmaster@example.com>", &p), SMTP_PARSE_OK);
	check_path(&p, "Postmaster@example.com", 10, false);

	assert_int_equal(rcpt("TO:<postmasterx>", &p), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(rcpt("TO:<postmaste>", &p), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(rcpt("TO:<postmaster", &p), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(rcpt("TO:<@a:postmaster>", &p), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(rcpt("TO:postmaster", &p), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(rcpt("TO:<postmaster>x", &p), SMTP_PARSE_SYNTAX);
	assert_int_equal(rcpt("TO:<postmaster> NOTIFY=NEVER", &p), SMTP_PARSE_UNKNOWN_PARAM);
}

/* ---- EHLO / HELO ---- */

static void test_helo(void **state)
{
	const char *good[] = {
		"example.com",
		"mx.example.com.",
		"localhost",
		"a",
		"1.2.3.4",
		"a-b.c--d.example",
		"[192.0.2.1]",
		"[IPv6:::1]",
		"[IPv6:2001:db8::1]",
		"[IPv6:::ffff:1.2.3.4]",
		"b\xc3\xa4r.example",
		"\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a",
	};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		if (!helo(good[i]))
			fail_msg("\"%s\" should be valid", good[i]);

	const char *bad[] = {
		"",
		".",
		"..",
		"example..com",
		"example.com..",
		".example.com",
		"-a.example",
		"a-.example",
		"a_b.example",
		"exa mple",
		"example.com extra",
		"example.com ",
		" example.com",
		"a@b",
		"<example.com>",
		"[1.2.3.4",
		"[1.2.3.4]x",
		"[1.2.3.4].",
		"[300.1.1.1]",
		"[IPv6:1::2::3]",
		"[]",
		"\xff.example",
		"\xc3.example",
		"ex\tample",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (helo(bad[i]))
			fail_msg("\"%s\" should be invalid", bad[i]);

	/* the length is respected */
	assert_true(smtp_cmd_valid_helo("example.com junk", 11));
	assert_false(smtp_cmd_valid_helo("example.com", 0));

	/* 255 octets is the longest domain; a root dot may follow */
	char dom[300];
	make_domain(dom, SMTP_DOMAIN_MAX);
	assert_true(helo(dom));
	strcat(dom, ".");
	assert_true(helo(dom));
	make_domain(dom, SMTP_DOMAIN_MAX + 1);
	assert_false(helo(dom));
	/* the same limit for a literal */
	dom[0] = '[';
	memcpy(dom + 1, "tag:", 4);
	fill(dom + 5, SMTP_DOMAIN_MAX - 6, 'x');
	strcat(dom, "]");
	assert_int_equal(strlen(dom), SMTP_DOMAIN_MAX);
	assert_true(helo(dom));
	dom[SMTP_DOMAIN_MAX - 1] = 'x';
	strcat(dom, "]");
	assert_false(helo(dom));
}

/* ---- BDAT ---- */

static void expect_bdat(const char *arg, enum smtp_parse_status want, uint64_t size, bool last)
{
	uint64_t sz = 99;
	bool l = true;
	enum smtp_parse_status st = smtp_cmd_parse_bdat(arg, strlen(arg), &sz, &l);
	if (st != want)
		fail_msg("BDAT \"%s\": got %d, want %d", arg, st, want);
	if (want == SMTP_PARSE_OK) {
		assert_true(sz == size);
		assert_int_equal(l, last);
	}
}

static void test_bdat(void **state)
{
	expect_bdat("0", SMTP_PARSE_OK, 0, false);
	expect_bdat("1000", SMTP_PARSE_OK, 1000, false);
	expect_bdat("1000 LAST", SMTP_PARSE_OK, 1000, true);
	expect_bdat("0 last", SMTP_PARSE_OK, 0, true);
	expect_bdat("7 LaSt", SMTP_PARSE_OK, 7, true);
	expect_bdat("18446744073709551615 LAST", SMTP_PARSE_OK, UINT64_MAX, true);
	expect_bdat("00000000000000000001", SMTP_PARSE_OK, 1, false);

	expect_bdat("18446744073709551616", SMTP_PARSE_BAD_PARAM, 0, false);
	expect_bdat("000000000000000000001", SMTP_PARSE_OK, 1, false); /* RFC 3030: 1*DIGIT */
	expect_bdat("123456789012345678901 LAST", SMTP_PARSE_BAD_PARAM, 0, false);

	const char *bad[] = { "", "LAST", "10  LAST", "10 LASTX", "10 LAS", "10 FIRST", "-1",
			      "+10", "10x", " 10", "10 ", "10 LAST ", "1 0", "0x10", "10\tLAST" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		expect_bdat(bad[i], SMTP_PARSE_SYNTAX, 0, false);

	/* outputs are reset on failure */
	uint64_t sz = 5;
	bool l = true;
	assert_int_equal(smtp_cmd_parse_bdat("x", 1, &sz, &l), SMTP_PARSE_SYNTAX);
	assert_true(sz == 0);
	assert_false(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs_all),
		cmocka_unit_test(test_verbs_args),
		cmocka_unit_test(test_verbs_unknown),
		cmocka_unit_test(test_mail_basic),
		cmocka_unit_test(test_mail_null),
		cmocka_unit_test(test_mail_syntax),
		cmocka_unit_test(test_path_dot_string),
		cmocka_unit_test(test_path_quoted),
		cmocka_unit_test(test_path_domain),
		cmocka_unit_test(test_path_ipv4_literal),
		cmocka_unit_test(test_path_ipv6_literal),
		cmocka_unit_test(test_path_general_literal),
		cmocka_unit_test(test_path_general_literal_bad),
		cmocka_unit_test(test_path_source_route),
		cmocka_unit_test(test_path_local_limit),
		cmocka_unit_test(test_path_length_limits),
		cmocka_unit_test(test_path_utf8),
		cmocka_unit_test(test_param_size),
		cmocka_unit_test(test_param_body),
		cmocka_unit_test(test_param_smtputf8),
		cmocka_unit_test(test_param_auth),
		cmocka_unit_test(test_param_all),
		cmocka_unit_test(test_param_unknown_and_syntax),
		cmocka_unit_test(test_rcpt),
		cmocka_unit_test(test_rcpt_postmaster),
		cmocka_unit_test(test_helo),
		cmocka_unit_test(test_bdat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
