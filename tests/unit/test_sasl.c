/* sasl: the GNU SASL backend. What EHLO advertises under each policy, which
 * mechanisms may start, the RFC 5802 and RFC 7677 SCRAM exchanges (a client
 * written here from the RFC, checked against the RFC's own proofs), every
 * mechanism against GNU SASL's own client in-process, and the failure
 * cases: wrong password, unknown user, authzid, malformed responses,
 * channel binding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <gsasl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/base64.h"
#include "sasl/cram.h"
#include "sasl/sasl.h"

/* "user"/"pencil" with the RFC salts, a sha512-crypt hash (fast to check)
 * and the CRAM-MD5 secret; "hashonly" has no SCRAM keys and no CRAM secret;
 * "scramonly" has no crypt hash. */
static const char users_text[] =
	"user:$6$rounds=1000$saltsalt$bbY.T.ZpN43KapLdmlSbP6MmxBlkMSbhrh.Y1rmY0fYaRO/t.4sKqUiU.Z8byKf8Oa1yagMn/0fncuHSYrb9h.:"
	"4096,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=:"
	"4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=:cGVuY2ls\n"
	"hashonly:$6$rounds=1000$saltsalt$bbY.T.ZpN43KapLdmlSbP6MmxBlkMSbhrh.Y1rmY0fYaRO/t.4sKqUiU.Z8byKf8Oa1yagMn/0fncuHSYrb9h.\n"
	"scramonly::4096,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=\n";

struct fx {
	struct creds_db *db;
	struct sasl_server *srv;
};

static struct sasl_server *server(const char *mechs, bool cram, bool plaintext)
{
	struct sasl_config c = { .mechanisms = mechs, .cram_md5 = cram, .plaintext = plaintext };
	char err[256] = "";
	struct sasl_server *s = sasl_server_new(&c, err, sizeof(err));
	if (!s)
		fail_msg("sasl_server_new: %s", err);
	return s;
}

static int setup(void **st)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256] = "";
	f->db = creds_db_parse(users_text, strlen(users_text), "users", err, sizeof(err));
	if (!f->db)
		fail_msg("users: %s", err);
	f->srv = server(NULL, true, true);
	*st = f;
	return 0;
}

static int teardown(void **st)
{
	struct fx *f = *st;
	sasl_server_free(f->srv);
	creds_db_unref(f->db);
	free(f);
	return 0;
}

static void verify_setup_hash(void **st)
{
	struct fx *f = *st;
	/* the fixture's sha512-crypt hash is that of "pencil" */
	assert_int_equal(creds_verify_password(f->db, "user", "pencil"), CREDS_OK);
}

/* ---- policy ---- */

static void advertised(void **st)
{
	struct sasl_server *s = server(NULL, false, false);
	assert_string_equal(sasl_server_mechs(s, false, false), "SCRAM-SHA-256 SCRAM-SHA-1");
	assert_string_equal(sasl_server_mechs(s, true, false), "SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN");
	assert_string_equal(sasl_server_mechs(s, true, true),
			    "SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 PLAIN LOGIN");
	sasl_server_free(s);
	s = server(NULL, true, true);
	assert_string_equal(sasl_server_mechs(s, false, false),
			    "SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN CRAM-MD5");
	sasl_server_free(s);
	s = server("login, Plain CRAM-MD5,scram-sha-1 LOGIN", true, false);
	assert_string_equal(sasl_server_mechs(s, false, false), "CRAM-MD5 SCRAM-SHA-1");
	assert_string_equal(sasl_server_mechs(s, true, false), "LOGIN PLAIN CRAM-MD5 SCRAM-SHA-1");
	sasl_server_free(s);
	s = server("PLAIN", false, false);
	assert_string_equal(sasl_server_mechs(s, false, false), "");
	sasl_server_free(s);
}

