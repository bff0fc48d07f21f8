/* server/tls: a real OpenSSL client talks to srv_tls through memory, no sockets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "server/tls.h"

/* ---- fixtures: throwaway keys and certificates in a temp dir ----------- */

static struct {
	char dir[64];
	char ec_cert[128], ec_key[128];
	char rsa_cert[128], rsa_key[128];
	char enc_key[128];  /* the EC key, encrypted with a passphrase */
	char ec2_key[128];  /* another EC key of the same curve: matches no certificate */
	char garbage[128];  /* not PEM at all */
	struct srv_tls_ctx *ec;  /* server context with the EC certificate */
	struct srv_tls_ctx *rsa; /* and with the RSA one */
} F;

static X509 *self_signed(EVP_PKEY *k)
{
	X509 *x = X509_new();
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	assert_int_equal(X509_set_pubkey(x, k), 1);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
				   -1, 0);
	assert_int_equal(X509_set_issuer_name(x, n), 1);
	X509V3_CTX v;
	X509V3_set_ctx_nodb(&v);
	X509V3_set_ctx(&v, x, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v, NID_subject_alt_name, "DNS:localhost");
	assert_non_null(e);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	return x;
}

static void write_pem(const char *path, EVP_PKEY *k, X509 *x, const char *pass)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	if (x)
		assert_int_equal(PEM_write_X509(f, x), 1);
	if (k && pass)
		assert_int_equal(PEM_write_PrivateKey(f, k, EVP_aes_256_cbc(), NULL, 0, NULL,
						      (void *)pass),
				 1);
	else if (k)
		assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
}

static int setup(void **st)
{
	snprintf(F.dir, sizeof F.dir, "/tmp/postern-tls-XXXXXX");
	if (!mkdtemp(F.dir))
		return -1;
	snprintf(F.ec_cert, sizeof F.ec_cert, "%s/ec-cert.pem", F.dir);
	snprintf(F.ec_key, sizeof F.ec_key, "%s/ec-key.pem", F.dir);
	snprintf(F.rsa_cert, sizeof F.rsa_cert, "%s/rsa-cert.pem", F.dir);
	snprintf(F.rsa_key, sizeof F.rsa_key, "%s/rsa-key.pem", F.dir);
	snprintf(F.enc_key, sizeof F.enc_key, "%s/enc-key.pem", F.dir);
	snprintf(F.ec2_key, sizeof F.ec2_key, "%s/ec2-key.pem", F.dir);
	snprintf(F.garbage, sizeof F.garbage, "%s/garbage.pem", F.dir);

	EVP_PKEY *ec = EVP_EC_gen("P-256");
	EVP_PKEY *rsa = EVP_RSA_gen(2048);
	EVP_PKEY *ec2 = EVP_EC_gen("P-256");
	if (!ec || !rsa || !ec2)
		return -1;
	X509 *xec = self_signed(ec), *xrsa = self_signed(rsa);
	write_pem(F.ec_cert, NULL, xec, NULL);
	write_pem(F.ec_key, ec, NULL, NULL);
	write_pem(F.rsa_cert, NULL, xrsa, NULL);
	write_pem(F.rsa_key, rsa, NULL, NULL);
	write_pem(F.enc_key, ec, NULL, "secret");
	write_pem(F.ec2_key, ec2, NULL, NULL);
	EVP_PKEY_free(ec2);
	FILE *g = fopen(F.garbage, "w");
	if (!g)
		return -1;
	fputs("this is not a certificate\n", g);
	fclose(g);
	X509_free(xec);
	X509_free(xrsa);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);

	char err[256];
	F.ec = srv_tls_ctx_new(F.ec_cert, F.ec_key, err, sizeof err);
	F.rsa = srv_tls_ctx_new(F.rsa_cert, F.rsa_key, err, sizeof err);
	return F.ec && F.rsa ? 0 : -1;
}

static int teardown(void **st)
{
	srv_tls_ctx_free(F.ec);
	srv_tls_ctx_free(F.rsa);
	const char *files[] = { F.ec_cert, F.ec_key, F.rsa_cert, F.rsa_key, F.enc_key, F.garbage,
				F.ec2_key };
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		unlink(files[i]);
	rmdir(F.dir);
	return 0;
}

/* ---- a client SSL joined to a srv_tls through a BIO pair -------------- */

static SSL_CTX *client_ctx(int min, int max, const char *ca)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());
	assert_non_null(c);
	assert_int_equal(SSL_CTX_set_min_proto_version(c, min), 1);
	assert_int_equal(SSL_CTX_set_max_proto_version(c, max), 1);
	if (ca) {
		assert_int_equal(SSL_CTX_load_verify_locations(c, ca, NULL), 1);
		SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	}
	SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT);
	return c;
}

struct pair {
	SSL *cli;
	BIO *net; /* our end of the client's BIO pair: the "socket" */
	struct srv_tls *srv;
	unsigned char *in; /* plaintext the server has read */
	size_t in_len;
	int status; /* last srv_tls_read status */
};

static void pair_init(struct pair *p, struct srv_tls_ctx *sctx, SSL_CTX *cctx, SSL_SESSION *sess)
{
	memset(p, 0, sizeof *p);
	BIO *inner = NULL;
	assert_int_equal(BIO_new_bio_pair(&inner, 0, &p->net, 0), 1);
	p->cli = SSL_new(cctx);
	assert_non_null(p->cli);
	SSL_set_bio(p->cli, inner, inner);
	SSL_set_connect_state(p->cli);
	assert_int_equal(SSL_set1_host(p->cli, "localhost"), 1);
	if (sess)
		assert_int_equal(SSL_set_session(p->cli, sess), 1);
	p->srv = srv_tls_new(sctx);
	assert_non_null(p->srv);
	p->status = SRV_TLS_WANT_MORE;
}

static void pair_free(struct pair *p)
{
	SSL_free(p->cli);
	BIO_free(p->net);
	srv_tls_free(p->srv);
	free(p->in);
}

