/* Unit tests for client/session.c: the client state machine fed server
 * bytes, compared with the exact bytes it queues. SASL is a scripted test
 * double there; at the end, client/sasl_client.c runs against the server's
 * own SASL backend (sasl/) in memory: UTF-8 credentials and channel binding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "client/sasl_client.h"
#include "client/send.h"
#include "client/session.h"
#include "creds/creds.h"
#include "sasl/sasl.h"

static const char *const two[] = { "b@example.org", "c@example.org" };
static const char msg[] = "Subject: t\r\n\r\n.x\r\n";
static int sasl_steps;
static bool sasl_done;

static int fake_sasl_start(void *arg, enum client_mech m, struct buf *ir, bool *has_ir)
{
	(void)arg;
	sasl_steps = 0;
	sasl_done = m == CLIENT_MECH_PLAIN;
	*has_ir = m == CLIENT_MECH_PLAIN || m == CLIENT_MECH_SCRAM_SHA_256;
	if (m == CLIENT_MECH_PLAIN)
		return buf_append(ir, "\0u\0pw", 5);
	if (m == CLIENT_MECH_SCRAM_SHA_256)
		return buf_append(ir, "n,,n=u,r=abc", 12);
	return 0;
}

static int fake_sasl_step(void *arg, const char *chal, size_t n, struct buf *resp)
{
	(void)arg;
	sasl_steps++;
	if (n == 3 && memcmp(chal, "bad", 3) == 0)
		return -1;
	sasl_done = sasl_steps >= 2;
	return buf_append(resp, sasl_steps == 1 ? "u" : "pw", sasl_steps == 1 ? 1 : 2);
}

static bool fake_sasl_finished(void *arg)
{
	(void)arg;
	return sasl_done;
}

static struct client_session_cfg base(void)
{
	struct client_session_cfg c = {
		.helo_name = "client.example",
		.mech = CLIENT_MECH_NONE,
		.from = "a@example.org",
		.rcpts = two,
		.nrcpts = 2,
		.msg = msg,
		.msg_len = sizeof(msg) - 1,
		.sasl = { fake_sasl_start, fake_sasl_step, fake_sasl_finished, NULL },
	};
	return c;
}

/* Feed the server's bytes; return what the client queued (NUL-terminated,
 * caller frees) and the event. */
static char *feed(struct client_session *s, const char *server, enum client_event *ev)
{
	size_t used;
	struct buf *out = client_session_out(s);

	*ev = client_session_feed(s, server, strlen(server), &used);
	char *r = malloc(out->len + 1);

	memcpy(r, out->data ? out->data : "", out->len);
	r[out->len] = '\0';
	buf_clear(out);
	return r;
}

#define STEP(s, server, want_out, want_ev) \
	do { \
		enum client_event ev_; \
		char *o_ = feed(s, server, &ev_); \
		assert_string_equal(o_, want_out); \
		assert_int_equal(ev_, want_ev); \
		free(o_); \
	} while (0)

