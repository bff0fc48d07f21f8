/* The session state machine, fed bytes, compared to exact reply bytes:
 * every row of SPEC §1 and §2 that the pure core decides. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/hops.h"
#include "smtp/session.h"

struct fake {
	struct smtp_config cfg;
	struct smtp_hooks hooks;
	struct smtp_session *s;
	char stored[1 << 16]; /* the last committed message */
	size_t stored_len;
	char spool[1 << 16];
	size_t spool_len;
	int begun, aborted, commits;
	int improper_pipelining;
	enum smtp_verb improper_after;
	int state_changes;
	bool async_commit;     /* leave the commit pending */
	enum smtp_msg_status begin_status, write_status;
	bool tls_started;
	bool tls_unavailable;
	char out[1 << 16];
	char held[16384]; /* input the session has not consumed yet, as the server holds it */
	size_t held_len;
	uint64_t room;      /* fk_mail_check: room for a message this big */
	uint64_t asked;     /* the size it was last asked about */
};

static bool fk_mail_check(void *ctx, uint64_t size)
{
	struct fake *f = ctx;
	f->asked = size;
	return size <= f->room;
}

static enum smtp_rcpt_verdict fk_rcpt(void *ctx, const struct smtp_path *p, bool auth)
{
	(void)ctx;
	(void)auth;
	if (p->postmaster)
		return SMTP_RCPT_OK;
	const char *d = p->addr + p->at + 1;
	if (p->at < p->len && !strcmp(d, "localhost")) {
		if (!strncmp(p->addr, "nobody@", 7))
			return SMTP_RCPT_NO_MAILBOX;
		return SMTP_RCPT_OK;
	}
	return SMTP_RCPT_RELAY_DENIED;
}

static enum smtp_msg_status fk_begin(void *ctx, struct smtp_envelope *env)
{
	struct fake *f = ctx;
	f->begun++;
	f->spool_len = 0;
	snprintf(env->queue_id, sizeof(env->queue_id), "Q%d", f->begun);
	return f->begin_status;
}

static enum smtp_msg_status fk_write(void *ctx, const char *p, size_t n)
{
	struct fake *f = ctx;
	if (f->write_status != SMTP_MSG_OK)
		return f->write_status;
	/* content comes in non-empty pieces of at most one decode chunk */
	assert_true(n > 0 && n <= 16384);
	if (f->spool_len + n <= sizeof(f->spool)) {
		memcpy(f->spool + f->spool_len, p, n);
		f->spool_len += n;
	}
	return SMTP_MSG_OK;
}

static void fk_commit(void *ctx, struct smtp_envelope *env)
{
	struct fake *f = ctx;
	(void)env;
	f->commits++;
	memcpy(f->stored, f->spool, f->spool_len);
	f->stored_len = f->spool_len;
	if (!f->async_commit)
		smtp_session_msg_done(f->s, SMTP_MSG_OK);
}

static void fk_abort(void *ctx)
{
	struct fake *f = ctx;
	f->aborted++;
}

static void fk_pipelining(void *ctx, enum smtp_verb after)
{
	struct fake *f = ctx;
	f->improper_pipelining++;
	f->improper_after = after;
}

static void fk_state(void *ctx, const char *from, const char *to)
{
	struct fake *f = ctx;
	assert_string_not_equal(from, to);
	f->state_changes++;
}

static bool fk_starttls(void *ctx)
{
	struct fake *f = ctx;
	if (f->tls_unavailable)
		return false;
	f->tls_started = true;
	return true;
}

/* A toy SASL backend: PLAIN accepts "\0user\0pass"; LOGIN asks twice. */
static const char *fk_mechs(void *ctx, bool tls)
{
	(void)ctx;
	return tls ? "PLAIN LOGIN" : "LOGIN";
}

static int auth_mech; /* 1 PLAIN, 2 LOGIN */
static int auth_step_no;
static int auth_ends;
static bool auth_defer;
static bool login_had_ir;

static enum smtp_auth_start fk_auth_start(void *ctx, const char *mech, bool tls, bool ir)
{
	(void)ctx;
	if (ir && !strcmp(mech, "CRAM-MD5"))
		return SMTP_AUTH_START_NO_INITIAL_RESPONSE;
	auth_step_no = 0;
	if (!strcmp(mech, "PLAIN")) {
		auth_mech = 1;
		return tls ? SMTP_AUTH_START_OK : SMTP_AUTH_START_NEEDS_TLS;
	}
	if (!strcmp(mech, "LOGIN")) {
		auth_mech = 2;
		return SMTP_AUTH_START_OK;
	}
	return SMTP_AUTH_START_UNKNOWN;
}

static void fk_auth_step(void *ctx, const unsigned char *resp, size_t len)
{
	struct fake *f = ctx;
	auth_step_no++;
	if (auth_step_no == 1)
		login_had_ir = resp != NULL;
	if (auth_defer)
		return;
	if (auth_mech == 1) {
		if (!resp)
			smtp_session_auth_reply(f->s, SMTP_AUTH_CHALLENGE, "", 0, NULL);
		else if (len == 10 && !memcmp(resp, "\0user\0pass", 10))
			smtp_session_auth_reply(f->s, SMTP_AUTH_SUCCESS, NULL, 0, "user");
		else
			smtp_session_auth_reply(f->s, SMTP_AUTH_FAILED, NULL, 0, NULL);
		return;
	}
	if (auth_step_no == 1 && !resp)
		smtp_session_auth_reply(f->s, SMTP_AUTH_CHALLENGE, "Username:", 9, NULL);
	else if (auth_step_no == 1 || (auth_step_no == 2 && !login_had_ir))
		smtp_session_auth_reply(f->s, SMTP_AUTH_CHALLENGE, "Password:", 9, NULL);
	else if (len == 4 && !memcmp(resp, "pass", 4))
		smtp_session_auth_reply(f->s, SMTP_AUTH_SUCCESS, NULL, 0, "user");
	else
		smtp_session_auth_reply(f->s, SMTP_AUTH_FAILED, NULL, 0, NULL);
}

static void fk_auth_end(void *ctx)
{
	(void)ctx;
	auth_ends++;
}

static struct fake *fake_new(void (*tune)(struct smtp_config *))
{
	struct fake *f = calloc(1, sizeof(*f));
	smtp_config_defaults(&f->cfg);
	f->cfg.hostname = "mx.test";
	f->cfg.max_message_size = 1000;
	if (tune)
		tune(&f->cfg);
	f->hooks.ctx = f;
	f->hooks.rcpt_check = fk_rcpt;
	f->hooks.msg_begin = fk_begin;
	f->hooks.msg_write = fk_write;
	f->hooks.msg_commit = fk_commit;
	f->hooks.msg_abort = fk_abort;
	f->hooks.starttls = fk_starttls;
	f->hooks.on_improper_pipelining = fk_pipelining;
	f->hooks.on_state = fk_state;
	f->s = smtp_session_new(&f->cfg, &f->hooks);
	smtp_session_greet(f->s);
	buf_clear(smtp_session_output(f->s));
	return f;
}

static void fake_free(struct fake *f)
{
	smtp_session_free(f->s);
	free(f);
}