/* Send what the server has pending to the client, as much as fits. */
static void to_client(struct pair *p)
{
	const void *o;
	size_t len;
	for (;;) {
		srv_tls_pending_out(p->srv, &o, &len);
		size_t room = BIO_ctrl_get_write_guarantee(p->net);
		if (len == 0 || room == 0)
			return;
		int w = BIO_write(p->net, o, (int)(len < room ? len : room));
		assert_true(w > 0);
		srv_tls_consume_out(p->srv, (size_t)w);
	}
}

/* One round: client bytes to the server, server reads, server bytes back. */
static void pump(struct pair *p)
{
	unsigned char buf[4096];
	int n;
	while ((n = BIO_read(p->net, buf, sizeof buf)) > 0)
		if (srv_tls_feed(p->srv, buf, (size_t)n) != SRV_TLS_OK)
			break;
	for (;;) {
		size_t got = 0;
		p->status = srv_tls_read(p->srv, buf, sizeof buf, &got);
		if (p->status != SRV_TLS_OK)
			break;
		assert_true(got > 0);
		p->in = realloc(p->in, p->in_len + got);
		assert_non_null(p->in);
		memcpy(p->in + p->in_len, buf, got);
		p->in_len += got;
	}
	to_client(p);
}

static bool handshake(struct pair *p)
{
	for (int i = 0; i < 50; i++) {
		ERR_clear_error();
		int r = SSL_do_handshake(p->cli);
		int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(p->cli, r);
		pump(p);
		if (p->status == SRV_TLS_ERROR)
			return false;
		if (r == 1 && srv_tls_handshake_done(p->srv))
			return true;
		if (e != SSL_ERROR_NONE && e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return false;
	}
	return false;
}

/* Client reads exactly len octets (pumping as needed) into out. */
static void client_read(struct pair *p, unsigned char *out, size_t len)
{
	size_t have = 0;
	for (int rounds = 0; have < len; rounds++) {
		assert_true(rounds < 10000);
		size_t got = 0;
		ERR_clear_error();
		int r = SSL_read_ex(p->cli, out + have, len - have, &got);
		if (r == 1) {
			have += got;
			continue;
		}
		assert_int_equal(SSL_get_error(p->cli, r), SSL_ERROR_WANT_READ);
		pump(p);
	}
}

/* Client writes len octets, pumping as the BIO pair fills. */
static void client_write(struct pair *p, const void *data, size_t len)
{
	const unsigned char *c = data;
	for (int rounds = 0; len > 0; rounds++) {
		assert_true(rounds < 10000);
		size_t w = 0;
		ERR_clear_error();
		int r = SSL_write_ex(p->cli, c, len, &w);
		if (r == 1) {
			c += w;
			len -= w;
			continue;
		}
		int e = SSL_get_error(p->cli, r);
		assert_true(e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ);
		pump(p);
	}
	pump(p);
}

/* Both directions, then a check that the server saw exactly what was sent. */
static void exchange(struct pair *p)
{
	static const char greet[] = "220 localhost ESMTP postern\r\n";
	static const char ehlo[] = "EHLO client.example\r\n";
	unsigned char got[sizeof greet - 1];
	assert_int_equal(srv_tls_write(p->srv, greet, sizeof greet - 1), SRV_TLS_OK);
	to_client(p);
	client_read(p, got, sizeof got);
	assert_memory_equal(got, greet, sizeof got);
	size_t before = p->in_len;
	client_write(p, ehlo, sizeof ehlo - 1);
	assert_int_equal(p->in_len - before, sizeof ehlo - 1);
	assert_memory_equal(p->in + before, ehlo, sizeof ehlo - 1);
	assert_int_equal(p->status, SRV_TLS_WANT_MORE);
}

/* Closing the client cleanly keeps its session resumable. */
static SSL_SESSION *close_and_keep_session(struct pair *p)
{
	SSL_SESSION *s = SSL_get1_session(p->cli);
	assert_non_null(s);
	assert_true(SSL_SESSION_is_resumable(s));
	SSL_shutdown(p->cli);
	pump(p);
	assert_int_equal(p->status, SRV_TLS_CLOSED);
	return s;
}

/* ---- tests ------------------------------------------------------------- */

static void tls13_handshake_and_data(void **st)
{
	SSL_CTX *c = client_ctx(TLS1_2_VERSION, 0, F.ec_cert); /* verifies our certificate */
	struct pair p;
	pair_init(&p, F.ec, c, NULL);
	assert_false(srv_tls_handshake_done(p.srv));
	assert_null(srv_tls_version(p.srv));
	assert_null(srv_tls_cipher(p.srv));
	char info[SRV_TLS_INFO_MAX];
	assert_int_equal(srv_tls_format_received(p.srv, info, sizeof info), -1);

	assert_true(handshake(&p));
	assert_int_equal(SSL_get_verify_result(p.cli), X509_V_OK);
	assert_string_equal(srv_tls_version(p.srv), "TLSv1.3");
	assert_string_equal(srv_tls_cipher(p.srv), "TLS_AES_256_GCM_SHA384");
	assert_string_equal(srv_tls_cipher(p.srv), SSL_get_cipher_name(p.cli));
	int n = srv_tls_format_received(p.srv, info, sizeof info);
	assert_string_equal(info, "using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)");
	assert_int_equal(n, (int)strlen(info));
	char tiny[10];
	assert_int_equal(srv_tls_format_received(p.srv, tiny, sizeof tiny), -1);
	assert_string_equal(tiny, "");
	assert_false(srv_tls_session_reused(p.srv));
	assert_string_equal(srv_tls_error(p.srv), "");
	exchange(&p);
	exchange(&p);
	pair_free(&p);
	SSL_CTX_free(c);
}

static void tls12_handshake_and_data(void **st)
{
	struct {
		struct srv_tls_ctx *ctx;
		const char *ca, *cipher, *info;
	} cases[] = {
		{ F.ec, F.ec_cert, "ECDHE-ECDSA-AES256-GCM-SHA384",
		  "using TLSv1.2 with cipher ECDHE-ECDSA-AES256-GCM-SHA384 (256/256 bits)" },
		{ F.rsa, F.rsa_cert, "ECDHE-RSA-AES256-GCM-SHA384",
		  "using TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		SSL_CTX *c = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION, cases[i].ca);
		struct pair p;
		pair_init(&p, cases[i].ctx, c, NULL);
		assert_true(handshake(&p));
		assert_string_equal(srv_tls_version(p.srv), "TLSv1.2");
		assert_string_equal(srv_tls_cipher(p.srv), cases[i].cipher);
		char info[SRV_TLS_INFO_MAX];
		assert_true(srv_tls_format_received(p.srv, info, sizeof info) > 0);
		assert_string_equal(info, cases[i].info);
		exchange(&p);
		pair_free(&p);
		SSL_CTX_free(c);
	}
}

/* A client limited to CBC/SHA-1 ciphers gets nothing: only ECDHE + AEAD for 1.2. */
static void tls12_weak_cipher_refused(void **st)
{
	SSL_CTX *c = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION, NULL);
	assert_int_equal(SSL_CTX_set_cipher_list(c, "AES128-SHA:ECDHE-RSA-AES128-SHA"), 1);
	struct pair p;
	pair_init(&p, F.rsa, c, NULL);
	assert_false(handshake(&p));
	assert_int_equal(p.status, SRV_TLS_ERROR);
	assert_string_equal(srv_tls_error(p.srv), "no shared cipher");
	pair_free(&p);
	SSL_CTX_free(c);
}

static void old_protocols_refused(void **st)
{
	int versions[] = { TLS1_VERSION, TLS1_1_VERSION };
	for (size_t i = 0; i < 2; i++) {
		SSL_CTX *c = client_ctx(TLS1_VERSION, versions[i], NULL);
		SSL_CTX_set_security_level(c, 0); /* OpenSSL 3 needs this to even offer them */
		assert_int_equal(SSL_CTX_set_cipher_list(c, "ALL:@SECLEVEL=0"), 1);
		struct pair p;
		pair_init(&p, F.ec, c, NULL);
		assert_false(handshake(&p));
		assert_int_equal(p.status, SRV_TLS_ERROR);
		assert_false(srv_tls_handshake_done(p.srv));
		assert_string_equal(srv_tls_error(p.srv), "unsupported protocol");
		assert_int_equal(ERR_peek_error(), 0);
		/* sticky */
		size_t n = 1;
		unsigned char b[8];
		assert_int_equal(srv_tls_read(p.srv, b, sizeof b, &n), SRV_TLS_ERROR);
		assert_int_equal(n, 0);
		assert_int_equal(srv_tls_write(p.srv, "x", 1), SRV_TLS_ERROR);
		assert_int_equal(srv_tls_feed(p.srv, "x", 1), SRV_TLS_ERROR);
		pair_free(&p);
		SSL_CTX_free(c);
	}
}

static void channel_binding_tls13(void **st)
{
	SSL_CTX *c = client_ctx(TLS1_3_VERSION, 0, NULL);
	struct pair p;
	pair_init(&p, F.ec, c, NULL);
	unsigned char s[SRV_TLS_CB_MAX], k[SRV_TLS_CB_MAX];
	size_t len = 99;
	assert_int_equal(srv_tls_channel_binding(p.srv, "tls-exporter", s, sizeof s, &len), -1);
	assert_int_equal(len, 0);
	assert_true(handshake(&p));

	assert_int_equal(srv_tls_channel_binding(p.srv, "tls-exporter", s, sizeof s, &len), 0);
	assert_int_equal(len, 32);
	static const char label[] = "EXPORTER-Channel-Binding";
	assert_int_equal(SSL_export_keying_material(p.cli, k, 32, label, sizeof label - 1, NULL, 0, 0),
			 1);
	assert_memory_equal(s, k, 32);
	/* RFC 9266 says "empty context"; in TLS 1.3 that is the same as none */
	assert_int_equal(SSL_export_keying_material(p.cli, k, 32, label, sizeof label - 1,
						    (const unsigned char *)"", 0, 1),
			 1);
	assert_memory_equal(s, k, 32);

	assert_int_equal(srv_tls_channel_binding(p.srv, "tls-unique", s, sizeof s, &len), -1);
	assert_int_equal(srv_tls_channel_binding(p.srv, "tls-server-end-point", s, sizeof s, &len),
			 -1);
	assert_int_equal(srv_tls_channel_binding(p.srv, "tls-exporter", s, 31, &len), -1);

	/* another connection, another binding */
	struct pair q;
	pair_init(&q, F.ec, c, NULL);
	assert_true(handshake(&q));
	assert_int_equal(srv_tls_channel_binding(q.srv, "tls-exporter", k, sizeof k, &len), 0);
	assert_memory_not_equal(s, k, 32);
	pair_free(&q);
	pair_free(&p);
	SSL_CTX_free(c);
}

static void channel_binding_tls12(void **st)
{
	SSL_CTX *c = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION, NULL);
	SSL_CTX_set_options(c, SSL_OP_NO_TICKET); /* resume via the server's session cache */
	unsigned char s[SRV_TLS_CB_MAX], k[SRV_TLS_CB_MAX];
	size_t len, klen;

	/* full handshake: the client's Finished comes first */
	struct pair p;
	pair_init(&p, F.rsa, c, NULL);
	assert_true(handshake(&p));
	assert_int_equal(srv_tls_channel_binding(p.srv, "tls-unique", s, sizeof s, &len), 0);
	assert_int_equal(len, 12);
	klen = SSL_get_finished(p.cli, k, sizeof k);
	assert_int_equal(klen, 12);
	assert_memory_equal(s, k, 12);
	klen = SSL_get_peer_finished(p.cli, k, sizeof k);
	assert_memory_not_equal(s, k, 12);
	assert_int_equal(srv_tls_channel_binding(p.srv, "tls-exporter", s, sizeof s, &len), -1);
	assert_int_equal(srv_tls_channel_binding(p.srv, "tls-unique", s, 11, &len), -1);
	exchange(&p);
	SSL_SESSION *sess = close_and_keep_session(&p);
	pair_free(&p);

	/* abbreviated handshake: the server's Finished comes first */
	pair_init(&p, F.rsa, c, sess);
	assert_true(handshake(&p));
	assert_true(SSL_session_reused(p.cli));
	assert_true(srv_tls_session_reused(p.srv));
	assert_int_equal(srv_tls_channel_binding(p.srv, "tls-unique", s, sizeof s, &len), 0);
	assert_int_equal(len, 12);
	klen = SSL_get_peer_finished(p.cli, k, sizeof k);
	assert_int_equal(klen, 12);
	assert_memory_equal(s, k, 12);
	pair_free(&p);
	SSL_SESSION_free(sess);
	SSL_CTX_free(c);
}