static void mechanism_lists(void **st)
{
	char err[256];
	assert_int_equal(sasl_check_mechanisms(SASL_DEFAULT_MECHANISMS, false, err, sizeof(err)), 0);
	assert_int_equal(sasl_check_mechanisms("DIGEST-MD5", true, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown mechanism \"DIGEST-MD5\""));
	assert_int_equal(sasl_check_mechanisms("SCRAM-SHA-256-PLUS", true, err, sizeof(err)), -1);
	assert_int_equal(sasl_check_mechanisms("PLAIN CRAM-MD5", false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cram_md5 = no"));
	assert_int_equal(sasl_check_mechanisms(" , ", false, err, sizeof(err)), -1);
	struct sasl_config c = { .mechanisms = "NTLM" };
	assert_null(sasl_server_new(&c, err, sizeof(err)));
}

static void start_policy(void **st)
{
	struct fx *f = *st;
	struct sasl_server *s = server(NULL, false, false);
	struct sasl_sess *x = NULL;
	/* never started, whatever libgsasl could do */
	const char *never[] = { "DIGEST-MD5", "NTLM", "GSSAPI", "GS2-KRB5", "ANONYMOUS", "EXTERNAL",
				"SECURID", "SAML20", "OPENID20", "XOAUTH2", "SCRAM-SHA-512" };
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		assert_int_equal(sasl_sess_start(s, f->db, never[i], true, NULL, &x), SASL_START_UNKNOWN);
		assert_null(x);
	}
	assert_int_equal(sasl_sess_start(s, f->db, "CRAM-MD5", true, NULL, &x), SASL_START_TOO_WEAK);
	assert_int_equal(sasl_sess_start(s, f->db, "PLAIN", false, NULL, &x), SASL_START_NEEDS_TLS);
	assert_int_equal(sasl_sess_start(s, f->db, "LOGIN", false, NULL, &x), SASL_START_NEEDS_TLS);
	assert_int_equal(sasl_sess_start(s, f->db, "SCRAM-SHA-256-PLUS", true, NULL, &x),
			 SASL_START_UNKNOWN);
	struct sasl_cb cb = { SASL_CB_TLS_EXPORTER, { 1, 2, 3 }, 32 };
	assert_int_equal(sasl_sess_start(s, f->db, "SCRAM-SHA-256-PLUS", false, &cb, &x),
			 SASL_START_UNKNOWN); /* channel binding without TLS means nothing */
	assert_int_equal(sasl_sess_start(s, NULL, "SCRAM-SHA-1", false, NULL, &x), SASL_START_TEMPFAIL);
	/* and what the SMTP layer answers to each (538, 534, 454, 504) */
	assert_int_equal(sasl_start_reply(SASL_START_OK), SMTP_AUTH_START_OK);
	assert_int_equal(sasl_start_reply(SASL_START_NEEDS_TLS), SMTP_AUTH_START_NEEDS_TLS);
	assert_int_equal(sasl_start_reply(SASL_START_TOO_WEAK), SMTP_AUTH_START_TOO_WEAK);
	assert_int_equal(sasl_start_reply(SASL_START_TEMPFAIL), SMTP_AUTH_START_TEMPFAIL);
	assert_int_equal(sasl_start_reply(SASL_START_UNKNOWN), SMTP_AUTH_START_UNKNOWN);
	assert_int_equal(sasl_sess_start(s, f->db, "PLAIN", true, NULL, &x), SASL_START_OK);
	assert_string_equal(sasl_sess_mech(x), "PLAIN");
	assert_string_equal(sasl_sess_user(x), "");
	sasl_sess_free(x);
	sasl_server_free(s);
}

/* ---- helpers to run an exchange ---- */

static enum sasl_step_status step(struct sasl_sess *x, const void *in, size_t len, char *out,
				  size_t cap)
{
	unsigned char *o = NULL;
	size_t ol = 0;
	enum sasl_step_status r = sasl_sess_step(x, in, len, &o, &ol);
	assert_true(ol < cap);
	if (ol)
		memcpy(out, o, ol);
	out[ol] = '\0';
	free(o);
	return r;
}

static struct sasl_sess *start(struct fx *f, const char *mech)
{
	struct sasl_sess *x = NULL;
	assert_int_equal(sasl_sess_start(f->srv, f->db, mech, true, NULL, &x), SASL_START_OK);
	return x;
}

/* ---- SCRAM against the RFC vectors ---- */

static const EVP_MD *md_of(bool sha256)
{
	return sha256 ? EVP_sha256() : EVP_sha1();
}

/* The client side of RFC 5802 §3, from SaltedPassword: ClientProof and
 * the expected ServerSignature for one AuthMessage. */
static void scram_client_final(bool sha256, const unsigned char *salted, const char *auth_message,
			       char *proof_b64, char *sig_b64)
{
	const EVP_MD *md = md_of(sha256);
	size_t kl = sha256 ? 32 : 20;
	unsigned char ck[32], sk[32], csig[32], srvk[32], ssig[32], proof[32];
	unsigned int n;
	HMAC(md, salted, (int)kl, (const unsigned char *)"Client Key", 10, ck, &n);
	EVP_Digest(ck, kl, sk, &n, md, NULL);
	HMAC(md, sk, (int)kl, (const unsigned char *)auth_message, strlen(auth_message), csig, &n);
	for (size_t i = 0; i < kl; i++)
		proof[i] = ck[i] ^ csig[i];
	HMAC(md, salted, (int)kl, (const unsigned char *)"Server Key", 10, srvk, &n);
	HMAC(md, srvk, (int)kl, (const unsigned char *)auth_message, strlen(auth_message), ssig, &n);
	base64_encode(proof, kl, proof_b64);
	base64_encode(ssig, kl, sig_b64);
}

struct vector {
	bool sha256;
	const char *mech;
	const char *salted_hex;
	const char *client_first;
	const char *cnonce;
	const char *rfc_server_first;
	const char *rfc_client_final_noproof;
	const char *rfc_proof;
	const char *rfc_verifier;
	const char *salt_iter; /* the end of every server-first */
};

static const struct vector rfc5802 = {
	false, "SCRAM-SHA-1", "1d96ee3a529b5a5f9e47c01f229a2cb8a6e15f7d",
	"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", "fyko+d2lbbFgONRv9qkxdawL",
	"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
	"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j",
	"v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", "rmF9pqV8S7suAoZWja4dJRkFsKQ=",
	",s=QSXCR+Q6sek8bf92,i=4096",
};

static const struct vector rfc7677 = {
	true, "SCRAM-SHA-256", "c4a49510323ab4f952cac1fa99441939e78ea74d6be81ddf7096e87513dc615d",
	"n,,n=user,r=rOprNGfwEbeRWgbNEkqO", "rOprNGfwEbeRWgbNEkqO",
	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
	"dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
	",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
};

static void unhex(const char *h, unsigned char *out)
{
	for (size_t i = 0; h[2 * i]; i++)
		sscanf(h + 2 * i, "%2hhx", &out[i]);
}

static void scram_vector(struct fx *f, const struct vector *v)
{
	unsigned char salted[32];
	char proof[64], sig[64], am[2048], buf[512];
	unhex(v->salted_hex, salted);
	/* 1. the client here reproduces the RFC's own exchange */
	snprintf(am, sizeof(am), "%s,%s,%s", v->client_first + 3, v->rfc_server_first,
		 v->rfc_client_final_noproof);
	scram_client_final(v->sha256, salted, am, proof, sig);
	assert_string_equal(proof, v->rfc_proof);
	assert_string_equal(sig, v->rfc_verifier);

	/* 2. the same client against our server: GNU SASL picks its own
	 * nonce, everything else is the RFC's */
	struct sasl_sess *x = start(f, v->mech);
	assert_int_equal(step(x, v->client_first, strlen(v->client_first), buf, sizeof(buf)),
			 SASL_STEP_CHALLENGE);
	char server_first[512];
	strcpy(server_first, buf);
	assert_memory_equal(server_first, "r=", 2);
	assert_memory_equal(server_first + 2, v->cnonce, strlen(v->cnonce));
	const char *tail = strstr(server_first, ",s=");
	assert_non_null(tail);
	assert_string_equal(tail, v->salt_iter);
	assert_string_equal(sasl_sess_user(x), "user");
	char nonce[256];
	snprintf(nonce, sizeof(nonce), "%.*s", (int)(tail - server_first - 2), server_first + 2);
	char final_noproof[600], client_final[1024];
	snprintf(final_noproof, sizeof(final_noproof), "c=biws,r=%s", nonce);
	snprintf(am, sizeof(am), "%s,%s,%s", v->client_first + 3, server_first, final_noproof);
	scram_client_final(v->sha256, salted, am, proof, sig);
	snprintf(client_final, sizeof(client_final), "%s,p=%s", final_noproof, proof);
	/* server-final goes out in a 334; the client's empty answer gets 235 */
	assert_int_equal(step(x, client_final, strlen(client_final), buf, sizeof(buf)),
			 SASL_STEP_CHALLENGE);
	char want[100];
	snprintf(want, sizeof(want), "v=%s", sig);
	assert_string_equal(buf, want);
	assert_int_equal(step(x, "", 0, buf, sizeof(buf)), SASL_STEP_SUCCESS);
	assert_string_equal(sasl_sess_user(x), "user");
	sasl_sess_free(x);

	/* 3. a wrong proof fails */
	x = start(f, v->mech);
	step(x, v->client_first, strlen(v->client_first), buf, sizeof(buf));
	tail = strstr(buf, ",s=");
	snprintf(nonce, sizeof(nonce), "%.*s", (int)(tail - buf - 2), buf + 2);
	snprintf(client_final, sizeof(client_final), "c=biws,r=%s,p=%s", nonce, v->rfc_proof);
	assert_int_equal(step(x, client_final, strlen(client_final), buf, sizeof(buf)), SASL_STEP_FAILED);
	assert_string_equal(sasl_sess_reason(x), "wrong password");
	sasl_sess_free(x);

	/* 4. a non-empty answer to server-final fails */
	x = start(f, v->mech);
	step(x, v->client_first, strlen(v->client_first), server_first, sizeof(server_first));
	tail = strstr(server_first, ",s=");
	snprintf(nonce, sizeof(nonce), "%.*s", (int)(tail - server_first - 2), server_first + 2);
	snprintf(final_noproof, sizeof(final_noproof), "c=biws,r=%s", nonce);
	snprintf(am, sizeof(am), "%s,%s,%s", v->client_first + 3, server_first, final_noproof);
	scram_client_final(v->sha256, salted, am, proof, sig);
	snprintf(client_final, sizeof(client_final), "%s,p=%s", final_noproof, proof);
	assert_int_equal(step(x, client_final, strlen(client_final), buf, sizeof(buf)),
			 SASL_STEP_CHALLENGE);
	assert_int_equal(step(x, "x", 1, buf, sizeof(buf)), SASL_STEP_FAILED);
	sasl_sess_free(x);
}

static void scram_sha1_rfc5802(void **st)
{
	scram_vector(*st, &rfc5802);
}

static void scram_sha256_rfc7677(void **st)
{
	scram_vector(*st, &rfc7677);
}

static void scram_unknown_user(void **st)
{
	struct fx *f = *st;
	char a[512], b[512];
	const char *cf = "n,,n=nobody,r=abcdefghijklmnop";
	/* an unknown user gets a salt and an iteration count like anyone,
	 * the same each time, and fails at the proof */
	struct sasl_sess *x = start(f, "SCRAM-SHA-256");
	assert_int_equal(step(x, cf, strlen(cf), a, sizeof(a)), SASL_STEP_CHALLENGE);
	sasl_sess_free(x);
	x = start(f, "SCRAM-SHA-256");
	assert_int_equal(step(x, cf, strlen(cf), b, sizeof(b)), SASL_STEP_CHALLENGE);
	assert_string_equal(strstr(a, ",s="), strstr(b, ",s="));
	assert_non_null(strstr(a, ",i=4096"));
	char fin[1024];
	const char *tail = strstr(b, ",s=");
	snprintf(fin, sizeof(fin), "c=biws,r=%.*s,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		 (int)(tail - b - 2), b + 2);
	assert_int_equal(step(x, fin, strlen(fin), a, sizeof(a)), SASL_STEP_FAILED);
	assert_string_equal(sasl_sess_reason(x), "unknown user");
	assert_string_equal(sasl_sess_user(x), "nobody");
	sasl_sess_free(x);
	/* a user without SCRAM keys looks the same */
	x = start(f, "SCRAM-SHA-1");
	cf = "n,,n=hashonly,r=abcdefghijklmnop";
	assert_int_equal(step(x, cf, strlen(cf), a, sizeof(a)), SASL_STEP_CHALLENGE);
	assert_non_null(strstr(a, ",i=4096"));
	sasl_sess_free(x);
	/* malformed client-first messages */
	const char *bad[] = { "", "n,,", "x,,n=user,r=abc", "n,,n=user", "p=tls-server-end-point,,n=user,r=a" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		x = start(f, "SCRAM-SHA-256");
		assert_int_equal(step(x, bad[i], strlen(bad[i]), a, sizeof(a)), SASL_STEP_FAILED);
		sasl_sess_free(x);
	}
	/* no initial response: an empty challenge, then the client-first */
	x = start(f, "SCRAM-SHA-256");
	assert_int_equal(step(x, NULL, 0, a, sizeof(a)), SASL_STEP_CHALLENGE);
	assert_string_equal(a, "");
	cf = "n,,n=user,r=abcdefghijklmnop";
	assert_int_equal(step(x, cf, strlen(cf), a, sizeof(a)), SASL_STEP_CHALLENGE);
	sasl_sess_free(x);
	/* an authorization identity that is not the user */
	x = start(f, "SCRAM-SHA-1");
	cf = "n,a=admin,n=user,r=fyko+d2lbbFgONRv9qkxdawL";
	assert_int_equal(step(x, cf, strlen(cf), a, sizeof(a)), SASL_STEP_CHALLENGE);
	tail = strstr(a, ",s=");
	char nonce[512], am[2048], proof[64], sig[64];
	snprintf(nonce, sizeof(nonce), "%.*s", (int)(tail - a - 2), a + 2);
	char fin_np[600];
	snprintf(fin_np, sizeof(fin_np), "c=bixhPWFkbWluLA==,r=%s", nonce); /* base64("n,a=admin,") */
	snprintf(am, sizeof(am), "%s,%s,%s", cf + 10, a, fin_np);
	unsigned char salted[32];
	unhex(rfc5802.salted_hex, salted);
	scram_client_final(false, salted, am, proof, sig);
	snprintf(fin, sizeof(fin), "%s,p=%s", fin_np, proof);
	assert_int_equal(step(x, fin, strlen(fin), a, sizeof(a)), SASL_STEP_FAILED);
	assert_non_null(strstr(sasl_sess_reason(x), "authorization identity"));
	sasl_sess_free(x);
}

/* ---- GNU SASL's own client, in-process ---- */

struct cli {
	const char *authid, *password, *authzid;
	const struct sasl_cb *cb;
};

static int cli_cb(Gsasl *ctx, Gsasl_session *gs, Gsasl_property prop)
{
	struct cli *c = gsasl_session_hook_get(gs);
	char b64[128];
	switch (prop) {
	case GSASL_AUTHID:
		return gsasl_property_set(gs, prop, c->authid);
	case GSASL_PASSWORD:
		return gsasl_property_set(gs, prop, c->password);
	case GSASL_AUTHZID:
		return c->authzid ? gsasl_property_set(gs, prop, c->authzid) : GSASL_NO_CALLBACK;
	case GSASL_CB_TLS_EXPORTER:
		if (!c->cb)
			return GSASL_NO_CALLBACK;
		base64_encode(c->cb->data, c->cb->len, b64);
		return gsasl_property_set(gs, prop, b64);
	default:
		return GSASL_NO_CALLBACK;
	}
}

/* Run a whole exchange; returns the server's last answer. */
static enum sasl_step_status run_client(struct sasl_server *srv, struct creds_db *db,
					const char *mech, struct cli *c, const struct sasl_cb *scb,
					const char **reason, char *user, size_t ulen)
{
	Gsasl *ctx;
	Gsasl_session *cs;
	struct sasl_sess *x = NULL;
	assert_int_equal(gsasl_init(&ctx), GSASL_OK);
	gsasl_callback_set(ctx, cli_cb);
	assert_int_equal(gsasl_client_start(ctx, mech, &cs), GSASL_OK);
	gsasl_session_hook_set(cs, c);
	assert_int_equal(sasl_sess_start(srv, db, mech, true, scb, &x), SASL_START_OK);
	bool client_first = strncmp(mech, "SCRAM", 5) == 0 || strcmp(mech, "PLAIN") == 0;
	char *cout = NULL;
	size_t clen = 0;
	int crc = GSASL_NEEDS_MORE;
	if (client_first) {
		crc = gsasl_step(cs, NULL, 0, &cout, &clen);
		assert_true(crc == GSASL_NEEDS_MORE || crc == GSASL_OK);
	}
	enum sasl_step_status r;
	bool have_in = client_first;
	for (int rounds = 0;; rounds++) {
		assert_true(rounds < 10);
		unsigned char *sout = NULL;
		size_t slen = 0;
		r = sasl_sess_step(x, have_in ? (unsigned char *)(cout ? cout : "") : NULL,
				   have_in ? clen : 0, &sout, &slen);
		gsasl_free(cout);
		cout = NULL;
		clen = 0;
		if (r != SASL_STEP_CHALLENGE) {
			free(sout);
			break;
		}
		crc = gsasl_step(cs, (char *)sout, slen, &cout, &clen);
		free(sout);
		if (crc != GSASL_OK && crc != GSASL_NEEDS_MORE) {
			/* the client refuses the server (a bad verifier): stop */
			r = SASL_STEP_FAILED;
			break;
		}
		have_in = true;
	}
	gsasl_free(cout);
	*reason = r == SASL_STEP_SUCCESS ? "" : strcmp(sasl_sess_reason(x), "") ? "failed" : "";
	if (user)
		snprintf(user, ulen, "%s", sasl_sess_user(x));
	static char last_reason[128];
	snprintf(last_reason, sizeof(last_reason), "%s", sasl_sess_reason(x));
	*reason = last_reason;
	sasl_sess_free(x);
	gsasl_finish(cs);
	gsasl_done(ctx);
	return r;
}

static void gsasl_client_every_mechanism(void **st)
{
	struct fx *f = *st;
	const char *mechs[] = { "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "LOGIN", "CRAM-MD5" };
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		const char *reason;
		char user[64];
		struct cli ok = { "user", "pencil", NULL, NULL };
		if (run_client(f->srv, f->db, mechs[i], &ok, NULL, &reason, user, sizeof(user)) !=
		    SASL_STEP_SUCCESS)
			fail_msg("%s: %s", mechs[i], reason);
		assert_string_equal(user, "user");
		struct cli wrong = { "user", "pencil2", NULL, NULL };
		assert_int_equal(run_client(f->srv, f->db, mechs[i], &wrong, NULL, &reason, NULL, 0),
				 SASL_STEP_FAILED);
		assert_string_equal(reason, "wrong password");
		struct cli unknown = { "nobody", "pencil", NULL, NULL };
		assert_int_equal(run_client(f->srv, f->db, mechs[i], &unknown, NULL, &reason, user,
					    sizeof(user)),
				 SASL_STEP_FAILED);
		assert_string_equal(reason, "unknown user");
		assert_string_equal(user, "nobody");
		/* authzid = the user is fine, anything else is refused */
		struct cli same = { "user", "pencil", "user", NULL };
		if (strcmp(mechs[i], "LOGIN") && strcmp(mechs[i], "CRAM-MD5")) {
			assert_int_equal(run_client(f->srv, f->db, mechs[i], &same, NULL, &reason, NULL, 0),
					 SASL_STEP_SUCCESS);
			struct cli other = { "user", "pencil", "root", NULL };
			assert_int_equal(run_client(f->srv, f->db, mechs[i], &other, NULL, &reason, NULL, 0),
					 SASL_STEP_FAILED);
			assert_non_null(strstr(reason, "authorization identity"));
		}
	}
	const char *reason;
	/* users without the secret a mechanism needs */
	struct cli h = { "hashonly", "pencil", NULL, NULL };
	assert_int_equal(run_client(f->srv, f->db, "PLAIN", &h, NULL, &reason, NULL, 0), SASL_STEP_SUCCESS);
	assert_int_equal(run_client(f->srv, f->db, "SCRAM-SHA-256", &h, NULL, &reason, NULL, 0),
			 SASL_STEP_FAILED);
	assert_int_equal(run_client(f->srv, f->db, "CRAM-MD5", &h, NULL, &reason, NULL, 0), SASL_STEP_FAILED);
	assert_string_equal(reason, "no CRAM-MD5 secret for this user");
	struct cli s = { "scramonly", "pencil", NULL, NULL };
	assert_int_equal(run_client(f->srv, f->db, "SCRAM-SHA-256", &s, NULL, &reason, NULL, 0),
			 SASL_STEP_SUCCESS);
	assert_int_equal(run_client(f->srv, f->db, "SCRAM-SHA-1", &s, NULL, &reason, NULL, 0), SASL_STEP_FAILED);
	assert_int_equal(run_client(f->srv, f->db, "LOGIN", &s, NULL, &reason, NULL, 0), SASL_STEP_FAILED);
	assert_string_equal(reason, "no password hash for this user");
}

static void channel_binding(void **st)
{
	struct fx *f = *st;
	const char *reason;
	struct sasl_cb scb = { .type = SASL_CB_TLS_EXPORTER, .len = 32 };
	for (int i = 0; i < 32; i++)
		scb.data[i] = (unsigned char)(i * 7);
	struct sasl_cb other = scb;
	other.data[5] ^= 1;
	struct cli c = { "user", "pencil", NULL, &scb };
	assert_int_equal(run_client(f->srv, f->db, "SCRAM-SHA-256-PLUS", &c, &scb, &reason, NULL, 0),
			 SASL_STEP_SUCCESS);
	assert_int_equal(run_client(f->srv, f->db, "SCRAM-SHA-1-PLUS", &c, &scb, &reason, NULL, 0),
			 SASL_STEP_SUCCESS);
	/* the client saw another TLS connection (a man in the middle) */
	struct cli mitm = { "user", "pencil", NULL, &other };
	assert_int_equal(run_client(f->srv, f->db, "SCRAM-SHA-256-PLUS", &mitm, &scb, &reason, NULL, 0),
			 SASL_STEP_FAILED);
	/* a client that could bind, told that the server cannot ("y"), while
	 * the server can: a downgrade (RFC 5802 §6) */
	struct sasl_sess *x = NULL;
	char buf[256];
	assert_int_equal(sasl_sess_start(f->srv, f->db, "SCRAM-SHA-256", true, &scb, &x), SASL_START_OK);
	assert_int_equal(step(x, "y,,n=user,r=abcdefgh", 20, buf, sizeof(buf)), SASL_STEP_FAILED);
	sasl_sess_free(x);
	/* "p" with a mechanism that is not -PLUS */
	assert_int_equal(sasl_sess_start(f->srv, f->db, "SCRAM-SHA-256", true, &scb, &x), SASL_START_OK);
	assert_int_equal(step(x, "p=tls-exporter,,n=user,r=abcdefgh", 33, buf, sizeof(buf)),
			 SASL_STEP_FAILED);
	sasl_sess_free(x);
	/* -PLUS with a binding type the server does not have */
	assert_int_equal(sasl_sess_start(f->srv, f->db, "SCRAM-SHA-256-PLUS", true, &scb, &x), SASL_START_OK);
	assert_int_equal(step(x, "p=tls-unique,,n=user,r=abcdefgh", 31, buf, sizeof(buf)), SASL_STEP_FAILED);
	sasl_sess_free(x);
	/* without binding data on the server, the plain mechanism works */
	struct cli nocb = { "user", "pencil", NULL, NULL };
	assert_int_equal(run_client(f->srv, f->db, "SCRAM-SHA-256", &nocb, &scb, &reason, NULL, 0),
			 SASL_STEP_SUCCESS);
}

/* ---- PLAIN, LOGIN, CRAM-MD5 by hand ---- */

static void plain_by_hand(void **st)
{
	struct fx *f = *st;
	char buf[256];
	struct sasl_sess *x = start(f, "PLAIN");
	/* no initial response: "334 " (empty), then the response */
	assert_int_equal(step(x, NULL, 0, buf, sizeof(buf)), SASL_STEP_CHALLENGE);
	assert_string_equal(buf, "");
	assert_int_equal(step(x, "\0user\0pencil", 12, buf, sizeof(buf)), SASL_STEP_SUCCESS);
	sasl_sess_free(x);
	struct {
		const char *in;
		size_t len;
	} bad[] = {
		{ "", 0 },                         /* "AUTH PLAIN =" */
		{ "user\0pencil", 11 },            /* one NUL */
		{ "\0user\0pen\0cil", 14 },        /* three */
		{ "\0us\x01er\0pencil", 13 },      /* control character in the name */
		{ "\0user\0", 6 },                 /* empty password */
		{ "\0\0pencil", 8 },               /* empty name */
		{ "\0user\0\x07", 7 },             /* SASLprep refuses the password */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		x = start(f, "PLAIN");
		if (step(x, bad[i].in, bad[i].len, buf, sizeof(buf)) != SASL_STEP_FAILED)
			fail_msg("bad PLAIN response %zu accepted", i);
		sasl_sess_free(x);
	}
	/* after no initial response, an empty line is not an answer */
	x = start(f, "PLAIN");
	step(x, NULL, 0, buf, sizeof(buf));
	assert_int_equal(step(x, "", 0, buf, sizeof(buf)), SASL_STEP_FAILED);
	sasl_sess_free(x);
	/* LOGIN's password goes through SASLprep like PLAIN's: U+00AD vanishes */
	x = start(f, "PLAIN");
	assert_int_equal(step(x, "\0user\0pen\xc2\xad" "cil", 14, buf, sizeof(buf)), SASL_STEP_SUCCESS);
	sasl_sess_free(x);
}

static void login_by_hand(void **st)
{
	struct fx *f = *st;
	char buf[256];
	struct sasl_sess *x = start(f, "LOGIN");
	assert_int_equal(step(x, NULL, 0, buf, sizeof(buf)), SASL_STEP_CHALLENGE);
	assert_string_equal(buf, "Username:");
	assert_int_equal(step(x, "user", 4, buf, sizeof(buf)), SASL_STEP_CHALLENGE);
	assert_string_equal(buf, "Password:");
	assert_string_equal(sasl_sess_user(x), "user");
	assert_int_equal(step(x, "pen\xc2\xad" "cil", 8, buf, sizeof(buf)), SASL_STEP_SUCCESS);
	sasl_sess_free(x);
	/* the initial response is the user name */
	x = start(f, "LOGIN");
	assert_int_equal(step(x, "user", 4, buf, sizeof(buf)), SASL_STEP_CHALLENGE);
	assert_string_equal(buf, "Password:");
	assert_int_equal(step(x, "nope", 4, buf, sizeof(buf)), SASL_STEP_FAILED);
	assert_string_equal(sasl_sess_reason(x), "wrong password");
	/* nothing after the end */
	assert_int_equal(step(x, "pencil", 6, buf, sizeof(buf)), SASL_STEP_FAILED);
	sasl_sess_free(x);
	/* "AUTH LOGIN =", or an empty line after "Username:": an empty user
	 * name is asked its password and fails then, as a wrong one does
	 * (SPEC §3; it failed at once) */
	x = start(f, "LOGIN");
	assert_int_equal(step(x, "", 0, buf, sizeof(buf)), SASL_STEP_CHALLENGE);
	assert_string_equal(buf, "Password:");
	assert_int_equal(step(x, "pencil", 6, buf, sizeof(buf)), SASL_STEP_FAILED);
	assert_string_equal(sasl_sess_reason(x), "empty user name");
	sasl_sess_free(x);
	x = start(f, "LOGIN");
	assert_int_equal(step(x, NULL, 0, buf, sizeof(buf)), SASL_STEP_CHALLENGE);
	assert_int_equal(step(x, "", 0, buf, sizeof(buf)), SASL_STEP_CHALLENGE);
	assert_string_equal(buf, "Password:");
	assert_int_equal(step(x, "", 0, buf, sizeof(buf)), SASL_STEP_FAILED);
	sasl_sess_free(x);
	x = start(f, "LOGIN");
	step(x, NULL, 0, buf, sizeof(buf));
	assert_int_equal(step(x, "us\0er", 5, buf, sizeof(buf)), SASL_STEP_FAILED);
	sasl_sess_free(x);
}

static void cram_by_hand(void **st)
{
	struct fx *f = *st;
	char buf[256];
	struct sasl_sess *x = start(f, "CRAM-MD5");
	assert_int_equal(step(x, NULL, 0, buf, sizeof(buf)), SASL_STEP_CHALLENGE);
	/* RFC 2195: a msg-id, "<...@...>" */
	assert_int_equal(buf[0], '<');
	assert_non_null(strchr(buf, '@'));
	assert_int_equal(buf[strlen(buf) - 1], '>');
	unsigned char mac[16];
	unsigned int n;
	HMAC(EVP_md5(), "pencil", 6, (unsigned char *)buf, strlen(buf), mac, &n);
	char resp[64];
	int o = snprintf(resp, sizeof(resp), "user ");
	for (int i = 0; i < 16; i++)
		o += snprintf(resp + o, sizeof(resp) - (size_t)o, "%02x", mac[i]);
	assert_int_equal(step(x, resp, strlen(resp), buf, sizeof(buf)), SASL_STEP_SUCCESS);
	sasl_sess_free(x);
	/* an initial response to a server-first mechanism */
	x = start(f, "CRAM-MD5");
	assert_int_equal(step(x, "user 00", 7, buf, sizeof(buf)), SASL_STEP_FAILED);
	sasl_sess_free(x);
	x = start(f, "CRAM-MD5");
	step(x, NULL, 0, buf, sizeof(buf));
	assert_int_equal(step(x, "garbage", 7, buf, sizeof(buf)), SASL_STEP_FAILED);
	sasl_sess_free(x);
	assert_true(sasl_mech_server_first("CRAM-MD5") && sasl_mech_server_first("cram-md5"));
	assert_false(sasl_mech_server_first("LOGIN") || sasl_mech_server_first("PLAIN") ||
		     sasl_mech_server_first("SCRAM-SHA-256") || sasl_mech_server_first("BOGUS"));
}

/* RFC 2195 §2's example, and the challenge's form (SPEC §3): the digits of
 * a random number, the time, the host name. */
static void cram_rfc2195(void **st)
{
	(void)st;
	const char *ch = "<1896.697170952@postoffice.reston.mci.net>";
	const char *resp = "tim b913a602c7eda7a495b4e6e7334d3890";
	size_t ul;
	assert_true(cram_parse((const unsigned char *)resp, strlen(resp), &ul));
	assert_int_equal(ul, 3);
	assert_true(cram_verify((const unsigned char *)resp, strlen(resp), "tanstaaftanstaaf", ch));
	const char *upper = "tim B913A602C7EDA7A495B4E6E7334D3890";
	assert_true(cram_verify((const unsigned char *)upper, strlen(upper), "tanstaaftanstaaf", ch));
	assert_false(cram_verify((const unsigned char *)resp, strlen(resp), "tanstaaftanstaag", ch));
	const char *bad[] = {"tim b913a602c7eda7a495b4e6e7334d389", "timb913a602c7eda7a495b4e6e7334d3890",
			     "tim b913a602c7eda7a495b4e6e7334d389g", " b913a602c7eda7a495b4e6e7334d3890x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(cram_verify((const unsigned char *)bad[i], strlen(bad[i]), "tanstaaftanstaaf", ch));
	char out[CRAM_CHALLENGE_MAX];
	assert_int_equal(cram_challenge(out, 1896, 697170952, "postoffice.reston.mci.net"), strlen(ch));
	assert_string_equal(out, ch);
	char host[400];
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	assert_int_equal(cram_challenge(out, 1, 2, host), 0);
}

/* The challenge a session sends names the configured host and the time. */
static void cram_challenge_names_the_host(void **st)
{
	struct fx *f = *st;
	struct sasl_config c = { .mechanisms = "CRAM-MD5", .cram_md5 = true, .hostname = "mx.example.net" };
	char err[256];
	struct sasl_server *s = sasl_server_new(&c, err, sizeof(err));
	assert_non_null(s);
	struct sasl_sess *x = NULL;
	assert_int_equal(sasl_sess_start(s, f->db, "CRAM-MD5", false, NULL, &x), SASL_START_OK);
	char buf[256];
	time_t before = time(NULL);
	assert_int_equal(step(x, NULL, 0, buf, sizeof(buf)), SASL_STEP_CHALLENGE);
	unsigned long long r;
	long long t;
	char host[64];
	assert_int_equal(sscanf(buf, "<%llu.%lld@%63[^>]>", &r, &t, host), 3);
	assert_true(t >= before && t <= time(NULL));
	assert_string_equal(host, "mx.example.net");
	sasl_sess_free(x);
	sasl_server_free(s);
}

/* ---- UTF-8 (SASLprep, RFC 4013) ---- */

#define PW_COMPOSED "p\xc3\xa4ssw\xc3\xb6rd-\xf0\x9f\x94\x91"      /* pässwörd-🔑 */
#define PW_DECOMPOSED "pa\xcc\x88sswo\xcc\x88rd-\xf0\x9f\x94\x91"  /* a + U+0308 ... */
#define NAME_COMPOSED "j\xc3\xbcrgen"
#define NAME_DECOMPOSED "ju\xcc\x88rgen"

/* A users file with jürgen, made as `postern passwd` makes it. */
static struct creds_db *utf8_db(void)
{
	struct creds_entry_opts o = { .scheme = CREDS_SHA512CRYPT, .iter = 4096 };
	char *line = NULL, err[256] = "";
	if (creds_entry_make(NAME_COMPOSED, PW_COMPOSED, &o, &line, err, sizeof(err)))
		fail_msg("creds_entry_make: %s", err);
	struct creds_db *db = creds_db_parse(line, strlen(line), "users", err, sizeof(err));
	free(line);
	assert_non_null(db);
	return db;
}

static void utf8_plain_login(void **st)
{
	struct fx *f = *st;
	struct creds_db *db = utf8_db();
	char buf[256];
	const char *names[] = { NAME_COMPOSED, NAME_DECOMPOSED };
	const char *pws[] = { PW_COMPOSED, PW_DECOMPOSED };
	for (int n = 0; n < 2; n++) {
		for (int p = 0; p < 2; p++) {
			char in[128];
			int len = snprintf(in, sizeof(in), "%c%s%c%s", 0, names[n], 0, pws[p]);
			struct sasl_sess *x = NULL;
			assert_int_equal(sasl_sess_start(f->srv, db, "PLAIN", true, NULL, &x), SASL_START_OK);
			if (step(x, in, (size_t)len, buf, sizeof(buf)) != SASL_STEP_SUCCESS)
				fail_msg("PLAIN name %d password %d: %s", n, p, sasl_sess_reason(x));
			assert_string_equal(sasl_sess_user(x), NAME_COMPOSED);
			sasl_sess_free(x);
			assert_int_equal(sasl_sess_start(f->srv, db, "LOGIN", true, NULL, &x), SASL_START_OK);
			assert_int_equal(step(x, names[n], strlen(names[n]), buf, sizeof(buf)),
					 SASL_STEP_CHALLENGE);
			if (step(x, pws[p], strlen(pws[p]), buf, sizeof(buf)) != SASL_STEP_SUCCESS)
				fail_msg("LOGIN name %d password %d: %s", n, p, sasl_sess_reason(x));
			assert_string_equal(sasl_sess_user(x), NAME_COMPOSED);
			sasl_sess_free(x);
		}
	}
	/* the authzid is compared prepared too */
	struct sasl_sess *x = NULL;
	char in[128];
	int len = snprintf(in, sizeof(in), "%s%c%s%c%s", NAME_DECOMPOSED, 0, NAME_COMPOSED, 0, PW_COMPOSED);
	assert_int_equal(sasl_sess_start(f->srv, db, "PLAIN", true, NULL, &x), SASL_START_OK);
	assert_int_equal(step(x, in, (size_t)len, buf, sizeof(buf)), SASL_STEP_SUCCESS);
	sasl_sess_free(x);
	/* a wrong UTF-8 password is a wrong password, not "malformed" */
	len = snprintf(in, sizeof(in), "%c%s%c%s", 0, NAME_COMPOSED, 0, "p\xc3\xa4ssw\xc3\xb6rd-");
	assert_int_equal(sasl_sess_start(f->srv, db, "PLAIN", true, NULL, &x), SASL_START_OK);
	assert_int_equal(step(x, in, (size_t)len, buf, sizeof(buf)), SASL_STEP_FAILED);
	assert_string_equal(sasl_sess_reason(x), "wrong password");
	sasl_sess_free(x);
	creds_db_unref(db);
}

/* SCRAM: a client that did not prepare the name (RFC 5802 §5.1 says SHOULD)
 * still finds the user; the proof comes from the prepared password. */
static void utf8_scram(void **st)
{
	struct fx *f = *st;
	struct creds_db *db = utf8_db();
	const struct creds_user *u = creds_db_find(db, NAME_COMPOSED);
	assert_non_null(u);
	for (int sha256 = 0; sha256 < 2; sha256++) {
		enum creds_scram_hash h = sha256 ? CREDS_SCRAM_SHA256 : CREDS_SCRAM_SHA1;
		struct sasl_sess *x = NULL;
		assert_int_equal(sasl_sess_start(f->srv, db, sha256 ? "SCRAM-SHA-256" : "SCRAM-SHA-1", true,
						 NULL, &x), SASL_START_OK);
		const char *cf = "n,,n=" NAME_DECOMPOSED ",r=abcdefghijklmnop";
		char sf[512], fin[1024], np[600], am[2048], proof[64], sig[64], want[128];
		assert_int_equal(step(x, cf, strlen(cf), sf, sizeof(sf)), SASL_STEP_CHALLENGE);
		char salt64[100];
		base64_encode(u->scram[h].salt, u->scram[h].salt_len, salt64);
		snprintf(want, sizeof(want), ",s=%s,i=4096", salt64);
		assert_non_null(strstr(sf, want)); /* the user's own salt: found */
		const char *tail = strstr(sf, ",s=");
		snprintf(np, sizeof(np), "c=biws,r=%.*s", (int)(tail - sf - 2), sf + 2);
		snprintf(am, sizeof(am), "%s,%s,%s", cf + 3, sf, np);
		struct creds_scram k;
		unsigned char salted[32];
		assert_int_equal(creds_scram_derive(h, PW_COMPOSED, strlen(PW_COMPOSED), u->scram[h].salt,
						    u->scram[h].salt_len, 4096, &k, salted), 0);
		scram_client_final(sha256, salted, am, proof, sig);
		snprintf(fin, sizeof(fin), "%s,p=%s", np, proof);
		char sfinal[256];
		assert_int_equal(step(x, fin, strlen(fin), sfinal, sizeof(sfinal)), SASL_STEP_CHALLENGE);
		assert_string_equal(sfinal + 2, sig);
		assert_int_equal(step(x, "", 0, sfinal, sizeof(sfinal)), SASL_STEP_SUCCESS);
		assert_string_equal(sasl_sess_user(x), NAME_COMPOSED);
		sasl_sess_free(x);
	}
	creds_db_unref(db);
}

/* auth_channel_binding = no: -PLUS is neither offered nor started, and "y"
 * is no downgrade (the server does not bind). */
static void channel_binding_off(void **st)
{
	struct fx *f = *st;
	struct sasl_config c = { .no_channel_binding = true };
	char err[256] = "", buf[256];
	struct sasl_server *s = sasl_server_new(&c, err, sizeof(err));
	assert_non_null(s);
	assert_string_equal(sasl_server_mechs(s, true, true), "SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN");
	struct sasl_cb scb = { .type = SASL_CB_TLS_EXPORTER, .len = 32 };
	struct sasl_sess *x = NULL;
	assert_int_equal(sasl_sess_start(s, f->db, "SCRAM-SHA-256-PLUS", true, &scb, &x), SASL_START_UNKNOWN);
	assert_int_equal(sasl_start_reply(SASL_START_UNKNOWN), SMTP_AUTH_START_UNKNOWN);
	assert_int_equal(sasl_sess_start(s, f->db, "SCRAM-SHA-1-PLUS", true, &scb, &x), SASL_START_UNKNOWN);
	assert_int_equal(sasl_sess_start(s, f->db, "SCRAM-SHA-256", true, &scb, &x), SASL_START_OK);
	assert_int_equal(step(x, "y,,n=user,r=abcdefgh", 20, buf, sizeof(buf)), SASL_STEP_CHALLENGE);
	sasl_sess_free(x);
	sasl_server_free(s);
	/* on (the default), "y" with binding data is a downgrade */
	assert_int_equal(sasl_sess_start(f->srv, f->db, "SCRAM-SHA-256", true, &scb, &x), SASL_START_OK);
	assert_int_equal(step(x, "y,,n=user,r=abcdefgh", 20, buf, sizeof(buf)), SASL_STEP_FAILED);
	sasl_sess_free(x);
}

/* An unknown user's salt comes from the configured secret: the same in a
 * new process with the same secret (a restart), another with another. */
static void unknown_salt_from_secret(void **st)
{
	struct fx *f = *st;
	unsigned char k1[CREDS_SECRET_LEN] = { 1 }, k2[CREDS_SECRET_LEN] = { 2 };
	const unsigned char *keys[3] = { k1, k1, k2 };
	char first[3][512];
	for (int i = 0; i < 3; i++) {
		struct sasl_config c = { .secret = keys[i] };
		char err[256] = "";
		struct sasl_server *s = sasl_server_new(&c, err, sizeof(err));
		assert_non_null(s);
		struct sasl_sess *x = NULL;
		assert_int_equal(sasl_sess_start(s, f->db, "SCRAM-SHA-256", true, NULL, &x), SASL_START_OK);
		const char *cf = "n,,n=nobody,r=abcdefghijklmnop";
		assert_int_equal(step(x, cf, strlen(cf), first[i], sizeof(first[i])), SASL_STEP_CHALLENGE);
		sasl_sess_free(x);
		sasl_server_free(s);
	}
	assert_string_equal(strstr(first[0], ",s="), strstr(first[1], ",s="));
	assert_string_not_equal(strstr(first[0], ",s="), strstr(first[2], ",s="));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(verify_setup_hash, setup, teardown),
		cmocka_unit_test(advertised),
		cmocka_unit_test(mechanism_lists),
		cmocka_unit_test(cram_rfc2195),
		cmocka_unit_test_setup_teardown(start_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(scram_sha1_rfc5802, setup, teardown),
		cmocka_unit_test_setup_teardown(scram_sha256_rfc7677, setup, teardown),
		cmocka_unit_test_setup_teardown(scram_unknown_user, setup, teardown),
		cmocka_unit_test_setup_teardown(gsasl_client_every_mechanism, setup, teardown),
		cmocka_unit_test_setup_teardown(channel_binding, setup, teardown),
		cmocka_unit_test_setup_teardown(plain_by_hand, setup, teardown),
		cmocka_unit_test_setup_teardown(login_by_hand, setup, teardown),
		cmocka_unit_test_setup_teardown(cram_by_hand, setup, teardown),
		cmocka_unit_test_setup_teardown(cram_challenge_names_the_host, setup, teardown),
		cmocka_unit_test_setup_teardown(utf8_plain_login, setup, teardown),
		cmocka_unit_test_setup_teardown(utf8_scram, setup, teardown),
		cmocka_unit_test_setup_teardown(channel_binding_off, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_salt_from_secret, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