static void test_pipelined_send(void **state)
{
	struct client_session_cfg c = base();
	struct client_session *s = client_session_new(&c);

	(void)state;
	STEP(s, "220 mx ESMTP\r\n", "EHLO client.example\r\n", CLIENT_EV_NONE);
	/* RFC 2920: MAIL, RCPT, RCPT, DATA in one batch */
	STEP(s, "250-mx\r\n250-PIPELINING\r\n250 SIZE 1000\r\n",
	     "MAIL FROM:<a@example.org> SIZE=18\r\nRCPT TO:<b@example.org>\r\n"
	     "RCPT TO:<c@example.org>\r\nDATA\r\n", CLIENT_EV_NONE);
	/* one recipient refused, the other accepted; the body is dot-stuffed */
	STEP(s, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 no such user\r\n", "", CLIENT_EV_NONE);
	STEP(s, "354 go\r\n", "Subject: t\r\n\r\n..x\r\n.\r\n", CLIENT_EV_NONE);
	STEP(s, "250 2.0.0 Ok: queued as X\r\n", "QUIT\r\n", CLIENT_EV_NONE);
	STEP(s, "221 2.0.0 Bye\r\n", "", CLIENT_EV_DONE);
	const struct client_result *r = client_session_result(s);

	assert_true(r->ok);
	assert_int_equal(r->accepted, 1);
	assert_string_equal(r->final, "250 2.0.0 Ok: queued as X");
	assert_int_equal(client_session_rcpt(s, 1)->code, 550);
	client_session_free(s);
}

static void test_one_at_a_time_and_bdat(void **state)
{
	struct client_session_cfg c = base();
	struct client_session *s;

	(void)state;
	c.nrcpts = 1;
	c.bdat = true;
	s = client_session_new(&c);
	STEP(s, "220 mx\r\n", "EHLO client.example\r\n", CLIENT_EV_NONE);
	STEP(s, "250-mx\r\n250 CHUNKING\r\n", "MAIL FROM:<a@example.org>\r\n", CLIENT_EV_NONE);
	STEP(s, "250 ok\r\n", "RCPT TO:<b@example.org>\r\n", CLIENT_EV_NONE);
	/* BDAT carries the octets as they are: no stuffing (RFC 3030) */
	STEP(s, "250 ok\r\n", "BDAT 18 LAST\r\nSubject: t\r\n\r\n.x\r\n", CLIENT_EV_NONE);
	STEP(s, "250 2.0.0 queued\r\n", "QUIT\r\n", CLIENT_EV_NONE);
	assert_true(client_session_result(s)->ok);
	client_session_free(s);
}

static void test_starttls_drops_and_ehlo_again(void **state)
{
	struct client_session_cfg c = base();
	struct client_session *s;
	size_t used;

	(void)state;
	c.tls = CLIENT_TLS_STARTTLS;
	s = client_session_new(&c);
	STEP(s, "220 mx\r\n", "EHLO client.example\r\n", CLIENT_EV_NONE);
	STEP(s, "250-mx\r\n250 STARTTLS\r\n", "STARTTLS\r\n", CLIENT_EV_NONE);
	/* the session consumes only the 220: the injected reply after it stays
	 * for the driver to drop (RFC 3207 §6) */
	static const char injected[] = "220 2.0.0 go\r\n250 injected\r\n";
	assert_int_equal(client_session_feed(s, injected, sizeof(injected) - 1, &used),
			 CLIENT_EV_STARTTLS);
	assert_int_equal(used, 14);
	assert_int_equal(client_session_out(s)->len, 0);
	client_session_tls_started(s, true);
	char *o = feed(s, "", &(enum client_event){ 0 });

	assert_string_equal(o, "EHLO client.example\r\n");
	free(o);
	assert_true(client_session_tls_active(s));
	client_session_free(s);
}

static void test_no_starttls_offered(void **state)
{
	struct client_session_cfg c = base();
	struct client_session *s;

	(void)state;
	c.tls = CLIENT_TLS_STARTTLS;
	s = client_session_new(&c);
	STEP(s, "220 mx\r\n", "EHLO client.example\r\n", CLIENT_EV_NONE);
	STEP(s, "250 mx\r\n", "QUIT\r\n", CLIENT_EV_NONE);
	assert_int_equal(client_session_result(s)->local, CLIENT_LOCAL_NO_STARTTLS);
	assert_int_equal(client_send_exit_code(client_session_result(s)), CLIENT_EXIT_UNAVAILABLE);
	client_session_free(s);
}

static void test_auth_refuses_plain_in_clear(void **state)
{
	struct client_session_cfg c = base();
	struct client_session *s;

	(void)state;
	c.auth = true;
	s = client_session_new(&c);
	STEP(s, "220 mx\r\n", "EHLO client.example\r\n", CLIENT_EV_NONE);
	STEP(s, "250-mx\r\n250 AUTH PLAIN LOGIN\r\n", "QUIT\r\n", CLIENT_EV_NONE);
	assert_int_equal(client_session_result(s)->local, CLIENT_LOCAL_AUTH_NEEDS_TLS);
	client_session_free(s);
}

static void test_auth_login_and_535(void **state)
{
	struct client_session_cfg c = base();
	struct client_session *s;
	char advice[512];

	(void)state;
	c.auth = true;
	c.mech = CLIENT_MECH_LOGIN; /* forced: allowed in the clear */
	s = client_session_new(&c);
	STEP(s, "220 mx\r\n", "EHLO client.example\r\n", CLIENT_EV_NONE);
	STEP(s, "250-mx\r\n250 AUTH PLAIN SCRAM-SHA-256\r\n", "AUTH LOGIN\r\n", CLIENT_EV_NONE);
	STEP(s, "334 VXNlcm5hbWU6\r\n", "dQ==\r\n", CLIENT_EV_NONE);
	STEP(s, "334 UGFzc3dvcmQ6\r\n", "cHc=\r\n", CLIENT_EV_NONE);
	STEP(s, "535 5.7.8 Error: authentication failed\r\n", "QUIT\r\n", CLIENT_EV_NONE);
	const struct client_result *r = client_session_result(s);

	assert_int_equal(r->phase, CLIENT_PHASE_AUTH);
	assert_int_equal(r->code, 535);
	assert_int_equal(client_send_exit_code(r), CLIENT_EXIT_PERM);
	client_send_advice(advice, sizeof(advice), r, client_session_caps(s), false, NULL);
	assert_string_equal(advice, "credentials rejected; check them, and use a mechanism the "
				    "server offers (it offered: PLAIN SCRAM-SHA-256)");
	client_session_free(s);
}

static void test_auth_plain_ir_then_mail(void **state)
{
	struct client_session_cfg c = base();
	struct client_session *s;

	(void)state;
	c.auth = true;
	c.nrcpts = 1;
	c.tls = CLIENT_TLS_IMPLICIT;
	s = client_session_new(&c);
	STEP(s, "220 mx\r\n", "EHLO client.example\r\n", CLIENT_EV_NONE);
	STEP(s, "250-mx\r\n250 AUTH LOGIN PLAIN\r\n", "AUTH PLAIN AHUAcHc=\r\n", CLIENT_EV_NONE);
	STEP(s, "235 2.7.0 ok\r\n", "MAIL FROM:<a@example.org>\r\n", CLIENT_EV_NONE);
	client_session_free(s);
}

static void test_scram_without_server_proof(void **state)
{
	struct client_session_cfg c = base();
	struct client_session *s;

	(void)state;
	c.auth = true;
	s = client_session_new(&c);
	STEP(s, "220 mx\r\n", "EHLO client.example\r\n", CLIENT_EV_NONE);
	STEP(s, "250-mx\r\n250 AUTH SCRAM-SHA-256\r\n", "AUTH SCRAM-SHA-256 biwsbj11LHI9YWJj\r\n",
	     CLIENT_EV_NONE);
	STEP(s, "334 cj1hYmNkZWY=\r\n", "dQ==\r\n", CLIENT_EV_NONE);
	/* 235 before the server proved itself: refused */
	STEP(s, "235 2.7.0 ok\r\n", "QUIT\r\n", CLIENT_EV_NONE);
	assert_int_equal(client_session_result(s)->local, CLIENT_LOCAL_SASL);
	client_session_free(s);
}

static void test_bad_challenge_cancels(void **state)
{
	struct client_session_cfg c = base();
	struct client_session *s;

	(void)state;
	c.auth = true;
	c.mech = CLIENT_MECH_LOGIN;
	s = client_session_new(&c);
	STEP(s, "220 mx\r\n", "EHLO client.example\r\n", CLIENT_EV_NONE);
	STEP(s, "250-mx\r\n250 AUTH LOGIN\r\n", "AUTH LOGIN\r\n", CLIENT_EV_NONE);
	STEP(s, "334 !!!\r\n", "*\r\n", CLIENT_EV_NONE);
	STEP(s, "501 5.7.0 cancelled\r\n", "QUIT\r\n", CLIENT_EV_NONE);
	assert_int_equal(client_session_result(s)->local, CLIENT_LOCAL_BAD_CHALLENGE);
	assert_int_equal(client_send_exit_code(client_session_result(s)), CLIENT_EXIT_PROTOCOL);
	client_session_free(s);
}

static void test_smtputf8_needed(void **state)
{
	struct client_session_cfg c = base();
	static const char *const utf8[] = { "\xc3\xa9@example.org" };
	struct client_session *s;

	(void)state;
	c.rcpts = utf8;
	c.nrcpts = 1;
	s = client_session_new(&c);
	STEP(s, "220 mx\r\n", "EHLO client.example\r\n", CLIENT_EV_NONE);
	STEP(s, "250 mx\r\n", "QUIT\r\n", CLIENT_EV_NONE);
	assert_int_equal(client_session_result(s)->local, CLIENT_LOCAL_NO_SMTPUTF8);
	client_session_free(s);
	s = client_session_new(&c);
	STEP(s, "220 mx\r\n", "EHLO client.example\r\n", CLIENT_EV_NONE);
	STEP(s, "250-mx\r\n250 SMTPUTF8\r\n", "MAIL FROM:<a@example.org> SMTPUTF8\r\n", CLIENT_EV_NONE);
	client_session_free(s);
}

static void test_all_rcpts_refused_pipelined(void **state)
{
	struct client_session_cfg c = base();
	struct client_session *s;
	char advice[512];

	(void)state;
	s = client_session_new(&c);
	STEP(s, "220 mx\r\n", "EHLO client.example\r\n", CLIENT_EV_NONE);
	free(feed(s, "250-mx\r\n250 PIPELINING\r\n", &(enum client_event){ 0 }));
	/* a non-conforming 354 after no recipient: end the empty message */
	STEP(s, "250 ok\r\n554 5.7.1 Relay access denied\r\n554 5.7.1 Relay access denied\r\n354 go\r\n",
	     ".\r\n", CLIENT_EV_NONE);
	STEP(s, "554 5.5.1 no valid recipients\r\n", "QUIT\r\n", CLIENT_EV_NONE);
	const struct client_result *r = client_session_result(s);

	assert_false(r->ok);
	assert_int_equal(r->phase, CLIENT_PHASE_RCPT);
	assert_string_equal(r->text, "554 5.7.1 Relay access denied");
	client_send_advice(advice, sizeof(advice), r, client_session_caps(s), false, NULL);
	assert_non_null(strstr(advice, "relay access denied"));
	client_session_free(s);
}

static void test_garbage_and_421(void **state)
{
	struct client_session_cfg c = base();
	struct client_session *s = client_session_new(&c);

	(void)state;
	STEP(s, "SSH-2.0-OpenSSH\r\n", "", CLIENT_EV_DONE);
	assert_int_equal(client_session_result(s)->local, CLIENT_LOCAL_PROTOCOL);
	assert_int_equal(client_send_exit_code(client_session_result(s)), CLIENT_EXIT_PROTOCOL);
	client_session_free(s);
	s = client_session_new(&c);
	STEP(s, "421 4.3.2 shutting down\r\n", "", CLIENT_EV_DONE);
	assert_int_equal(client_send_exit_code(client_session_result(s)), CLIENT_EXIT_TEMP);
	client_session_free(s);
	s = client_session_new(&c);
	STEP(s, "220 mx\r\n", "EHLO client.example\r\n", CLIENT_EV_NONE);
	assert_int_equal(client_session_eof(s), CLIENT_EV_DONE);
	assert_int_equal(client_send_exit_code(client_session_result(s)), CLIENT_EXIT_PROTOCOL);
	client_session_free(s);
}

static void test_538_advice(void **state)
{
	struct client_session_cfg c = base();
	struct client_session *s;
	char advice[512];

	(void)state;
	c.auth = true;
	c.mech = CLIENT_MECH_PLAIN;
	s = client_session_new(&c);
	STEP(s, "220 mx\r\n", "EHLO client.example\r\n", CLIENT_EV_NONE);
	STEP(s, "250-mx\r\n250 AUTH SCRAM-SHA-1\r\n", "AUTH PLAIN AHUAcHc=\r\n", CLIENT_EV_NONE);
	STEP(s, "538 5.7.11 Encryption required\r\n", "QUIT\r\n", CLIENT_EV_NONE);
	client_send_advice(advice, sizeof(advice), client_session_result(s),
			   client_session_caps(s), false, NULL);
	assert_string_equal(advice, "the server wants TLS first: add --starttls");
	client_session_free(s);
}

/* ---- client/sasl_client.c against sasl/ ---- */

#define PW_COMPOSED "p\xc3\xa4ssw\xc3\xb6rd-\xf0\x9f\x94\x91"      /* pässwörd-🔑 */
#define PW_DECOMPOSED "pa\xcc\x88sswo\xcc\x88rd-\xf0\x9f\x94\x91"

/* One whole exchange between postern's client and posternd's backend,
 * both with the same TLS channel binding; returns the server's answer. */
static enum sasl_step_status exchange(struct sasl_server *srv, struct creds_db *db, enum client_mech m,
				      const char *user, const char *pw, bool *client_done)
{
	struct sasl_cb scb = { .type = SASL_CB_TLS_EXPORTER, .len = 32 };
	for (int i = 0; i < 32; i++)
		scb.data[i] = (unsigned char)(i * 5 + 1);
	struct client_sasl *c = client_sasl_new(user, pw, "localhost");
	assert_non_null(c);
	assert_int_equal(client_sasl_set_cb(c, CLIENT_CB_TLS_EXPORTER, scb.data, scb.len), 0);
	struct client_sasl_ops ops = client_sasl_ops(c);
	struct sasl_sess *x = NULL;
	assert_int_equal(sasl_sess_start(srv, db, client_mech_name(m), true, &scb, &x), SASL_START_OK);
	struct buf m_;
	buf_init(&m_, 16384);
	bool has_ir = false;
	if (ops.start(ops.arg, m, &m_, &has_ir) != 0)
		fail_msg("%s: the client cannot start: %s", client_mech_name(m), client_sasl_error(c));
	enum sasl_step_status r;
	bool have_in = has_ir;
	for (int round = 0;; round++) {
		assert_true(round < 10);
		unsigned char *out = NULL;
		size_t outlen = 0;
		r = sasl_sess_step(x, have_in ? (const unsigned char *)(m_.len ? m_.data : "") : NULL,
				   have_in ? m_.len : 0, &out, &outlen);
		buf_clear(&m_);
		if (r != SASL_STEP_CHALLENGE) {
			free(out);
			break;
		}
		int rc = ops.step(ops.arg, (const char *)(out ? (char *)out : ""), outlen, &m_);
		free(out);
		if (rc != 0)
			fail_msg("%s: the client refused a challenge: %s", client_mech_name(m),
				 client_sasl_error(c));
		have_in = true;
	}
	*client_done = ops.finished(ops.arg);
	sasl_sess_free(x);
	buf_fini(&m_);
	client_sasl_free(c);
	return r;
}

/* UTF-8 names and passwords (composed or not: SASLprep's NFKC) with every
 * mechanism, the -PLUS ones bound; an explicit SCRAM without -PLUS while
 * the server binds says "n" and works (it said "y", which gsasl's own
 * check refused before AUTH was even sent). */
static void test_sasl_client_against_server(void **st)
{
	(void)st;
	struct creds_entry_opts o = { .scheme = CREDS_SHA512CRYPT, .iter = 4096 };
	char *line = NULL, err[256] = "";
	assert_int_equal(creds_entry_make("j\xc3\xbcrgen", PW_COMPOSED, &o, &line, err, sizeof(err)), 0);
	struct creds_db *db = creds_db_parse(line, strlen(line), "users", err, sizeof(err));
	free(line);
	assert_non_null(db);
	struct sasl_config sc = { 0 };
	struct sasl_server *srv = sasl_server_new(&sc, err, sizeof(err));
	assert_non_null(srv);
	const enum client_mech mechs[] = {
		CLIENT_MECH_PLAIN, CLIENT_MECH_LOGIN, CLIENT_MECH_SCRAM_SHA_1, CLIENT_MECH_SCRAM_SHA_256,
		CLIENT_MECH_SCRAM_SHA_1_PLUS, CLIENT_MECH_SCRAM_SHA_256_PLUS,
	};
	const char *users[] = { "j\xc3\xbcrgen", "ju\xcc\x88rgen" };
	const char *pws[] = { PW_COMPOSED, PW_DECOMPOSED };
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		for (int v = 0; v < 2; v++) {
			bool done = false;
			assert_int_equal(exchange(srv, db, mechs[i], users[v], pws[v], &done), SASL_STEP_SUCCESS);
			assert_true(done); /* SCRAM: the server proved itself */
			assert_int_equal(exchange(srv, db, mechs[i], users[v], "p\xc3\xa4ssw\xc3\xb6rd", &done),
					 SASL_STEP_FAILED);
		}
	}
	sasl_server_free(srv);
	creds_db_unref(db);
}