/* Without the extended master secret, tls-unique can be shared by a MITM. */
static void tls_unique_needs_ems(void **st)
{
	SSL_CTX *c = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION, NULL);
	SSL_CTX_set_options(c, SSL_OP_NO_EXTENDED_MASTER_SECRET);
	struct pair p;
	pair_init(&p, F.ec, c, NULL);
	assert_true(handshake(&p));
	unsigned char s[SRV_TLS_CB_MAX];
	size_t len = 7;
	assert_int_equal(srv_tls_channel_binding(p.srv, "tls-unique", s, sizeof s, &len), -1);
	assert_int_equal(len, 0);
	exchange(&p); /* the connection itself is fine */
	pair_free(&p);
	SSL_CTX_free(c);
}

static void resumption(void **st)
{
	struct {
		int max;
		long opts;
	} cases[] = {
		{ 0, 0 },                             /* TLS 1.3 ticket */
		{ TLS1_2_VERSION, 0 },                /* TLS 1.2 ticket */
		{ TLS1_2_VERSION, SSL_OP_NO_TICKET }, /* TLS 1.2 session id cache */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		SSL_CTX *c = client_ctx(TLS1_2_VERSION, cases[i].max, NULL);
		SSL_CTX_set_options(c, (uint64_t)cases[i].opts);
		struct pair p;
		pair_init(&p, F.ec, c, NULL);
		assert_true(handshake(&p));
		exchange(&p); /* the client reads the TLS 1.3 tickets along the way */
		SSL_SESSION *sess = close_and_keep_session(&p);
		pair_free(&p);

		pair_init(&p, F.ec, c, sess);
		assert_true(handshake(&p));
		assert_int_equal(SSL_session_reused(p.cli), 1);
		assert_true(srv_tls_session_reused(p.srv));
		exchange(&p);
		pair_free(&p);
		SSL_SESSION_free(sess);
		SSL_CTX_free(c);
	}
}

