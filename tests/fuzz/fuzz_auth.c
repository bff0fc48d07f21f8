/* The AUTH exchange from bytes: the pure session driven through its AUTH
 * path over the real backend (sasl/ on GNU SASL, a creds database parsed
 * from memory), with answers sometimes given at once and sometimes one
 * round later, as the server's worker pool does. Invariants: the session
 * never consumes more than it was given, every reply line is well formed
 * "ddd[ -]...CRLF", a 334 line carries valid base64, nothing leaks or
 * crashes. The first input octet picks the knobs (TLS, deferral, policy). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "creds/creds.h"
#include "sasl/sasl.h"
#include "smtp/session.h"

/* Cheap hashes (sha512-crypt, 1000 rounds) keep the fuzzer fast; the
 * SCRAM keys are RFC 7677's and RFC 5802's for "pencil". */
static const char users_text[] =
	"user:$6$rounds=1000$saltsalt$bbY.T.ZpN43KapLdmlSbP6MmxBlkMSbhrh.Y1rmY0fYaRO/t.4sKqUiU.Z8byKf8Oa1yagMn/0fncuHSYrb9h.:"
	"4096,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=:"
	"4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=:cGVuY2ls\n"
	"nohash:::4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=\n";

static struct creds_db *db;
static struct sasl_server *servers[4]; /* [plaintext][cram] */

struct fz {
	struct smtp_session *s;
	struct sasl_server *srv;
	struct sasl_sess *sess;
	struct sasl_cb cb;
	uint8_t knobs;
	/* a deferred answer */
	bool pending;
	enum smtp_auth_reply reply;
	unsigned char *out;
	size_t out_len;
};

static const char *fz_mechs(void *ctx, bool tls)
{
	struct fz *f = ctx;
	return sasl_server_mechs(f->srv, tls, f->cb.type != SASL_CB_NONE);
}

static enum smtp_auth_start fz_start(void *ctx, const char *mech, bool tls, bool ir)
{
	struct fz *f = ctx;
	if (f->sess)
		abort(); /* auth_end was owed */
	enum sasl_start_status st =
		sasl_sess_start(f->srv, db, mech, tls, f->cb.type ? &f->cb : NULL, &f->sess);
	if (st == SASL_START_OK && ir && sasl_mech_server_first(mech)) {
		sasl_sess_free(f->sess);
		f->sess = NULL;
		return SMTP_AUTH_START_NO_INITIAL_RESPONSE;
	}
	return sasl_start_reply(st);
}

static void deliver(struct fz *f)
{
	f->pending = false;
	const char *user = f->reply == SMTP_AUTH_SUCCESS ? sasl_sess_user(f->sess) : NULL;
	char ucopy[SASL_USER_MAX + 1] = "";
	if (user)
		memcpy(ucopy, user, strlen(user) + 1);
	unsigned char *out = f->out;
	size_t len = f->out_len;
	f->out = NULL;
	f->out_len = 0;
	smtp_session_auth_reply(f->s, f->reply, out ? out : (const unsigned char *)"", len,
				user ? ucopy : NULL);
	free(out);
}

static void fz_step(void *ctx, const unsigned char *resp, size_t len)
{
	struct fz *f = ctx;
	if (!f->sess)
		abort();
	unsigned char *out = NULL;
	size_t out_len = 0;
	enum sasl_step_status st = sasl_sess_step(f->sess, resp, len, &out, &out_len);
	f->reply = st == SASL_STEP_CHALLENGE ? SMTP_AUTH_CHALLENGE
		   : st == SASL_STEP_SUCCESS ? SMTP_AUTH_SUCCESS
		   : st == SASL_STEP_TEMPFAIL ? SMTP_AUTH_TEMPFAIL
					      : SMTP_AUTH_FAILED;
	if (st != SASL_STEP_CHALLENGE && out)
		abort(); /* only challenges carry data */
	f->out = out;
	f->out_len = out_len;
	f->pending = true;
	if (!(f->knobs & 0x20))
		deliver(f);
}

static bool fz_starttls(void *ctx)
{
	(void)ctx; /* the handshake "completes" when the input runs dry */
	return true;
}