/* RFC 2033: LHLO, and one reply per accepted recipient after the message */
static void test_lmtp_per_recipient(void **state)
{
	static const char *const three[] = { "b@example.org", "c@example.org", "d@example.org" };
	struct client_session_cfg c = base();
	struct client_session *s;

	(void)state;
	c.lmtp = true;
	c.rcpts = three;
	c.nrcpts = 3;
	c.bdat = true; /* ignored: LMTP's last chunk would need per-recipient replies */
	s = client_session_new(&c);
	STEP(s, "220 lmtp\r\n", "LHLO client.example\r\n", CLIENT_EV_NONE);
	STEP(s, "250-lmtp\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
	     "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\n"
	     "RCPT TO:<d@example.org>\r\nDATA\r\n", CLIENT_EV_NONE);
	STEP(s, "250 ok\r\n250 ok\r\n550 5.1.1 no\r\n250 ok\r\n354 go\r\n",
	     "Subject: t\r\n\r\n..x\r\n.\r\n", CLIENT_EV_NONE);
	/* two accepted recipients: two replies, the second one a refusal */
	STEP(s, "250 2.0.0 b delivered\r\n", "", CLIENT_EV_NONE);
	STEP(s, "452 4.2.2 d over quota\r\n", "QUIT\r\n", CLIENT_EV_NONE);
	const struct client_result *r = client_session_result(s);

	assert_true(r->ok);
	assert_int_equal(r->accepted, 1);
	assert_string_equal(r->final, "250 2.0.0 b delivered");
	assert_int_equal(client_session_rcpt(s, 0)->code, 250);
	assert_int_equal(client_session_rcpt(s, 1)->code, 550);
	assert_string_equal(client_session_rcpt(s, 2)->text, "452 4.2.2 d over quota");
	client_session_free(s);
}