/* Feed in (as one write) after what is held; return everything the session said. */
static const char *talk_n(struct fake *f, const char *in, size_t len)
{
	assert_true(f->held_len + len <= sizeof(f->held));
	memcpy(f->held + f->held_len, in, len);
	f->held_len += len;
	size_t used = smtp_session_input(f->s, f->held, f->held_len);
	memmove(f->held, f->held + used, f->held_len - used);
	f->held_len -= used;
	struct buf *o = smtp_session_output(f->s);
	assert_true(o->len < sizeof(f->out));
	memcpy(f->out, o->data, o->len);
	f->out[o->len] = '\0';
	buf_clear(o);
	return f->out;
}

static const char *talk(struct fake *f, const char *in)
{
	return talk_n(f, in, strlen(in));
}

static void ehlo(struct fake *f)
{
	talk(f, "EHLO client.test\r\n");
}

static void greeting(void **st)
{
	struct smtp_config cfg;
	struct smtp_hooks hooks = { 0 };
	smtp_config_defaults(&cfg);
	cfg.hostname = "mx.test";
	struct smtp_session *s = smtp_session_new(&cfg, &hooks);
	smtp_session_greet(s);
	struct buf *o = smtp_session_output(s);
	assert_int_equal(o->len, strlen("220 mx.test ESMTP postern\r\n"));
	assert_memory_equal(o->data, "220 mx.test ESMTP postern\r\n", o->len);
	buf_clear(o);
	smtp_session_refuse(s);
	assert_true(smtp_session_closing(s));
	assert_memory_equal(o->data, "421 4.7.0 ", 10);
	smtp_session_free(s);
}

static void ehlo_reply(void **st)
{
	struct fake *f = fake_new(NULL);
	assert_string_equal(talk(f, "EHLO client.test\r\n"),
			    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n"
			    "250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n"
			    "250 BINARYMIME\r\n");
	assert_string_equal(talk(f, "HELO client.test\r\n"), "250 mx.test\r\n");
	assert_string_equal(talk(f, "EHLO\r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
	assert_string_equal(talk(f, "HELO\r\n"), "501 5.5.4 Syntax: HELO hostname\r\n");
	assert_string_equal(talk(f, "EHLO bad..domain\r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
	assert_string_equal(talk(f, "EHLO [127.0.0.1]\r\n"),
			    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n"
			    "250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n"
			    "250 BINARYMIME\r\n");
	fake_free(f);
}

static void tune_tls(struct smtp_config *c)
{
	c->tls_available = true;
}

static void starttls(void **st)
{
	struct fake *f = fake_new(NULL);
	assert_string_equal(talk(f, "STARTTLS\r\n"), "502 5.5.1 Error: TLS not available\r\n");
	fake_free(f);

	f = fake_new(tune_tls);
	assert_string_equal(talk(f, "STARTTLS\r\n"), "503 5.5.1 Error: send EHLO first\r\n");
	/* an extension: HELO did not offer it (SPEC §4), as AUTH and BDAT */
	talk(f, "HELO c.test\r\n");
	assert_string_equal(talk(f, "STARTTLS\r\n"), "503 5.5.1 Error: send EHLO first\r\n");
	assert_false(f->tls_started);
	assert_non_null(strstr(talk(f, "EHLO c.test\r\n"), "250-STARTTLS\r\n") ?
				"x" : strstr(f->out, "STARTTLS"));
	assert_string_equal(talk(f, "STARTTLS now\r\n"), "501 5.5.4 Syntax: STARTTLS\r\n");
	/* CVE-2011-0411: the NOOP sent with STARTTLS is never answered */
	assert_string_equal(talk(f, "STARTTLS\r\nNOOP\r\n"), "220 2.0.0 Ready to start TLS\r\n");
	assert_true(f->tls_started);
	assert_false(smtp_session_wants_input(f->s));
	assert_string_equal(talk(f, "NOOP\r\n"), "");
	smtp_session_tls_done(f->s, true);
	/* reset to the state after the greeting: EHLO again, no STARTTLS offered */
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test>\r\n"),
			    "503 5.5.1 Error: send HELO/EHLO first\r\n");
	talk(f, "EHLO c.test\r\n");
	assert_null(strstr(f->out, "STARTTLS"));
	assert_string_equal(talk(f, "STARTTLS\r\n"), "503 5.5.1 Error: TLS already active\r\n");
	fake_free(f);

	/* a temporary failure to set TLS up: 454 4.7.0, the session goes on */
	f = fake_new(tune_tls);
	f->tls_unavailable = true;
	talk(f, "EHLO c.test\r\n");
	assert_string_equal(talk(f, "STARTTLS\r\nNOOP\r\n"),
			    "454 4.7.0 TLS not available due to temporary reason\r\n"
			    "250 2.0.0 Ok\r\n");
	assert_false(f->tls_started);
	fake_free(f);
}

static void sequence_errors(void **st)
{
	struct fake *f = fake_new(NULL);
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test>\r\n"),
			    "503 5.5.1 Error: send HELO/EHLO first\r\n");
	assert_string_equal(talk(f, "RCPT TO:<a@localhost>\r\n"),
			    "503 5.5.1 Error: send HELO/EHLO first\r\n");
	ehlo(f);
	assert_string_equal(talk(f, "RCPT TO:<a@localhost>\r\n"),
			    "503 5.5.1 Error: need MAIL command\r\n");
	assert_string_equal(talk(f, "DATA\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test>\r\n"), "250 2.1.0 Ok\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test>\r\n"),
			    "503 5.5.1 Error: nested MAIL command\r\n");
	assert_string_equal(talk(f, "DATA\r\n"), "503 5.5.1 Error: need RCPT command\r\n");
	assert_string_equal(talk(f, "RCPT TO:<x@elsewhere.test>\r\n"),
			    "554 5.7.1 <x@elsewhere.test>: Relay access denied\r\n");
	assert_string_equal(talk(f, "RCPT TO:<nobody@localhost>\r\n"),
			    "550 5.1.1 <nobody@localhost>: Recipient address rejected: User unknown\r\n");
	assert_string_equal(talk(f, "DATA\r\n"), "554 5.5.1 Error: no valid recipients\r\n");
	assert_string_equal(talk(f, "RSET\r\n"), "250 2.0.0 Ok\r\n");
	assert_string_equal(talk(f, "RCPT TO:<a@localhost>\r\n"),
			    "503 5.5.1 Error: need MAIL command\r\n");
	fake_free(f);
}

/* SPEC §6: the queue's room is asked at MAIL, with the SIZE= the client
 * declared (0 without one); no room is 452 4.3.1, after the 552 of a SIZE=
 * over max_message_size. */
static void mail_asks_for_room(void **st)
{
	struct fake *f = fake_new(NULL);
	f->hooks.mail_check = fk_mail_check;
	f->room = 500;
	ehlo(f);
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test> SIZE=501\r\n"),
			    "452 4.3.1 Error: insufficient system storage\r\n");
	assert_int_equal(f->asked, 501);
	f->asked = 1;
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test> SIZE=1001\r\n"),
			    "552 5.3.4 Error: message size exceeds fixed limit\r\n");
	assert_int_equal(f->asked, 1); /* refused before the room was asked */
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test>\r\n"), "250 2.1.0 Ok\r\n");
	assert_int_equal(f->asked, 0);
	assert_string_equal(talk(f, "RSET\r\n"), "250 2.0.0 Ok\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test> SIZE=500\r\n"), "250 2.1.0 Ok\r\n");
	assert_int_equal(f->asked, 500);
	fake_free(f);
}