/* SIGHUP: a new context replaces the old; old connections live on; with the
 * ticket keys carried over, old tickets still resume. */
static void reload(void **st)
{
	char err[256];
	struct srv_tls_ctx *old = srv_tls_ctx_new(F.ec_cert, F.ec_key, err, sizeof err);
	assert_non_null(old);
	SSL_CTX *c = client_ctx(TLS1_2_VERSION, 0, NULL);
	struct pair p;
	pair_init(&p, old, c, NULL);
	assert_true(handshake(&p));
	exchange(&p);

	struct srv_tls_ctx *fresh = srv_tls_ctx_new(F.ec_cert, F.ec_key, err, sizeof err);
	struct srv_tls_ctx *other = srv_tls_ctx_new(F.ec_cert, F.ec_key, err, sizeof err);
	assert_non_null(fresh);
	assert_non_null(other);
	assert_int_equal(srv_tls_ctx_inherit_tickets(fresh, old), 0);
	srv_tls_ctx_free(old); /* the live connection still holds it */
	exchange(&p);
	SSL_SESSION *sess = close_and_keep_session(&p);
	pair_free(&p); /* last reference: ASan checks the context is freed once */

	pair_init(&p, fresh, c, sess);
	assert_true(handshake(&p));
	assert_true(srv_tls_session_reused(p.srv));
	pair_free(&p);

	pair_init(&p, other, c, sess); /* different ticket keys: a full handshake */
	assert_true(handshake(&p));
	assert_false(srv_tls_session_reused(p.srv));
	exchange(&p);
	pair_free(&p);

	assert_ptr_equal(srv_tls_ctx_ref(fresh), fresh);
	srv_tls_ctx_unref(fresh);
	srv_tls_ctx_free(fresh);
	srv_tls_ctx_free(other);
	srv_tls_ctx_free(NULL);
	SSL_SESSION_free(sess);
	SSL_CTX_free(c);
}

static void garbage_instead_of_client_hello(void **st)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *reason; /* NULL: any non-empty reason */
	} cases[] = {
#define C(s, r) { s, sizeof s - 1, r }
		C("EHLO client.example\r\n", "wrong version number"),
		C("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "http request"),
		C("\x16\x03\x01\x00\x05hello", NULL),            /* handshake record, nonsense body */
		C("\x16\x03\x01\x00\x04\x01\x00\x00\x00", NULL), /* an empty ClientHello */
		C("\x16\x03\x01\xff\xff", "packet length too long"),
		C("\x15\x03\x03\x00\x02\x02\x28", NULL), /* a fatal alert from the client */
		C("\x17\x03\x03\x00\x05hello", NULL),     /* application data first */
#undef C
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct srv_tls *t = srv_tls_new(F.ec);
		assert_non_null(t);
		size_t len = cases[i].len;
		unsigned char out[64];
		size_t n = 0;
		assert_int_equal(srv_tls_feed(t, cases[i].bytes, len), SRV_TLS_OK);
		assert_int_equal(srv_tls_read(t, out, sizeof out, &n), SRV_TLS_ERROR);
		assert_int_equal(n, 0);
		assert_true(strlen(srv_tls_error(t)) > 0);
		if (cases[i].reason)
			assert_string_equal(srv_tls_error(t), cases[i].reason);
		assert_int_equal(ERR_peek_error(), 0); /* nothing left for the next connection */
		srv_tls_free(t);
	}

	/* a few KiB of noise */
	unsigned char noise[4096];
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < sizeof noise; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		noise[i] = (unsigned char)x;
	}
	struct srv_tls *t = srv_tls_new(F.ec);
	size_t n;
	unsigned char out[64];
	assert_int_equal(srv_tls_feed(t, noise, sizeof noise), SRV_TLS_OK);
	assert_int_equal(srv_tls_read(t, out, sizeof out, &n), SRV_TLS_ERROR);
	assert_true(strlen(srv_tls_error(t)) > 0);
	srv_tls_free(t);

	/* and the next connection on this thread is unaffected */
	SSL_CTX *c = client_ctx(TLS1_2_VERSION, 0, NULL);
	struct pair p;
	pair_init(&p, F.ec, c, NULL);
	assert_true(handshake(&p));
	exchange(&p);
	pair_free(&p);
	SSL_CTX_free(c);
}