/* --quit-after: QUIT once the stage succeeded, nothing pipelined past it */
static void test_quit_after(void **state)
{
	struct client_session_cfg c = base();
	struct client_session *s;

	(void)state;
	c.quit_after = CLIENT_QUIT_AFTER_BANNER;
	s = client_session_new(&c);
	STEP(s, "220 mx\r\n", "QUIT\r\n", CLIENT_EV_NONE);
	assert_true(client_session_result(s)->ok);
	assert_true(client_session_result(s)->quit_early);
	assert_string_equal(client_session_result(s)->final, "220 mx");
	client_session_free(s);

	c.quit_after = CLIENT_QUIT_AFTER_MAIL;
	s = client_session_new(&c);
	STEP(s, "220 mx\r\n", "EHLO client.example\r\n", CLIENT_EV_NONE);
	STEP(s, "250-mx\r\n250 PIPELINING\r\n", "MAIL FROM:<a@example.org>\r\n", CLIENT_EV_NONE);
	STEP(s, "250 2.1.0 ok\r\n", "QUIT\r\n", CLIENT_EV_NONE);
	assert_true(client_session_result(s)->quit_early);
	client_session_free(s);

	c.quit_after = CLIENT_QUIT_AFTER_RCPT;
	s = client_session_new(&c);
	STEP(s, "220 mx\r\n", "EHLO client.example\r\n", CLIENT_EV_NONE);
	STEP(s, "250-mx\r\n250 PIPELINING\r\n",
	     "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\n",
	     CLIENT_EV_NONE);
	STEP(s, "250 ok\r\n250 ok\r\n250 ok\r\n", "QUIT\r\n", CLIENT_EV_NONE);
	assert_true(client_session_result(s)->quit_early);
	client_session_free(s);

	assert_int_equal(client_quit_after_by_name("RCPT"), CLIENT_QUIT_AFTER_RCPT);
	assert_int_equal(client_quit_after_by_name("data"), -1);
}