static void fz_end(void *ctx)
{
	struct fz *f = ctx;
	sasl_sess_free(f->sess);
	f->sess = NULL;
}

static void check_output(struct buf *o)
{
	size_t i = 0;
	while (i < o->len) {
		if (o->len - i < 5)
			abort();
		for (int k = 0; k < 3; k++)
			if (o->data[i + k] < '0' || o->data[i + k] > '9')
				abort();
		if (o->data[i + 3] != ' ' && o->data[i + 3] != '-')
			abort();
		const char *nl = memchr(o->data + i, '\n', o->len - i);
		if (!nl || nl == o->data + i || nl[-1] != '\r')
			abort();
		if (!memcmp(o->data + i, "334 ", 4)) {
			/* the challenge is base64 (possibly empty) */
			size_t n = (size_t)(nl - 1 - (o->data + i + 4));
			unsigned char *tmp = malloc(base64_decoded_max(n) + 1);
			size_t got;
			if (!tmp || !base64_decode(o->data + i + 4, n, tmp, &got))
				abort();
			free(tmp);
		}
		i = (size_t)(nl - o->data) + 1;
	}
	buf_clear(o);
}

static void init(void)
{
	char err[256];
	db = creds_db_parse(users_text, sizeof(users_text) - 1, "fuzz", err, sizeof(err));
	if (!db) {
		fprintf(stderr, "fuzz_auth: %s\n", err);
		abort();
	}
	for (int i = 0; i < 4; i++) {
		struct sasl_config c = { .mechanisms = NULL, .plaintext = i & 1, .cram_md5 = (i & 2) != 0 };
		servers[i] = sasl_server_new(&c, err, sizeof(err));
		if (!servers[i]) {
			fprintf(stderr, "fuzz_auth: %s\n", err);
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!db)
		init();
	if (size < 2)
		return 0;
	struct smtp_config cfg;
	smtp_config_defaults(&cfg);
	cfg.hostname = "fuzz.test";
	cfg.tls_available = data[0] & 1;
	cfg.require_auth = data[0] & 0x40;
	cfg.max_auth_failures = 1 + (data[0] >> 7) * 2;
	struct fz f;
	memset(&f, 0, sizeof(f));
	f.knobs = data[0];
	f.srv = servers[(data[0] >> 1) & 3];
	if (data[0] & 0x10) {
		f.cb.type = SASL_CB_TLS_EXPORTER;
		f.cb.len = 32;
		memset(f.cb.data, 0x42, 32);
	}
	struct smtp_hooks hooks = {
		.ctx = &f, .auth_mechs = fz_mechs, .auth_start = fz_start, .auth_step = fz_step,
		.auth_end = fz_end, .starttls = fz_starttls,
	};
	f.s = smtp_session_new(&cfg, &hooks);
	smtp_session_greet(f.s);
	unsigned step = (unsigned)data[1] % 64 + 1;
	data += 2;
	size -= 2;
	char held[16384];
	size_t held_len = 0, off = 0;
	bool tls_done = false;
	while (off < size || held_len) {
		size_t n = size - off < step ? size - off : step;
		if (held_len + n > sizeof(held))
			n = sizeof(held) - held_len;
		memcpy(held + held_len, data + off, n);
		held_len += n;
		off += n;
		size_t used = smtp_session_input(f.s, held, held_len);
		if (used > held_len)
			abort();
		memmove(held, held + used, held_len - used);
		held_len -= used;
		check_output(smtp_session_output(f.s));
		if (f.pending)
			deliver(&f);
		check_output(smtp_session_output(f.s));
		if (smtp_session_closing(f.s))
			break;
		if (used == 0 && n == 0) {
			if (!smtp_session_wants_input(f.s) && !tls_done) {
				smtp_session_tls_done(f.s, true); /* a STARTTLS was accepted */
				tls_done = true;
			} else {
				break;
			}
		}
	}
	if (f.pending)
		deliver(&f);
	smtp_session_timeout(f.s);
	check_output(smtp_session_output(f.s));
	smtp_session_free(f.s);
	if (f.sess)
		abort(); /* the session must have ended the exchange */
	free(f.out);
	return 0;
}