/* The way conn.c drives it: each handshake step (srv_tls_handshake) on a
 * thread of its own, as on the worker pool, reads and writes on this one. */
static void *handshake_step(void *arg)
{
	struct srv_tls *t = arg;
	return (void *)(intptr_t)srv_tls_handshake(t);
}

static int step_on_thread(struct pair *p)
{
	unsigned char buf[4096];
	int n;
	while ((n = BIO_read(p->net, buf, sizeof buf)) > 0)
		assert_int_equal(srv_tls_feed(p->srv, buf, (size_t)n), SRV_TLS_OK);
	pthread_t th;
	void *rc;
	assert_int_equal(pthread_create(&th, NULL, handshake_step, p->srv), 0);
	assert_int_equal(pthread_join(th, &rc), 0);
	to_client(p);
	return (int)(intptr_t)rc;
}

static void handshake_steps_off_thread(void **st)
{
	static const char ehlo[] = "EHLO client.example\r\n";
	for (int version = TLS1_2_VERSION; version <= TLS1_3_VERSION; version++) {
		SSL_CTX *c = client_ctx(version, version, F.ec_cert);
		struct pair p;
		pair_init(&p, F.ec, c, NULL);
		/* nothing queued yet: the step wants more, and says so again */
		assert_int_equal(srv_tls_handshake(p.srv), SRV_TLS_WANT_MORE);
		int steps = 0, r = 0, srv = SRV_TLS_WANT_MORE;
		while (r != 1 || srv != SRV_TLS_OK) {
			assert_true(++steps < 20);
			ERR_clear_error();
			if (r != 1)
				r = SSL_do_handshake(p.cli);
			srv = step_on_thread(&p);
			assert_int_not_equal(srv, SRV_TLS_ERROR);
		}
		assert_true(srv_tls_handshake_done(p.srv));
		assert_int_equal(srv_tls_handshake(p.srv), SRV_TLS_OK); /* done stays done */
		assert_string_equal(srv_tls_version(p.srv),
				    version == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2");
		/* what the client sent next is plaintext for srv_tls_read */
		client_write(&p, ehlo, sizeof ehlo - 1);
		assert_int_equal(p.in_len, sizeof ehlo - 1);
		assert_memory_equal(p.in, ehlo, sizeof ehlo - 1);
		exchange(&p);
		pair_free(&p);
		SSL_CTX_free(c);
	}

	/* garbage fails the step with a reason, and the failure is final */
	struct srv_tls *t = srv_tls_new(F.ec);
	assert_non_null(t);
	assert_int_equal(srv_tls_feed(t, "EHLO x\r\n", 8), SRV_TLS_OK);
	assert_int_equal(srv_tls_handshake(t), SRV_TLS_ERROR);
	assert_string_equal(srv_tls_error(t), "wrong version number");
	assert_int_equal(srv_tls_handshake(t), SRV_TLS_ERROR);
	assert_int_equal(ERR_peek_error(), 0);
	srv_tls_free(t);

	/* EOF after half a ClientHello */
	t = srv_tls_new(F.ec);
	assert_int_equal(srv_tls_feed(t, "\x16\x03\x01\x01\x00\x01", 6), SRV_TLS_OK);
	assert_int_equal(srv_tls_handshake(t), SRV_TLS_WANT_MORE);
	srv_tls_feed_eof(t);
	assert_int_equal(srv_tls_handshake(t), SRV_TLS_ERROR);
	assert_true(strlen(srv_tls_error(t)) > 0);
	assert_int_equal(ERR_peek_error(), 0);
	srv_tls_free(t);
}

/* An error left on the thread's queue by someone else must not fail us. */
static void foreign_error_does_not_leak(void **st)
{
	SSL_CTX *c = client_ctx(TLS1_2_VERSION, 0, NULL);
	struct pair p;
	pair_init(&p, F.ec, c, NULL);
	ERR_raise(ERR_LIB_SSL, SSL_R_BAD_PACKET_LENGTH);
	assert_true(handshake(&p));
	ERR_raise(ERR_LIB_SSL, SSL_R_BAD_PACKET_LENGTH);
	assert_int_equal(srv_tls_write(p.srv, "x", 1), SRV_TLS_OK);
	to_client(&p);
	unsigned char x;
	client_read(&p, &x, 1);
	assert_int_equal(x, 'x');
	ERR_raise(ERR_LIB_SSL, SSL_R_BAD_PACKET_LENGTH);
	exchange(&p);
	assert_string_equal(srv_tls_error(p.srv), "");
	pair_free(&p);
	SSL_CTX_free(c);
}

static void close_mid_handshake(void **st)
{
	SSL_CTX *c = client_ctx(TLS1_2_VERSION, 0, NULL);
	for (int stage = 0; stage < 4; stage++) {
		struct pair p;
		pair_init(&p, F.ec, c, NULL);
		unsigned char hello[4096];
		int hello_len = 0;
		if (stage > 0) {
			(void)SSL_do_handshake(p.cli);
			hello_len = BIO_read(p.net, hello, sizeof hello);
			assert_true(hello_len > 20);
		}
		if (stage == 1) /* part of the ClientHello */
			assert_int_equal(srv_tls_feed(p.srv, hello, 20), SRV_TLS_OK);
		if (stage >= 2) { /* all of it; the server answers */
			assert_int_equal(srv_tls_feed(p.srv, hello, (size_t)hello_len), SRV_TLS_OK);
			size_t n;
			assert_int_equal(srv_tls_read(p.srv, hello, sizeof hello, &n),
					 SRV_TLS_WANT_MORE);
			const void *o;
			size_t len;
			srv_tls_pending_out(p.srv, &o, &len);
			assert_true(len > 0); /* ServerHello ... Finished */
		}
		if (stage == 3) { /* plus a close_notify instead of the client's Finished */
			to_client(&p);
			ERR_clear_error();
			(void)SSL_do_handshake(p.cli); /* reads the server's flight */
			unsigned char alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00 };
			assert_int_equal(srv_tls_feed(p.srv, alert, sizeof alert), SRV_TLS_OK);
		}
		srv_tls_feed_eof(p.srv);
		size_t n;
		unsigned char b[64];
		int rc = srv_tls_read(p.srv, b, sizeof b, &n);
		assert_true(rc == SRV_TLS_ERROR || rc == SRV_TLS_CLOSED);
		assert_false(srv_tls_handshake_done(p.srv));
		if (rc == SRV_TLS_ERROR)
			assert_true(strlen(srv_tls_error(p.srv)) > 0);
		assert_int_equal(srv_tls_feed(p.srv, "x", 1), SRV_TLS_ERROR); /* after EOF */
		assert_int_equal(ERR_peek_error(), 0);
		pair_free(&p);
	}
	SSL_CTX_free(c);
}