/* --tls-optional: STARTTLS when offered, the clear when not or refused */
static void test_tls_optional(void **state)
{
	struct client_session_cfg c = base();
	struct client_session *s;

	(void)state;
	c.tls = CLIENT_TLS_OPTIONAL;
	c.nrcpts = 1;
	s = client_session_new(&c);
	STEP(s, "220 mx\r\n", "EHLO client.example\r\n", CLIENT_EV_NONE);
	STEP(s, "250 mx\r\n", "MAIL FROM:<a@example.org>\r\n", CLIENT_EV_NONE);
	client_session_free(s);

	s = client_session_new(&c);
	STEP(s, "220 mx\r\n", "EHLO client.example\r\n", CLIENT_EV_NONE);
	STEP(s, "250-mx\r\n250 STARTTLS\r\n", "STARTTLS\r\n", CLIENT_EV_NONE);
	STEP(s, "454 4.7.0 TLS not available\r\n", "MAIL FROM:<a@example.org>\r\n", CLIENT_EV_NONE);
	client_session_free(s);

	s = client_session_new(&c);
	STEP(s, "220 mx\r\n", "EHLO client.example\r\n", CLIENT_EV_NONE);
	STEP(s, "250-mx\r\n250 STARTTLS\r\n", "STARTTLS\r\n", CLIENT_EV_NONE);
	STEP(s, "220 go\r\n", "", CLIENT_EV_STARTTLS);
	client_session_tls_started(s, false);
	assert_true(client_session_tls_active(s));
	client_session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipelined_send),
		cmocka_unit_test(test_one_at_a_time_and_bdat),
		cmocka_unit_test(test_starttls_drops_and_ehlo_again),
		cmocka_unit_test(test_no_starttls_offered),
		cmocka_unit_test(test_auth_refuses_plain_in_clear),
		cmocka_unit_test(test_auth_login_and_535),
		cmocka_unit_test(test_auth_plain_ir_then_mail),
		cmocka_unit_test(test_scram_without_server_proof),
		cmocka_unit_test(test_bad_challenge_cancels),
		cmocka_unit_test(test_smtputf8_needed),
		cmocka_unit_test(test_all_rcpts_refused_pipelined),
		cmocka_unit_test(test_garbage_and_421),
		cmocka_unit_test(test_538_advice),
		cmocka_unit_test(test_sasl_client_against_server),
		cmocka_unit_test(test_lmtp_per_recipient),
		cmocka_unit_test(test_quit_after),
		cmocka_unit_test(test_tls_optional),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