static void syntax_errors(void **st)
{
	struct fake *f = fake_new(NULL);
	ehlo(f);
	assert_string_equal(talk(f, "EHOL x\r\n"), "500 5.5.2 Error: command not recognized\r\n");
	assert_string_equal(talk(f, "\r\n"), "500 5.5.2 Error: command not recognized\r\n");
	assert_string_equal(talk(f, "EXPN list\r\n"), "502 5.5.1 Error: command not implemented\r\n");
	assert_string_equal(talk(f, "TURN\r\n"), "502 5.5.1 Error: command not implemented\r\n");
	assert_string_equal(talk(f, "MAIL <a@b.test>\r\n"), "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<a@@b>\r\n"),
			    "501 5.1.7 Error: bad sender address syntax\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test> FOO=bar\r\n"),
			    "555 5.5.4 Error: unsupported MAIL parameter\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test> SIZE=1001\r\n"),
			    "552 5.3.4 Error: message size exceeds fixed limit\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test> SIZE=1000 BODY=8BITMIME\r\n"),
			    "250 2.1.0 Ok\r\n");
	assert_string_equal(talk(f, "RCPT TO:<a b@localhost>\r\n"),
			    "501 5.1.3 Error: bad recipient address syntax\r\n");
	assert_string_equal(talk(f, "RCPT TO:<a@localhost> NOTIFY=NEVER\r\n"),
			    "555 5.5.4 Error: unsupported RCPT parameter\r\n");
	assert_string_equal(talk(f, "RCPT TO:<Postmaster>\r\n"), "250 2.1.5 Ok\r\n");
	assert_string_equal(talk(f, "VRFY root\r\n"),
			    "252 2.0.0 Cannot VRFY user, but will accept message\r\n");
	assert_string_equal(talk(f, "NOOP anything\r\n"), "250 2.0.0 Ok\r\n");
	assert_memory_equal(talk(f, "HELP\r\n"), "214 2.0.0 ", 10);
	assert_string_equal(talk(f, "QUIT\r\n"), "221 2.0.0 Bye\r\n");
	assert_true(smtp_session_closing(f->s));
	assert_true(f->aborted == 0);
	fake_free(f);
}

/* RFC 5321 §4.1.1.5, §4.1.1.10: RSET and QUIT take no argument (they got
 * 250 and 221); the transaction and the session go on. */
static void rset_quit_take_no_argument(void **st)
{
	struct fake *f = fake_new(NULL);
	ehlo(f);
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test>\r\n"), "250 2.1.0 Ok\r\n");
	assert_string_equal(talk(f, "RSET x\r\n"), "501 5.5.4 Syntax: RSET\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test>\r\n"),
			    "503 5.5.1 Error: nested MAIL command\r\n");
	assert_string_equal(talk(f, "QUIT now\r\n"), "501 5.5.4 Syntax: QUIT\r\n");
	assert_false(smtp_session_closing(f->s));
	assert_string_equal(talk(f, "QUIT\r\n"), "221 2.0.0 Bye\r\n");
	fake_free(f);
}

static void utf8_addresses(void **st)
{
	struct fake *f = fake_new(NULL);
	ehlo(f);
	assert_string_equal(talk(f, "MAIL FROM:<\xc3\xa9t\xc3\xa9@b.test>\r\n"),
			    "553 5.6.7 Error: non-ASCII sender address needs SMTPUTF8\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<\xc3\xa9t\xc3\xa9@b.test> SMTPUTF8\r\n"),
			    "250 2.1.0 Ok\r\n");
	assert_string_equal(talk(f, "RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@localhost>\r\n"),
			    "250 2.1.5 Ok\r\n");
	fake_free(f);
	/* after HELO there are no extensions */
	f = fake_new(NULL);
	talk(f, "HELO c.test\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test> BODY=8BITMIME\r\n"),
			    "555 5.5.4 Error: MAIL parameters need EHLO, not HELO\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test>\r\n"), "250 2.1.0 Ok\r\n");
	fake_free(f);
}

static void line_limits(void **st)
{
	struct fake *f = fake_new(NULL);
	ehlo(f);
	char line[2048];
	/* 510 octets + CRLF = 512: accepted */
	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	memcpy(line + 510, "\r\n", 3);
	assert_string_equal(talk(f, line), "250 2.0.0 Ok\r\n");
	/* 511 + CRLF = 513: too long; the session stays usable */
	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	memcpy(line + 511, "\r\n", 3);
	assert_string_equal(talk(f, line), "500 5.5.2 Error: line too long\r\n");
	assert_string_equal(talk(f, "NOOP\r\n"), "250 2.0.0 Ok\r\n");
	/* 2000 octets in several writes: one 500 */
	memset(line, 'y', 2000);
	const char *seen;
	seen = talk_n(f, line, 700);
	assert_string_equal(seen, "");
	seen = talk_n(f, line, 700);
	assert_string_equal(seen, "");
	seen = talk_n(f, line, 600);
	assert_string_equal(seen, "");
	assert_string_equal(talk(f, "\r\nNOOP\r\n"), "500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n");
	/* MAIL may be longer by what its parameters allow (RFC 1870, 4954) */
	char mail[1100];
	int n = snprintf(mail, sizeof(mail), "MAIL FROM:<a@b.test> SIZE=10 AUTH=");
	for (; n + 3 <= 560; n += 3) /* xtext: "+61" is "a" */
		memcpy(mail + n, "+61", 3);
	memcpy(mail + n, "@x\r\n", 5);
	assert_string_equal(talk(f, mail), "250 2.1.0 Ok\r\n");
	talk(f, "RSET\r\n");
	n = snprintf(mail, sizeof(mail), "MAIL FROM:<a@b.test> AUTH=");
	memset(mail + n, 'a', 1070 - (size_t)n);
	memcpy(mail + 1070, "\r\n", 3);
	assert_string_equal(talk(f, mail), "500 5.5.2 Error: line too long\r\n");
	fake_free(f);
}

static void pipelined_long_lines(void **st)
{
	struct fake *f = fake_new(NULL);
	ehlo(f);
	static char batch[4096];
	size_t o = 0;
	for (int i = 0; i < 3; i++) {
		memset(batch + o, 'z', 600);
		o += 600;
		memcpy(batch + o, "\r\n", 2);
		o += 2;
	}
	memcpy(batch + o, "NOOP\r\n", 6);
	o += 6;
	assert_string_equal(talk_n(f, batch, o),
			    "500 5.5.2 Error: line too long\r\n500 5.5.2 Error: line too long\r\n"
			    "500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n");
	fake_free(f);
}

static void tune_require_tls(struct smtp_config *c)
{
	c->tls_available = true;
	c->require_tls = true;
}