static void close_notify_and_eof(void **st)
{
	SSL_CTX *c = client_ctx(TLS1_2_VERSION, 0, NULL);
	struct pair p;
	size_t n;
	unsigned char b[64];

	/* client sends close_notify */
	pair_init(&p, F.ec, c, NULL);
	assert_true(handshake(&p));
	exchange(&p);
	assert_int_equal(SSL_shutdown(p.cli), 0);
	pump(&p);
	assert_int_equal(p.status, SRV_TLS_CLOSED);
	assert_int_equal(srv_tls_read(p.srv, b, sizeof b, &n), SRV_TLS_CLOSED);
	assert_string_equal(srv_tls_error(p.srv), "");
	pair_free(&p);

	/* client just goes away: a plain close, not an error */
	pair_init(&p, F.ec, c, NULL);
	assert_true(handshake(&p));
	exchange(&p);
	srv_tls_feed_eof(p.srv);
	assert_int_equal(srv_tls_read(p.srv, b, sizeof b, &n), SRV_TLS_CLOSED);
	assert_int_equal(srv_tls_read(p.srv, b, sizeof b, &n), SRV_TLS_CLOSED);
	assert_int_equal(srv_tls_feed(p.srv, "x", 1), SRV_TLS_ERROR);
	assert_string_equal(srv_tls_error(p.srv), "input after EOF");
	pair_free(&p);

	/* data then EOF: the data is still delivered first */
	pair_init(&p, F.ec, c, NULL);
	assert_true(handshake(&p));
	assert_int_equal(SSL_write(p.cli, "QUIT\r\n", 6), 6);
	int k = BIO_read(p.net, b, sizeof b);
	assert_true(k > 0);
	assert_int_equal(srv_tls_feed(p.srv, b, (size_t)k), SRV_TLS_OK);
	srv_tls_feed_eof(p.srv);
	assert_int_equal(srv_tls_read(p.srv, b, sizeof b, &n), SRV_TLS_OK);
	assert_int_equal(n, 6);
	assert_memory_equal(b, "QUIT\r\n", 6);
	assert_int_equal(srv_tls_read(p.srv, b, sizeof b, &n), SRV_TLS_CLOSED);
	pair_free(&p);

	/* server closes: the client sees close_notify */
	pair_init(&p, F.ec, c, NULL);
	assert_true(handshake(&p));
	assert_int_equal(srv_tls_write(p.srv, "221 bye\r\n", 9), SRV_TLS_OK);
	assert_int_equal(srv_tls_shutdown(p.srv), SRV_TLS_OK);
	to_client(&p);
	unsigned char bye[9];
	client_read(&p, bye, sizeof bye);
	assert_memory_equal(bye, "221 bye\r\n", 9);
	ERR_clear_error();
	int r = SSL_read(p.cli, b, sizeof b);
	assert_int_equal(r, 0);
	assert_int_equal(SSL_get_error(p.cli, r), SSL_ERROR_ZERO_RETURN);
	assert_int_equal(srv_tls_write(p.srv, "x", 1), SRV_TLS_ERROR);
	assert_string_equal(srv_tls_error(p.srv), "write after shutdown");
	assert_int_equal(ERR_peek_error(), 0);
	pair_free(&p);
	SSL_CTX_free(c);
}

static void large_round_trip(void **st)
{
	const size_t big = 200 * 1024 + 17; /* > 64 KiB, not a multiple of a record */
	unsigned char *data = malloc(big), *got = malloc(big);
	assert_non_null(data);
	assert_non_null(got);
	for (size_t i = 0; i < big; i++)
		data[i] = (unsigned char)(i * 31 + (i >> 8));
	int maxes[] = { 0, TLS1_2_VERSION };
	for (size_t v = 0; v < 2; v++) {
		SSL_CTX *c = client_ctx(TLS1_2_VERSION, maxes[v], NULL);
		struct pair p;
		pair_init(&p, F.ec, c, NULL);
		assert_true(handshake(&p));

		/* server -> client: one write, drained in BIO-pair-sized pieces */
		assert_int_equal(srv_tls_write(p.srv, data, big), SRV_TLS_OK);
		const void *o;
		size_t len;
		srv_tls_pending_out(p.srv, &o, &len);
		assert_true(len > big);
		client_read(&p, got, big);
		assert_memory_equal(got, data, big);
		srv_tls_pending_out(p.srv, &o, &len);
		assert_int_equal(len, 0);
		assert_null(o);

		/* client -> server */
		size_t before = p.in_len;
		client_write(&p, data, big);
		assert_int_equal(p.in_len - before, big);
		assert_memory_equal(p.in + before, data, big);
		exchange(&p); /* still fine after the buffers were trimmed */

		/* client -> server in one large feed, as a 64 KiB socket read would give */
		unsigned char *wire = malloc(SRV_TLS_IN_MAX);
		assert_non_null(wire);
		size_t wire_len = 0, sent = 0;
		while (sent < 150 * 1024) {
			size_t w = 0;
			assert_int_equal(SSL_write_ex(p.cli, data + sent, 150 * 1024 - sent, &w), 1);
			sent += w;
			int k;
			while ((k = BIO_read(p.net, wire + wire_len, (int)(SRV_TLS_IN_MAX - wire_len))) > 0)
				wire_len += (size_t)k;
		}
		assert_true(wire_len > 150 * 1024);
		assert_int_equal(srv_tls_feed(p.srv, wire, wire_len), SRV_TLS_OK);
		before = p.in_len;
		pump(&p);
		assert_int_equal(p.in_len - before, 150 * 1024);
		assert_memory_equal(p.in + before, data, 150 * 1024);
		free(wire);
		exchange(&p);
		pair_free(&p);
		SSL_CTX_free(c);
	}
	free(data);
	free(got);
}

static void consume_out_partial(void **st)
{
	SSL_CTX *c = client_ctx(TLS1_2_VERSION, 0, NULL);
	struct pair p;
	pair_init(&p, F.ec, c, NULL);
	assert_true(handshake(&p));
	assert_int_equal(srv_tls_write(p.srv, "250 ok\r\n", 8), SRV_TLS_OK);
	const void *o1, *o2;
	size_t l1, l2;
	srv_tls_pending_out(p.srv, &o1, &l1);
	assert_true(l1 > 8);
	srv_tls_consume_out(p.srv, 3); /* the socket took 3 octets */
	srv_tls_pending_out(p.srv, &o2, &l2);
	assert_int_equal(l2, l1 - 3);
	assert_ptr_equal(o2, (const unsigned char *)o1 + 3);
	/* input arriving meanwhile leaves the output where it is */
	assert_int_equal(SSL_write(p.cli, "NOOP\r\n", 6), 6);
	unsigned char wire[512];
	int k = BIO_read(p.net, wire, sizeof wire);
	assert_true(k > 0);
	assert_int_equal(srv_tls_feed(p.srv, wire, (size_t)k), SRV_TLS_OK);
	srv_tls_pending_out(p.srv, &o2, &l2);
	assert_int_equal(l2, l1 - 3);
	assert_ptr_equal(o2, (const unsigned char *)o1 + 3);
	srv_tls_consume_out(p.srv, l2 + 1000); /* clamped */
	srv_tls_pending_out(p.srv, &o2, &l2);
	assert_int_equal(l2, 0);
	srv_tls_consume_out(p.srv, 5); /* nothing pending: no-op */
	pair_free(&p);
	SSL_CTX_free(c);
}

/* Implicit TLS: the lead may write the greeting before the handshake ends. */
static void write_before_handshake(void **st)
{
	SSL_CTX *c = client_ctx(TLS1_2_VERSION, 0, NULL);
	struct pair p;
	pair_init(&p, F.ec, c, NULL);
	static const char greet[] = "220 localhost ESMTP postern\r\n";
	assert_int_equal(srv_tls_write(p.srv, greet, 10), SRV_TLS_OK);
	assert_int_equal(srv_tls_write(p.srv, greet + 10, sizeof greet - 11), SRV_TLS_OK);
	const void *o;
	size_t len;
	srv_tls_pending_out(p.srv, &o, &len);
	assert_int_equal(len, 0); /* nothing in clear, nothing before the ServerHello */
	assert_true(handshake(&p));
	unsigned char got[sizeof greet - 1];
	client_read(&p, got, sizeof got);
	assert_memory_equal(got, greet, sizeof got);
	pair_free(&p);

	/* bounded */
	struct srv_tls *t = srv_tls_new(F.ec);
	static unsigned char lots[SRV_TLS_EARLY_MAX];
	assert_int_equal(srv_tls_write(t, lots, sizeof lots), SRV_TLS_OK);
	assert_int_equal(srv_tls_write(t, "x", 1), SRV_TLS_ERROR);
	assert_true(strlen(srv_tls_error(t)) > 0);
	srv_tls_free(t);
	SSL_CTX_free(c);
}

static void feed_is_bounded(void **st)
{
	struct srv_tls *t = srv_tls_new(F.ec);
	static unsigned char chunk[64 * 1024];
	memset(chunk, 0x16, sizeof chunk);
	for (size_t i = 0; i < SRV_TLS_IN_MAX / sizeof chunk; i++)
		assert_int_equal(srv_tls_feed(t, chunk, sizeof chunk), SRV_TLS_OK);
	assert_int_equal(srv_tls_feed(t, chunk, 1), SRV_TLS_ERROR);
	assert_non_null(strstr(srv_tls_error(t), "input buffer full"));
	assert_int_equal(srv_tls_feed(t, chunk, 0), SRV_TLS_ERROR);
	srv_tls_free(t);

	t = srv_tls_new(F.ec);
	assert_int_equal(srv_tls_feed(t, chunk, 0), SRV_TLS_OK);
	unsigned char b[8];
	size_t n;
	assert_int_equal(srv_tls_read(t, b, sizeof b, &n), SRV_TLS_WANT_MORE); /* nothing yet */
	srv_tls_free(t);
}

static void edge_calls(void **st)
{
	unsigned char b[8];
	size_t n = 5;
	struct srv_tls *t = srv_tls_new(F.ec);
	assert_int_equal(srv_tls_write(t, "", 0), SRV_TLS_OK);
	assert_int_equal(srv_tls_shutdown(t), SRV_TLS_OK); /* no handshake: nothing to say */
	const void *o;
	size_t len;
	srv_tls_pending_out(t, &o, &len);
	assert_int_equal(len, 0);
	assert_false(srv_tls_session_reused(t));
	assert_int_equal(srv_tls_read(t, b, 0, &n), SRV_TLS_ERROR);
	assert_int_equal(n, 0);
	assert_string_equal(srv_tls_error(t), "read with no room");
	assert_int_equal(srv_tls_shutdown(t), SRV_TLS_ERROR);
	assert_int_equal(srv_tls_read(t, b, sizeof b, &n), SRV_TLS_ERROR);
	srv_tls_free(t);
	srv_tls_free(NULL);

	/* after a handshake, an empty write sends nothing */
	SSL_CTX *c = client_ctx(TLS1_2_VERSION, 0, NULL);
	struct pair p;
	pair_init(&p, F.ec, c, NULL);
	assert_true(handshake(&p));
	assert_int_equal(srv_tls_write(p.srv, "", 0), SRV_TLS_OK);
	srv_tls_pending_out(p.srv, &o, &len);
	assert_int_equal(len, 0);
	pair_free(&p);
	SSL_CTX_free(c);
}