/* require_tls: only EHLO HELO STARTTLS NOOP RSET QUIT before TLS (RFC 3207 §4) */
static void require_tls(void **st)
{
	struct fake *f = fake_new(tune_require_tls);
	talk(f, "EHLO c.test\r\n");
	const char *must = "530 5.7.0 Must issue a STARTTLS command first\r\n";
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test>\r\n"), must);
	assert_string_equal(talk(f, "VRFY postmaster\r\n"), must);
	assert_string_equal(talk(f, "HELP\r\n"), must);
	assert_string_equal(talk(f, "NOOP\r\n"), "250 2.0.0 Ok\r\n");
	assert_string_equal(talk(f, "RSET\r\n"), "250 2.0.0 Ok\r\n");
	assert_string_equal(talk(f, "STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
	smtp_session_tls_done(f->s, true);
	talk(f, "EHLO c.test\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test>\r\n"), "250 2.1.0 Ok\r\n");
	fake_free(f);
}

/* RFC 3030 §2: a BDAT refused before its handler runs (530, line too long)
 * still has its chunk read and thrown away, never run as commands. */
static void refused_bdat_consumes_chunk(void **st)
{
	const char *must = "530 5.7.0 Must issue a STARTTLS command first\r\n";
	struct fake *f = fake_new(tune_require_tls);
	talk(f, "EHLO c.test\r\n");
	assert_string_equal(talk(f, "BDAT 12\r\nRSET\r\nNOOP\r\n"), must);
	assert_string_equal(talk(f, "NOOP\r\n"), "250 2.0.0 Ok\r\n");
	/* split across reads, and BDAT 0 LAST */
	assert_string_equal(talk(f, "BDAT 6 LAST\r\nQUI"), "");
	assert_string_equal(talk(f, "T\r\n"), must);
	assert_string_equal(talk(f, "BDAT 0 LAST\r\n"), must);
	/* no trustworthy size: refused at once, nothing skipped */
	assert_string_equal(talk(f, "BDAT x\r\nNOOP\r\n"), "530 5.7.0 Must issue a STARTTLS command first\r\n"
							       "250 2.0.0 Ok\r\n");
	fake_free(f);

	/* a BDAT line past 512 octets whose size still parses (zero padding) */
	f = fake_new(NULL);
	ehlo(f);
	char line[700];
	int n = snprintf(line, sizeof(line), "BDAT %0600d\r\nRSET\r\nQUIT\r\n", 12);
	assert_true(n > 0 && (size_t)n < sizeof(line));
	assert_string_equal(talk(f, line), "500 5.5.2 Error: line too long\r\n");
	assert_false(smtp_session_closing(f->s));
	assert_string_equal(talk(f, "NOOP\r\n"), "250 2.0.0 Ok\r\n");
	fake_free(f);
}

/* 530 counts toward max_errors, as every other refusal of a broken client */
static void require_tls_counts_errors(void **st)
{
	struct fake *f = fake_new(tune_require_tls);
	talk(f, "EHLO c.test\r\n");
	for (int i = 0; i < 9; i++)
		talk(f, "MAIL FROM:<a@b.test>\r\n");
	assert_string_equal(talk(f, "HELP\r\n"), "530 5.7.0 Must issue a STARTTLS command first\r\n"
						   "421 4.7.0 mx.test Error: too many errors\r\n");
	fake_free(f);
}

/* Postfix's smtpd_junk_command_limit: 100 NOOP/RSET/VRFY/EHLO are fine, each
 * one past that counts as an error; a delivered message starts over. */
static void junk_command_limit(void **st)
{
	struct fake *f = fake_new(NULL);
	ehlo(f);
	for (int i = 0; i < 99; i++)
		assert_string_equal(talk(f, "NOOP\r\n"), "250 2.0.0 Ok\r\n");
	talk(f, "MAIL FROM:<a@b.test>\r\nRCPT TO:<u@localhost>\r\nDATA\r\n");
	assert_string_equal(talk(f, "x\r\n.\r\n"), "250 2.0.0 Ok: queued as Q1\r\n");
	for (int i = 0; i < 100; i++)
		assert_string_equal(talk(f, i % 2 ? "RSET\r\n" : "VRFY u\r\n"),
				    i % 2 ? "250 2.0.0 Ok\r\n"
					  : "252 2.0.0 Cannot VRFY user, but will accept message\r\n");
	for (int i = 0; i < 9; i++)
		assert_string_equal(talk(f, "NOOP\r\n"), "250 2.0.0 Ok\r\n");
	assert_string_equal(talk(f, "NOOP\r\n"),
			    "250 2.0.0 Ok\r\n421 4.7.0 mx.test Error: too many errors\r\n");
	assert_true(smtp_session_closing(f->s));
	fake_free(f);
}

/* RFC 2920 §3.1: input right after a command that ends a group is told
 * once; replies still come, in order. */
static void improper_pipelining(void **st)
{
	struct fake *f = fake_new(NULL);
	assert_string_equal(talk(f, "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@localhost>\r\n"),
			    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n"
			    "250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n"
			    "250 BINARYMIME\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
	assert_int_equal(f->improper_pipelining, 1);
	assert_int_equal(f->improper_after, SMTP_VERB_EHLO);
	assert_true(f->state_changes >= 2); /* connected -> ready -> mail */
	talk(f, "RSET\r\nNOOP\r\nNOOP\r\n");
	assert_int_equal(f->improper_pipelining, 1);
	fake_free(f);

	/* a group that ends where it must is proper */
	f = fake_new(NULL);
	ehlo(f);
	talk(f, "MAIL FROM:<a@b.test>\r\nRCPT TO:<u@localhost>\r\nDATA\r\n");
	talk(f, "x\r\n.\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@localhost>\r\nNOOP\r\n");
	assert_int_equal(f->improper_pipelining, 0);
	talk(f, "DATA\r\nearly\r\n");
	assert_int_equal(f->improper_pipelining, 1);
	assert_int_equal(f->improper_after, SMTP_VERB_DATA);
	fake_free(f);
}

/* implicit TLS (RFC 8314): no STARTTLS offered, the protocol is ESMTPS */
static void implicit_tls(void **st)
{
	struct fake *f = fake_new(tune_require_tls);
	smtp_session_set_tls(f->s); /* as conn.c does before the greeting */
	talk(f, "EHLO c.test\r\n");
	assert_null(strstr(f->out, "STARTTLS"));
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test>\r\n"), "250 2.1.0 Ok\r\n");
	assert_string_equal(talk(f, "STARTTLS\r\n"), "503 5.5.1 Error: TLS already active\r\n");
	fake_free(f);
}

static void tune_lenient(struct smtp_config *c)
{
	c->lenient_line_endings = true;
}

static void line_endings(void **st)
{
	struct fake *f = fake_new(NULL);
	assert_string_equal(talk(f, "EHLO c.test\n"), "500 5.5.2 Error: line must end with CRLF\r\n");
	assert_string_equal(talk(f, "NO\rOP\r\n"), "500 5.5.2 Error: line must end with CRLF\r\n");
	assert_string_equal(talk_n(f, "NO\0OP\r\n", 7),
			    "500 5.5.2 Error: control character in command\r\n");
	assert_string_equal(talk(f, "NOOP\r\n"), "250 2.0.0 Ok\r\n");
	fake_free(f);
	f = fake_new(tune_lenient);
	assert_string_equal(talk(f, "NOOP\n"), "250 2.0.0 Ok\r\n");
	fake_free(f);
}

static void transaction(struct fake *f)
{
	ehlo(f);
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test>\r\nRCPT TO:<u@localhost>\r\nDATA\r\n"),
			    "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
}

static void data_basic(void **st)
{
	struct fake *f = fake_new(NULL);
	transaction(f);
	assert_string_equal(talk(f, "Subject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n"),
			    "250 2.0.0 Ok: queued as Q1\r\n221 2.0.0 Bye\r\n");
	assert_int_equal(f->stored_len, strlen("Subject: hi\r\n\r\n.dot\r\n"));
	assert_memory_equal(f->stored, "Subject: hi\r\n\r\n.dot\r\n", f->stored_len);
	fake_free(f);
}

static void data_smuggling(void **st)
{
	static const char *const fakes[] = { "\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r" };
	for (size_t i = 0; i < 4; i++) {
		struct fake *f = fake_new(NULL);
		transaction(f);
		char in[256];
		snprintf(in, sizeof(in), "a%sMAIL FROM:<evil@x.test>\r\n.\r\n", fakes[i]);
		assert_string_equal(talk(f, in), "250 2.0.0 Ok: queued as Q1\r\n");
		assert_non_null(memmem(f->stored, f->stored_len, "MAIL FROM:<evil@x.test>", 23));
		assert_int_equal(f->commits, 1);
		fake_free(f);
	}
}

static void tune_reject_bare(struct smtp_config *c)
{
	c->bare_newline = SMTP_BARE_REJECT;
}

static void data_bare_newlines(void **st)
{
	struct fake *f = fake_new(NULL);
	transaction(f);
	assert_string_equal(talk(f, "a\nb\rc\r\n.\r\n"), "250 2.0.0 Ok: queued as Q1\r\n");
	assert_memory_equal(f->stored, "a\r\nb\r\nc\r\n", 9);
	assert_int_equal(f->stored_len, 9);
	fake_free(f);

	f = fake_new(tune_reject_bare);
	transaction(f);
	assert_string_equal(talk(f, "a\nb\r\n.\r\n"),
			    "554 5.6.0 Error: bare <CR> or <LF> in message content\r\n");
	assert_int_equal(f->commits, 0);
	assert_int_equal(f->aborted, 1);
	assert_string_equal(talk(f, "NOOP\r\n"), "250 2.0.0 Ok\r\n");
	fake_free(f);
}

static void tune_text_limit(struct smtp_config *c)
{
	c->text_line_limit = 20;
	c->max_message_size = 0;
}

static void data_limits(void **st)
{
	/* over SIZE: read to the end, then 552; nothing committed */
	struct fake *f = fake_new(NULL);
	transaction(f);
	char body[3000];
	memset(body, 'b', sizeof(body));
	for (size_t i = 78; i < sizeof(body); i += 80)
		memcpy(body + i, "\r\n", 2);
	talk_n(f, body, sizeof(body));
	assert_string_equal(f->out, "");
	assert_string_equal(talk(f, "\r\n.\r\nNOOP\r\n"),
			    "552 5.3.4 Error: message size exceeds fixed limit\r\n250 2.0.0 Ok\r\n");
	assert_int_equal(f->commits, 0);
	assert_int_equal(f->aborted, 1);
	fake_free(f);

	f = fake_new(tune_text_limit);
	transaction(f);
	assert_string_equal(talk(f, "short\r\n0123456789012345678901234\r\n.\r\n"),
			    "554 5.6.0 Error: message has a line longer than 20 octets\r\n");
	assert_int_equal(f->commits, 0);
	fake_free(f);
}

/* RFC 5321 §6.3: more than SMTP_HOP_LIMIT Received fields is a loop:
 * refused after the end of data, nothing committed; exactly the limit is
 * served. Fields in the body do not count. */
static void tune_no_size_limit(struct smtp_config *c)
{
	c->max_message_size = 0;
}

static void data_too_many_hops(void **st)
{
	char msg[8192];
	size_t n = 0;
	for (int i = 0; i < SMTP_HOP_LIMIT; i++)
		n += (size_t)snprintf(msg + n, sizeof(msg) - n, "Received: from h%d\r\n", i);
	n += (size_t)snprintf(msg + n, sizeof(msg) - n, "\r\nReceived: body\r\n.\r\n");
	struct fake *f = fake_new(tune_no_size_limit);
	transaction(f);
	assert_string_equal(talk(f, msg), "250 2.0.0 Ok: queued as Q1\r\n");
	assert_int_equal(f->commits, 1);
	fake_free(f);

	f = fake_new(tune_no_size_limit);
	transaction(f);
	talk(f, "received : from loop\r\n");
	assert_string_equal(talk(f, msg), "554 5.4.6 Error: too many hops\r\n");
	assert_int_equal(f->commits, 0);
	assert_int_equal(f->aborted, 1);
	fake_free(f);
}

static void data_store_errors(void **st)
{
	struct fake *f = fake_new(NULL);
	f->write_status = SMTP_MSG_FULL;
	transaction(f);
	assert_string_equal(talk(f, "hello\r\n.\r\n"), "452 4.3.1 Error: insufficient system storage\r\n");
	assert_int_equal(f->commits, 0);
	fake_free(f);

	f = fake_new(NULL);
	f->begin_status = SMTP_MSG_IOERR;
	transaction(f);
	assert_string_equal(talk(f, "hello\r\n.\r\n"), "451 4.3.0 Error: local error in processing\r\n");
	fake_free(f);

	/* the commit itself fails */
	f = fake_new(NULL);
	f->async_commit = true;
	transaction(f);
	assert_string_equal(talk(f, "hello\r\n.\r\n"), "");
	smtp_session_msg_done(f->s, SMTP_MSG_FULL);
	assert_string_equal(talk(f, ""), "452 4.3.1 Error: insufficient system storage\r\n");
	fake_free(f);

	/* the mailbox server (LMTP) refused it for good */
	f = fake_new(NULL);
	f->async_commit = true;
	transaction(f);
	assert_string_equal(talk(f, "hello\r\n.\r\n"), "");
	smtp_session_msg_done(f->s, SMTP_MSG_REJECTED);
	assert_string_equal(talk(f, ""),
			    "554 5.3.0 Error: the mailbox server refused the message\r\n");
	/* and the session goes on */
	assert_string_equal(talk(f, "NOOP\r\n"), "250 2.0.0 Ok\r\n");
	fake_free(f);
}

static void data_pending_commit(void **st)
{
	struct fake *f = fake_new(NULL);
	f->async_commit = true;
	transaction(f);
	const char *in = "x\r\n.\r\nNOOP\r\n";
	size_t used = smtp_session_input(f->s, in, strlen(in));
	/* nothing after the end of data is consumed while the commit is pending */
	assert_int_equal(used, strlen("x\r\n.\r\n"));
	assert_false(smtp_session_wants_input(f->s));
	assert_int_equal(smtp_session_input(f->s, "NOOP\r\n", 6), 0);
	smtp_session_msg_done(f->s, SMTP_MSG_OK);
	assert_string_equal(talk(f, "NOOP\r\n"), "250 2.0.0 Ok: queued as Q1\r\n250 2.0.0 Ok\r\n");
	fake_free(f);
}

static void recipients_limit(void **st)
{
	struct fake *f = fake_new(NULL);
	ehlo(f);
	talk(f, "MAIL FROM:<>\r\n");
	for (int i = 0; i < 100; i++) {
		char cmd[64];
		snprintf(cmd, sizeof(cmd), "RCPT TO:<u%d@localhost>\r\n", i);
		assert_string_equal(talk(f, cmd), "250 2.1.5 Ok\r\n");
	}
	for (int i = 0; i < 15; i++) /* not protocol errors: no 421 */
		assert_string_equal(talk(f, "RCPT TO:<extra@localhost>\r\n"),
				    "452 4.5.3 Error: too many recipients\r\n");
	assert_string_equal(talk(f, "DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
	assert_string_equal(talk(f, ".\r\n"), "250 2.0.0 Ok: queued as Q1\r\n");
	fake_free(f);
}

static void error_limit(void **st)
{
	struct fake *f = fake_new(NULL);
	for (int i = 0; i < 9; i++)
		assert_string_equal(talk(f, "BOGUS\r\n"), "500 5.5.2 Error: command not recognized\r\n");
	assert_string_equal(talk(f, "BOGUS\r\nNOOP\r\n"),
			    "500 5.5.2 Error: command not recognized\r\n"
			    "421 4.7.0 mx.test Error: too many errors\r\n");
	assert_true(smtp_session_closing(f->s));
	fake_free(f);
}

static void bdat(void **st)
{
	struct fake *f = fake_new(NULL);
	ehlo(f);
	talk(f, "MAIL FROM:<a@b.test>\r\nRCPT TO:<u@localhost>\r\n");
	assert_string_equal(talk(f, "BDAT 5\r\nhello"), "250 2.0.0 Ok: 5 octets received\r\n");
	assert_string_equal(talk(f, "DATA\r\n"),
			    "503 5.5.1 Error: DATA after BDAT in one transaction\r\n");
	assert_string_equal(talk(f, "BDAT 8 LAST\r\n world\r\n"), "250 2.0.0 Ok: queued as Q1\r\n");
	assert_int_equal(f->stored_len, 13);
	assert_memory_equal(f->stored, "hello world\r\n", 13);
	/* BDAT 0 LAST ends a message with no more octets */
	talk(f, "MAIL FROM:<a@b.test>\r\nRCPT TO:<u@localhost>\r\n");
	assert_string_equal(talk(f, "BDAT 3\r\nabcBDAT 0 LAST\r\n"),
			    "250 2.0.0 Ok: 3 octets received\r\n250 2.0.0 Ok: queued as Q2\r\n");
	/* a refused BDAT still has its octets skipped */
	assert_string_equal(talk(f, "BDAT 6\r\nNOOP\r\nNOOP\r\n"),
			    "503 5.5.1 Error: need MAIL command\r\n250 2.0.0 Ok\r\n");
	/* and so has one whose size parses but whose end marker does not: its
	 * octets are no commands (a black-box test had them run as RCPT) */
	talk(f, "MAIL FROM:<a@b.test>\r\nRCPT TO:<u@localhost>\r\n");
	static const char *const bad[] = {"BDAT 23 LASTX", "BDAT 23  LAST", "BDAT 23 LAST x", "BDAT 23 LAST LAST"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char in[128];
		snprintf(in, sizeof(in), "%s\r\nRCPT TO:<x@localhost>\r\nNOOP\r\n", bad[i]);
		assert_string_equal(talk(f, in), "501 5.5.4 Syntax: BDAT size [LAST]\r\n250 2.0.0 Ok\r\n");
	}
	assert_string_equal(talk(f, "BDAT 4 LAST\r\nab\r\n"), "250 2.0.0 Ok: queued as Q3\r\n");
	/* too big: the chunk gets 552 and the transaction ends */
	talk(f, "MAIL FROM:<a@b.test>\r\nRCPT TO:<u@localhost>\r\n");
	static char big[1200];
	memcpy(big, "BDAT 1100\r\n", 11);
	memset(big + 11, 'q', 1100);
	assert_string_equal(talk_n(f, big, 1111),
			    "552 5.3.4 Error: message size exceeds fixed limit\r\n");
	assert_string_equal(talk(f, "RCPT TO:<u@localhost>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
	fake_free(f);
}

/* BDAT's 250 counts the octets as sent, a CR that may begin a CR LF with
 * the next chunk included (it said 8 of 9). */
static void bdat_counts_octets_as_sent(void **st)
{
	struct fake *f = fake_new(NULL);
	ehlo(f);
	talk(f, "MAIL FROM:<a@b.test>\r\nRCPT TO:<u@localhost>\r\n");
	assert_string_equal(talk(f, "BDAT 5\r\nhello"), "250 2.0.0 Ok: 5 octets received\r\n");
	assert_string_equal(talk(f, "BDAT 4\r\n wo\r"), "250 2.0.0 Ok: 9 octets received\r\n");
	assert_string_equal(talk(f, "BDAT 0\r\n"), "250 2.0.0 Ok: 9 octets received\r\n");
	assert_string_equal(talk(f, "BDAT 3 LAST\r\nrld"), "250 2.0.0 Ok: queued as Q1\r\n");
	assert_int_equal(f->stored_len, 13); /* the bare CR as CRLF (bare_newline = normalize) */
	assert_memory_equal(f->stored, "hello wo\r\nrld", 13);
	fake_free(f);
}

/* After HELO no extension is on, CHUNKING neither (RFC 3030 §2): BDAT gets
 * 503 after its chunk is read and thrown away (it was taken and stored). */
static void bdat_needs_ehlo(void **st)
{
	struct fake *f = fake_new(NULL);
	talk(f, "HELO c.test\r\n");
	talk(f, "MAIL FROM:<a@b.test>\r\nRCPT TO:<u@localhost>\r\n");
	assert_string_equal(talk(f, "BDAT 12 LAST\r\nRSET\r\nNOOP\r\nNOOP\r\n"),
			    "503 5.5.1 Error: send EHLO first\r\n250 2.0.0 Ok\r\n");
	assert_int_equal(f->stored_len, 0);
	assert_string_equal(talk(f, "DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
	assert_string_equal(talk(f, "x\r\n.\r\n"), "250 2.0.0 Ok: queued as Q1\r\n");
	fake_free(f);
}

static struct fake *auth_fake(void (*tune)(struct smtp_config *))
{
	struct fake *f = fake_new(tune);
	f->hooks.auth_mechs = fk_mechs;
	f->hooks.auth_start = fk_auth_start;
	f->hooks.auth_step = fk_auth_step;
	f->hooks.auth_end = fk_auth_end;
	auth_defer = false;
	auth_ends = 0;
	return f;
}

/* require_tls: AUTH is offered only once TLS is on (it would get 530) */
static void auth_not_offered_before_required_tls(void **st)
{
	struct fake *f = auth_fake(tune_require_tls);
	assert_null(strstr(talk(f, "EHLO c.test\r\n"), "AUTH"));
	assert_non_null(strstr(f->out, "STARTTLS"));
	talk(f, "STARTTLS\r\n");
	smtp_session_tls_done(f->s, true);
	assert_non_null(strstr(talk(f, "EHLO c.test\r\n"), "250 AUTH PLAIN LOGIN\r\n"));
	fake_free(f);
}

static void auth_exchange(void **st)
{
	struct fake *f = fake_new(NULL);
	ehlo(f);
	assert_string_equal(talk(f, "AUTH PLAIN\r\n"), "502 5.5.1 Error: authentication not enabled\r\n");
	fake_free(f);

	f = auth_fake(NULL);
	assert_string_equal(talk(f, "AUTH LOGIN\r\n"), "503 5.5.1 Error: send EHLO first\r\n");
	talk(f, "EHLO c.test\r\n");
	assert_non_null(strstr(f->out, "250 AUTH LOGIN\r\n"));
	assert_string_equal(talk(f, "AUTH CRAM-MD5\r\n"),
			    "504 5.5.4 Error: unrecognized authentication type\r\n");
	/* RFC 4954 §4: an initial response where the server speaks first */
	assert_string_equal(talk(f, "AUTH CRAM-MD5 eA==\r\n"),
			    "501 5.7.0 Error: this mechanism takes no initial response\r\n");
	assert_string_equal(talk(f, "AUTH PLAIN AHVzZXIAcGFzcw==\r\n"),
			    "538 5.7.11 Error: encryption required for requested authentication mechanism\r\n");
	/* LOGIN: "Username:" then "Password:" (RFC 4954 leaves LOGIN to its draft) */
	assert_string_equal(talk(f, "AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
	assert_string_equal(talk(f, "dXNlcg==\r\n"), "334 UGFzc3dvcmQ6\r\n");
	assert_string_equal(talk(f, "d3Jvbmc=\r\n"), "535 5.7.8 Error: authentication failed\r\n");
	/* the session stays usable: cancel, bad base64, then success */
	assert_string_equal(talk(f, "AUTH LOGIN\r\n*\r\n"),
			    "334 VXNlcm5hbWU6\r\n501 5.7.0 Error: authentication cancelled\r\n");
	assert_string_equal(talk(f, "AUTH LOGIN\r\n!!!!\r\n"),
			    "334 VXNlcm5hbWU6\r\n501 5.5.2 Error: invalid base64 data\r\n");
	assert_string_equal(talk(f, "AUTH LOGIN dXNlcg==\r\n"), "334 UGFzc3dvcmQ6\r\n");
	assert_string_equal(talk(f, "cGFzcw==\r\n"), "235 2.7.0 Authentication successful\r\n");
	assert_string_equal(talk(f, "AUTH LOGIN\r\n"), "503 5.5.1 Error: already authenticated\r\n");
	assert_true(smtp_session_authenticated(f->s));
	assert_string_equal(smtp_session_auth_user(f->s), "user");
	assert_int_equal(auth_ends, 4);
	/* ESMTPA in Received */
	talk(f, "MAIL FROM:<a@b.test>\r\nRCPT TO:<u@localhost>\r\nDATA\r\n");
	assert_string_equal(smtp_session_envelope(f->s)->protocol, "ESMTPA");
	fake_free(f);
}

static void auth_plain_after_tls(void **st)
{
	struct fake *f = auth_fake(tune_tls);
	talk(f, "EHLO c.test\r\nSTARTTLS\r\n");
	smtp_session_tls_done(f->s, true);
	talk(f, "EHLO c.test\r\n");
	assert_non_null(strstr(f->out, "250 AUTH PLAIN LOGIN\r\n"));
	/* empty challenge keeps its space; "=" is an empty initial response */
	assert_string_equal(talk(f, "AUTH PLAIN\r\n"), "334 \r\n");
	assert_string_equal(talk(f, "AHVzZXIAcGFzcw==\r\n"), "235 2.7.0 Authentication successful\r\n");
	talk(f, "MAIL FROM:<a@b.test>\r\nRCPT TO:<u@localhost>\r\nDATA\r\n");
	assert_string_equal(smtp_session_envelope(f->s)->protocol, "ESMTPSA");
	fake_free(f);

	f = auth_fake(tune_tls);
	talk(f, "EHLO c.test\r\nSTARTTLS\r\n");
	smtp_session_tls_done(f->s, true);
	talk(f, "EHLO c.test\r\n");
	assert_string_equal(talk(f, "AUTH PLAIN =\r\n"), "535 5.7.8 Error: authentication failed\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test>\r\nAUTH PLAIN\r\n"),
			    "250 2.1.0 Ok\r\n503 5.5.1 Error: AUTH not allowed in a mail transaction\r\n");
	fake_free(f);
}

static void tune_submission(struct smtp_config *c)
{
	c->require_auth = true;
}

static void auth_limits(void **st)
{
	struct fake *f = auth_fake(tune_submission);
	ehlo(f);
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test>\r\n"),
			    "530 5.7.0 Error: authentication required\r\n");
	/* a response over 12288 octets: 500 5.5.6, the exchange ends, the session goes on */
	static char big[13000];
	assert_string_equal(talk(f, "AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
	memset(big, 'Q', sizeof(big));
	memcpy(big + 12400, "\r\n", 2);
	assert_string_equal(talk_n(f, big, 12402),
			    "500 5.5.6 Error: authentication exchange line too long\r\n");
	assert_string_equal(talk(f, "NOOP\r\n"), "250 2.0.0 Ok\r\n");
	/* the same for an initial response on the AUTH line itself */
	memcpy(big, "AUTH LOGIN ", 11);
	assert_string_equal(talk_n(f, big, 12402),
			    "500 5.5.6 Error: authentication exchange line too long\r\n");
	/* a 12000-octet response is within the limit (not valid here: 535) */
	memcpy(big, "AUTH LOGIN ", 11);
	memset(big + 11, 'Q', 11988);
	memcpy(big + 11999, "\r\n", 2);
	assert_string_equal(talk_n(f, big, 12001), "334 UGFzc3dvcmQ6\r\n");
	assert_string_equal(talk(f, "eA==\r\n"), "535 5.7.8 Error: authentication failed\r\n");
	/* the third failure closes the session */
	talk(f, "AUTH LOGIN dXNlcg==\r\n");
	assert_string_equal(talk(f, "eA==\r\n"), "535 5.7.8 Error: authentication failed\r\n");
	talk(f, "AUTH LOGIN dXNlcg==\r\n");
	assert_string_equal(talk(f, "eA==\r\n"),
			    "535 5.7.8 Error: authentication failed\r\n"
			    "421 4.7.0 mx.test Error: too many failed authentications\r\n");
	assert_true(smtp_session_closing(f->s));
	fake_free(f);

	/* while the backend works, nothing more is read */
	f = auth_fake(NULL);
	ehlo(f);
	auth_defer = true;
	const char *in = "AUTH LOGIN dXNlcg==\r\nNOOP\r\n";
	assert_int_equal(smtp_session_input(f->s, in, strlen(in)), strlen("AUTH LOGIN dXNlcg==\r\n"));
	assert_false(smtp_session_wants_input(f->s));
	smtp_session_auth_reply(f->s, SMTP_AUTH_TEMPFAIL, NULL, 0, NULL);
	assert_string_equal(talk(f, "NOOP\r\n"),
			    "454 4.7.0 Error: temporary authentication failure\r\n250 2.0.0 Ok\r\n");
	fake_free(f);
}

/* "*" (RFC 4954 §4) counts toward max_auth_failures like a 535, so one
 * connection cannot probe users with AUTH and "*" without end. */
static void auth_cancel_counts(void **st)
{
	struct fake *f = auth_fake(NULL);
	ehlo(f);
	assert_string_equal(talk(f, "AUTH LOGIN\r\n*\r\n"),
			    "334 VXNlcm5hbWU6\r\n501 5.7.0 Error: authentication cancelled\r\n");
	assert_string_equal(talk(f, "AUTH LOGIN dXNlcg==\r\neA==\r\n"),
			    "334 UGFzc3dvcmQ6\r\n535 5.7.8 Error: authentication failed\r\n");
	/* the third: "*" as the initial response */
	assert_string_equal(talk(f, "AUTH LOGIN *\r\nNOOP\r\n"),
			    "501 5.7.0 Error: authentication cancelled\r\n"
			    "421 4.7.0 mx.test Error: too many failed authentications\r\n");
	assert_true(smtp_session_closing(f->s));
	fake_free(f);
	f = auth_fake(NULL);
	ehlo(f);
	talk(f, "AUTH LOGIN\r\n*\r\nAUTH LOGIN\r\n*\r\n");
	assert_string_equal(talk(f, "AUTH LOGIN\r\n*\r\n"),
			    "334 VXNlcm5hbWU6\r\n501 5.7.0 Error: authentication cancelled\r\n"
			    "421 4.7.0 mx.test Error: too many failed authentications\r\n");
	assert_true(smtp_session_closing(f->s));
	fake_free(f);
}

static void timeout_and_shutdown(void **st)
{
	struct fake *f = fake_new(NULL);
	smtp_session_timeout(f->s);
	assert_string_equal(talk(f, ""), "421 4.4.2 mx.test Error: timeout exceeded\r\n");
	assert_true(smtp_session_closing(f->s));
	fake_free(f);

	f = fake_new(NULL);
	ehlo(f);
	smtp_session_shutdown(f->s);
	assert_string_equal(talk(f, ""),
			    "421 4.3.2 mx.test Service shutting down, closing channel\r\n");
	fake_free(f);

	/* in the middle of DATA: the message finishes and 421 follows at once,
	 * without waiting for another command */
	const char *bye = "421 4.3.2 mx.test Service shutting down, closing channel\r\n";
	f = fake_new(NULL);
	transaction(f);
	smtp_session_shutdown(f->s);
	assert_string_equal(talk(f, "x\r\n"), "");
	assert_string_equal(talk(f, ".\r\n"), "250 2.0.0 Ok: queued as Q1\r\n421 4.3.2 mx.test "
						 "Service shutting down, closing channel\r\n");
	assert_true(smtp_session_closing(f->s));
	fake_free(f);

	/* a commit still pending: 421 comes right after its 250 */
	f = fake_new(NULL);
	f->async_commit = true;
	transaction(f);
	talk(f, "x\r\n.\r\n");
	smtp_session_shutdown(f->s);
	smtp_session_shutdown_now(f->s); /* the deadline passes: the commit still wins */
	assert_string_equal(talk(f, ""), "");
	smtp_session_msg_done(f->s, SMTP_MSG_OK);
	assert_string_equal(talk(f, ""), "250 2.0.0 Ok: queued as Q1\r\n421 4.3.2 mx.test "
					  "Service shutting down, closing channel\r\n");
	fake_free(f);

	/* the deadline passes in the middle of DATA: 421, nothing stored */
	f = fake_new(NULL);
	transaction(f);
	talk(f, "half a message\r\n");
	smtp_session_shutdown(f->s);
	smtp_session_shutdown_now(f->s);
	assert_string_equal(talk(f, ""), bye);
	assert_true(smtp_session_closing(f->s));
	assert_int_equal(f->commits, 0);
	assert_int_equal(f->aborted, 1);
	fake_free(f);

	/* a message in BDAT chunks may send its next chunks */
	f = fake_new(NULL);
	ehlo(f);
	talk(f, "MAIL FROM:<a@b.test>\r\nRCPT TO:<u@localhost>\r\n");
	assert_string_equal(talk(f, "BDAT 3\r\nabc"), "250 2.0.0 Ok: 3 octets received\r\n");
	smtp_session_shutdown(f->s);
	assert_string_equal(talk(f, ""), "");
	assert_string_equal(talk(f, "BDAT 2 LAST\r\nde"), "250 2.0.0 Ok: queued as Q1\r\n421 4.3.2 mx.test "
							 "Service shutting down, closing channel\r\n");
	assert_int_equal(f->stored_len, 5);
	fake_free(f);
}

static void rset_keeps_helo(void **st)
{
	struct fake *f = fake_new(NULL);
	transaction(f);
	talk(f, "abc\r\n.\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<a@b.test>\r\nRSET\r\nMAIL FROM:<c@d.test>\r\n"),
			    "250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n");
	/* EHLO again resets the transaction */
	talk(f, "EHLO again.test\r\n");
	assert_string_equal(talk(f, "RCPT TO:<u@localhost>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
	fake_free(f);
}

static void protocol_names(void **st)
{
	struct fake *f = fake_new(NULL);
	transaction(f);
	assert_string_equal(smtp_session_envelope(f->s)->protocol, "ESMTP");
	talk(f, ".\r\n");
	talk(f, "MAIL FROM:<a@b.test> SMTPUTF8\r\nRCPT TO:<u@localhost>\r\nDATA\r\n");
	assert_string_equal(smtp_session_envelope(f->s)->protocol, "UTF8SMTP");
	fake_free(f);
	f = fake_new(NULL);
	talk(f, "HELO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@localhost>\r\nDATA\r\n");
	assert_string_equal(smtp_session_envelope(f->s)->protocol, "SMTP");
	fake_free(f);
}

static void byte_at_a_time(void **st)
{
	/* the same conversation split at every octet gives the same replies */
	const char *conv = "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@localhost>\r\n"
			   "DATA\r\nline1\r\n..x\r\n.\r\nBDAT 1\r\nQUIT\r\n";
	struct fake *whole = fake_new(NULL);
	char expect[4096];
	snprintf(expect, sizeof(expect), "%s", talk(whole, conv));
	struct fake *f = fake_new(NULL);
	char got[4096] = "";
	size_t gl = 0, held = 0;
	char pend[256];
	for (const char *p = conv; *p; p++) {
		pend[held++] = *p;
		size_t used = smtp_session_input(f->s, pend, held);
		memmove(pend, pend + used, held - used);
		held -= used;
		struct buf *o = smtp_session_output(f->s);
		memcpy(got + gl, o->data, o->len);
		gl += o->len;
		buf_clear(o);
	}
	got[gl] = '\0';
	assert_string_equal(got, expect);
	fake_free(whole);
	fake_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(greeting),
		cmocka_unit_test(mail_asks_for_room),
		cmocka_unit_test(ehlo_reply),
		cmocka_unit_test(starttls),
		cmocka_unit_test(require_tls),
		cmocka_unit_test(refused_bdat_consumes_chunk),
		cmocka_unit_test(require_tls_counts_errors),
		cmocka_unit_test(junk_command_limit),
		cmocka_unit_test(improper_pipelining),
		cmocka_unit_test(implicit_tls),
		cmocka_unit_test(sequence_errors),
		cmocka_unit_test(syntax_errors),
		cmocka_unit_test(rset_quit_take_no_argument),
		cmocka_unit_test(utf8_addresses),
		cmocka_unit_test(line_limits),
		cmocka_unit_test(pipelined_long_lines),
		cmocka_unit_test(data_too_many_hops),
		cmocka_unit_test(line_endings),
		cmocka_unit_test(data_basic),
		cmocka_unit_test(data_smuggling),
		cmocka_unit_test(data_bare_newlines),
		cmocka_unit_test(data_limits),
		cmocka_unit_test(data_store_errors),
		cmocka_unit_test(data_pending_commit),
		cmocka_unit_test(recipients_limit),
		cmocka_unit_test(error_limit),
		cmocka_unit_test(bdat),
		cmocka_unit_test(bdat_needs_ehlo),
		cmocka_unit_test(bdat_counts_octets_as_sent),
		cmocka_unit_test(timeout_and_shutdown),
		cmocka_unit_test(rset_keeps_helo),
		cmocka_unit_test(protocol_names),
		cmocka_unit_test(byte_at_a_time),
		cmocka_unit_test(auth_exchange),
		cmocka_unit_test(auth_not_offered_before_required_tls),
		cmocka_unit_test(auth_plain_after_tls),
		cmocka_unit_test(auth_limits),
		cmocka_unit_test(auth_cancel_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