/* ALPACA: a browser (ALPN http/1.1, h2) is refused; "smtp" is accepted. */
static void alpn(void **st)
{
	SSL_CTX *c = client_ctx(TLS1_2_VERSION, 0, NULL);
	static const unsigned char http[] = "\x02h2\x08http/1.1";
	assert_int_equal(SSL_CTX_set_alpn_protos(c, http, sizeof http - 1), 0);
	struct pair p;
	pair_init(&p, F.ec, c, NULL);
	assert_false(handshake(&p));
	assert_int_equal(p.status, SRV_TLS_ERROR);
	assert_string_equal(srv_tls_error(p.srv), "no application protocol");
	pair_free(&p);

	static const unsigned char smtp[] = "\x08http/1.1\x04smtp";
	assert_int_equal(SSL_CTX_set_alpn_protos(c, smtp, sizeof smtp - 1), 0);
	pair_init(&p, F.ec, c, NULL);
	assert_true(handshake(&p));
	const unsigned char *sel;
	unsigned sel_len;
	SSL_get0_alpn_selected(p.cli, &sel, &sel_len);
	assert_int_equal(sel_len, 4);
	assert_memory_equal(sel, "smtp", 4);
	pair_free(&p);

	static const unsigned char other[] = "\x05imap2";
	assert_int_equal(SSL_CTX_set_alpn_protos(c, other, sizeof other - 1), 0);
	pair_init(&p, F.ec, c, NULL);
	assert_true(handshake(&p)); /* unknown, not HTTP: no ALPN, no refusal */
	SSL_get0_alpn_selected(p.cli, &sel, &sel_len);
	assert_int_equal(sel_len, 0);
	pair_free(&p);
	SSL_CTX_free(c);
}

static void ctx_errors_name_the_file(void **st)
{
	char err[256];
	struct {
		const char *cert, *key, *want1, *want2;
	} cases[] = {
		{ "/nonexistent/cert.pem", F.ec_key, "certificate file /nonexistent/cert.pem",
		  "No such file or directory" },
		{ F.ec_cert, "/nonexistent/key.pem", "private key file /nonexistent/key.pem",
		  "No such file or directory" },
		{ F.garbage, F.ec_key, "garbage.pem: ", "no PEM certificate found" },
		{ F.ec_key, F.ec_key, "ec-key.pem: ", "no PEM certificate found" },
		{ F.ec_cert, F.garbage, "private key file ", "garbage.pem: no PEM private key found" },
		{ F.ec_cert, F.ec_cert, "ec-cert.pem: ", "no PEM private key found" },
		{ F.ec_cert, F.rsa_key, "private key file ", "rsa-key.pem does not match certificate file" },
		/* same key type: OpenSSL refuses the key while loading it */
		{ F.ec_cert, F.ec2_key, "private key file ", "ec2-key.pem does not match certificate file" },
		{ F.rsa_cert, F.ec_key, "private key file ", "ec-key.pem does not match certificate file" },
		{ F.ec_cert, F.enc_key, "enc-key.pem: ", "the key is encrypted" },
		{ F.dir, F.ec_key, "certificate file ", "Is a directory" },
		{ "", F.ec_key, "certificate", "key" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memset(err, 'x', sizeof err);
		struct srv_tls_ctx *ctx = srv_tls_ctx_new(cases[i].cert, cases[i].key, err,
							  sizeof err);
		assert_null(ctx);
		assert_non_null(memchr(err, '\0', sizeof err));
		assert_non_null(strstr(err, cases[i].want1));
		assert_non_null(strstr(err, cases[i].want2));
		assert_null(strchr(err, '\n'));
		assert_int_equal(ERR_peek_error(), 0);
	}
	/* a too-small error buffer truncates, never overflows */
	char small[8];
	assert_null(srv_tls_ctx_new("/nonexistent/cert.pem", F.ec_key, small, sizeof small));
	assert_int_equal(strlen(small), 7);

	/* cert and key in one file works */
	char both[160];
	snprintf(both, sizeof both, "%s/both.pem", F.dir);
	FILE *o = fopen(both, "w");
	assert_non_null(o);
	const char *parts[] = { F.ec_cert, F.ec_key };
	for (int i = 0; i < 2; i++) {
		FILE *in = fopen(parts[i], "r");
		assert_non_null(in);
		int ch;
		while ((ch = fgetc(in)) != EOF)
			fputc(ch, o);
		fclose(in);
	}
	fclose(o);
	struct srv_tls_ctx *ctx = srv_tls_ctx_new(both, both, err, sizeof err);
	assert_non_null(ctx);
	assert_string_equal(err, "");
	srv_tls_ctx_free(ctx);
	unlink(both);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tls13_handshake_and_data),
		cmocka_unit_test(tls12_handshake_and_data),
		cmocka_unit_test(tls12_weak_cipher_refused),
		cmocka_unit_test(old_protocols_refused),
		cmocka_unit_test(channel_binding_tls13),
		cmocka_unit_test(channel_binding_tls12),
		cmocka_unit_test(tls_unique_needs_ems),
		cmocka_unit_test(resumption),
		cmocka_unit_test(reload),
		cmocka_unit_test(garbage_instead_of_client_hello),
		cmocka_unit_test(handshake_steps_off_thread),
		cmocka_unit_test(foreign_error_does_not_leak),
		cmocka_unit_test(close_mid_handshake),
		cmocka_unit_test(close_notify_and_eof),
		cmocka_unit_test(large_round_trip),
		cmocka_unit_test(consume_out_partial),
		cmocka_unit_test(write_before_handshake),
		cmocka_unit_test(feed_is_bounded),
		cmocka_unit_test(edge_calls),
		cmocka_unit_test(alpn),
		cmocka_unit_test(ctx_errors_name_the_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
