/* server/tls: TLS over two OpenSSL memory BIOs (see tls.h). */
#include "server/tls.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

/* TLS 1.2: ECDHE key exchange and AEAD ciphers only (Mozilla "intermediate"
 * minus DHE). TLS 1.3: all three standard AEAD suites. */
#define TLS12_CIPHERS                                                                      \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                       \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                       \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS13_SUITES "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"
#define TLS_GROUPS "X25519:P-256:X448:P-384:P-521"

/* Must be the same in every context we ever build, or tickets issued
 * before a reload are refused after it. */
#define SESSION_ID_CONTEXT "postern"
#define SESSION_TIMEOUT 3600 /* seconds; Postfix's smtpd_tls_session_cache_timeout */
#define SESSION_CACHE_SIZE 20480
#define TICKET_KEYS_LEN 80 /* name 16 + HMAC 32 + AES 32 (SSL_CTX_get_tlsext_ticket_keys) */

/* Memory BIOs keep their largest size; drop one that grew past this when it
 * is empty, so an idle connection stays small. */
#define BIO_KEEP (32 * 1024)

#define TLS_EXPORTER_LABEL "EXPORTER-Channel-Binding"
#define TLS_EXPORTER_LEN 32

struct srv_tls_ctx {
	SSL_CTX *ssl_ctx;
	atomic_int refs;
};

struct srv_tls {
	struct srv_tls_ctx *ctx;
	SSL *ssl;
	BIO *rbio; /* ciphertext in: owned by ssl */
	BIO *wbio; /* ciphertext out: owned by ssl */
	size_t out_off; /* octets of wbio already handed to the socket */
	unsigned char *early; /* plaintext written before the handshake finished */
	size_t early_len;
	bool hs_done;
	bool eof;
	bool closed;
	bool failed;
	char reason[128];
};

/* ---- errors ------------------------------------------------------------ */

static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (cap == 0)
		return;
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The first error on this thread's queue as a short string, then an empty
 * queue. fallback when the queue holds nothing useful. */
static void take_reason(char *dst, size_t cap, const char *fallback)
{
	unsigned long e;
	const char *r = NULL;
	char tmp[256];
	while (!r && (e = ERR_get_error()) != 0) {
		if (ERR_SYSTEM_ERROR(e)) {
			r = strerror((int)ERR_GET_REASON(e));
		} else if ((r = ERR_reason_error_string(e)) == NULL) {
			ERR_error_string_n(e, tmp, sizeof tmp);
			r = tmp;
		}
	}
	copy_str(dst, cap, r ? r : fallback);
	ERR_clear_error();
}

static int fail(struct srv_tls *t, const char *fallback)
{
	take_reason(t->reason, sizeof t->reason, fallback);
	t->failed = true;
	return SRV_TLS_ERROR;
}

/* ---- context ----------------------------------------------------------- */

/* Never prompt on a terminal for a key's passphrase: refuse encrypted keys. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

static bool alpn_has(const unsigned char *in, unsigned inlen, const char *proto,
		     const unsigned char **at)
{
	size_t plen = strlen(proto);
	for (unsigned i = 0; i < inlen;) {
		unsigned l = in[i];
		if (i + 1 + l > inlen)
			return false;
		if (l == plen && memcmp(in + i + 1, proto, plen) == 0) {
			if (at)
				*at = in + i;
			return true;
		}
		i += 1 + l;
	}
	return false;
}

/* ALPACA (cross-protocol attacks, 2021): a client that announces it speaks
 * HTTP is not talking to us; refuse it instead of answering in SMTP. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	static const char *const http[] = { "http/0.9", "http/1.0", "http/1.1", "h2", "h2c",
					    "h3", "spdy/1", "spdy/2", "spdy/3" };
	const unsigned char *at;
	(void)ssl, (void)arg;
	if (alpn_has(in, inlen, "smtp", &at)) {
		*out = at + 1;
		*outlen = at[0];
		return SSL_TLSEXT_ERR_OK;
	}
	for (size_t i = 0; i < sizeof http / sizeof http[0]; i++)
		if (alpn_has(in, inlen, http[i], NULL))
			return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_NOACK;
}

/* Open and read a byte, so a missing file, a directory or a permission
 * problem is reported by the system's own words. */
static bool readable(const char *path, const char *what, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f) {
		(void)fgetc(f);
		if (!ferror(f)) {
			fclose(f);
			return true;
		}
	}
	snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
	if (f)
		fclose(f);
	return false;
}

/* Why a certificate or key file did not load, in words an operator can act
 * on (OpenSSL says "no start line", "unsupported", "interrupted or cancelled").
 * True when the key loaded but does not match the certificate: OpenSSL
 * refuses it then already (X509_R_KEY_VALUES_MISMATCH), before
 * SSL_CTX_check_private_key. */
static bool load_reason(char *dst, size_t cap, const char *what)
{
	unsigned long e;
	bool encrypted = false, no_pem = false, mismatch = false;
	while ((e = ERR_peek_error()) != 0) {
		int lib = ERR_GET_LIB(e), reason = ERR_GET_REASON(e);
		if (lib == ERR_LIB_X509 &&
		    (reason == X509_R_KEY_VALUES_MISMATCH || reason == X509_R_KEY_TYPE_MISMATCH))
			mismatch = true;
		if ((lib == ERR_LIB_PEM && reason == PEM_R_BAD_PASSWORD_READ) ||
		    (lib == ERR_LIB_PEM && reason == PEM_R_BAD_DECRYPT))
			encrypted = true;
		if ((lib == ERR_LIB_PEM && reason == PEM_R_NO_START_LINE) ||
		    (lib == ERR_LIB_OSSL_DECODER && reason == ERR_R_UNSUPPORTED))
			no_pem = true;
		if (encrypted || no_pem || mismatch)
			break;
		ERR_get_error();
	}
	if (mismatch)
		snprintf(dst, cap, "does not match the certificate");
	else if (encrypted)
		snprintf(dst, cap, "the key is encrypted (not supported: no passphrase is asked for)");
	else if (no_pem)
		snprintf(dst, cap, "no PEM %s found", what);
	else
		take_reason(dst, cap, "cannot load");
	ERR_clear_error();
	return mismatch;
}

struct srv_tls_ctx *srv_tls_ctx_new(const char *cert_file, const char *key_file, char *err,
				    size_t errlen)
{
	char why[160];
	SSL_CTX *c = NULL;
	struct srv_tls_ctx *ctx = NULL;

	if (errlen)
		err[0] = '\0';
	ERR_clear_error();
	if (!cert_file || !*cert_file || !key_file || !*key_file) {
		snprintf(err, errlen, "TLS needs both a certificate file and a key file");
		return NULL;
	}
	if (!readable(cert_file, "certificate file", err, errlen) ||
	    !readable(key_file, "private key file", err, errlen))
		return NULL;

	c = SSL_CTX_new(TLS_server_method());
	if (!c)
		goto ossl_fail;
	SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
				       SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
	if (!SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(c, 0) || !SSL_CTX_set_cipher_list(c, TLS12_CIPHERS) ||
	    !SSL_CTX_set_ciphersuites(c, TLS13_SUITES) || !SSL_CTX_set1_groups_list(c, TLS_GROUPS))
		goto ossl_fail;
	if (!SSL_CTX_set_session_id_context(c, (const unsigned char *)SESSION_ID_CONTEXT,
					    sizeof SESSION_ID_CONTEXT - 1))
		goto ossl_fail;
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(c, SESSION_CACHE_SIZE);
	SSL_CTX_set_timeout(c, SESSION_TIMEOUT);
	SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_default_passwd_cb(c, no_passphrase);
	SSL_CTX_set_alpn_select_cb(c, alpn_select, NULL);

	if (SSL_CTX_use_certificate_chain_file(c, cert_file) != 1) {
		load_reason(why, sizeof why, "certificate");
		snprintf(err, errlen, "certificate file %s: %s", cert_file, why);
		goto fail;
	}
	bool mismatch = false;
	if (SSL_CTX_use_PrivateKey_file(c, key_file, SSL_FILETYPE_PEM) != 1 &&
	    !(mismatch = load_reason(why, sizeof why, "private key"))) {
		snprintf(err, errlen, "private key file %s: %s", key_file, why);
		goto fail;
	}
	if (mismatch || SSL_CTX_check_private_key(c) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "private key file %s does not match certificate file %s",
			 key_file, cert_file);
		goto fail;
	}
	ctx = calloc(1, sizeof *ctx);
	if (!ctx) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	ctx->ssl_ctx = c;
	atomic_init(&ctx->refs, 1);
	ERR_clear_error();
	return ctx;

ossl_fail:
	take_reason(why, sizeof why, "internal error");
	snprintf(err, errlen, "TLS setup failed: %s", why);
fail:
	SSL_CTX_free(c);
	ERR_clear_error();
	return NULL;
}

struct srv_tls_ctx *srv_tls_ctx_ref(struct srv_tls_ctx *ctx)
{
	if (ctx)
		atomic_fetch_add_explicit(&ctx->refs, 1, memory_order_relaxed);
	return ctx;
}

void srv_tls_ctx_unref(struct srv_tls_ctx *ctx)
{
	if (!ctx)
		return;
	if (atomic_fetch_sub_explicit(&ctx->refs, 1, memory_order_acq_rel) == 1) {
		SSL_CTX_free(ctx->ssl_ctx);
		free(ctx);
	}
}

void srv_tls_ctx_free(struct srv_tls_ctx *ctx)
{
	srv_tls_ctx_unref(ctx);
}

int srv_tls_ctx_inherit_tickets(struct srv_tls_ctx *dst, const struct srv_tls_ctx *src)
{
	unsigned char keys[TICKET_KEYS_LEN];
	int rc = -1;
	if (!dst || !src)
		return -1;
	ERR_clear_error();
	if (SSL_CTX_get_tlsext_ticket_keys(src->ssl_ctx, keys, sizeof keys) == 1 &&
	    SSL_CTX_set_tlsext_ticket_keys(dst->ssl_ctx, keys, sizeof keys) == 1)
		rc = 0;
	OPENSSL_cleanse(keys, sizeof keys);
	ERR_clear_error();
	return rc;
}

/* ---- connection -------------------------------------------------------- */

static BIO *new_rbio(void)
{
	BIO *b = BIO_new(BIO_s_mem());
	if (b)
		BIO_set_mem_eof_return(b, -1); /* empty means "retry", not EOF */
	return b;
}

struct srv_tls *srv_tls_new(struct srv_tls_ctx *ctx)
{
	struct srv_tls *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	ERR_clear_error();
	t->ssl = SSL_new(ctx->ssl_ctx);
	t->rbio = new_rbio();
	t->wbio = BIO_new(BIO_s_mem());
	if (!t->ssl || !t->rbio || !t->wbio) {
		BIO_free(t->rbio);
		BIO_free(t->wbio);
		SSL_free(t->ssl);
		free(t);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_bio(t->ssl, t->rbio, t->wbio);
	SSL_set_accept_state(t->ssl);
	t->ctx = srv_tls_ctx_ref(ctx);
	return t;
}

void srv_tls_free(struct srv_tls *t)
{
	if (!t)
		return;
	/* A connection that ended without close_notify both ways still had a
	 * good session: keep it resumable (OpenSSL drops it from the cache
	 * otherwise; RFC 5246 §7.2.1 allows either). */
	if (t->hs_done && !t->failed)
		SSL_set_shutdown(t->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(t->ssl); /* frees both BIOs */
	free(t->early);
	srv_tls_ctx_unref(t->ctx);
	free(t);
	ERR_clear_error();
}

int srv_tls_feed(struct srv_tls *t, const void *cipher, size_t len)
{
	if (t->failed)
		return SRV_TLS_ERROR;
	if (t->eof) {
		snprintf(t->reason, sizeof t->reason, "input after EOF");
		t->failed = true;
		return SRV_TLS_ERROR;
	}
	if (len == 0)
		return SRV_TLS_OK;
	if (len > SRV_TLS_IN_MAX || BIO_ctrl_pending(t->rbio) > SRV_TLS_IN_MAX - len) {
		snprintf(t->reason, sizeof t->reason, "input buffer full (%d octets)",
			 SRV_TLS_IN_MAX);
		t->failed = true;
		return SRV_TLS_ERROR;
	}
	ERR_clear_error();
	size_t written = 0;
	if (BIO_write_ex(t->rbio, cipher, len, &written) != 1 || written != len)
		return fail(t, "out of memory");
	return SRV_TLS_OK;
}

void srv_tls_feed_eof(struct srv_tls *t)
{
	t->eof = true;
	BIO_set_mem_eof_return(t->rbio, 0);
}

/* Replace a memory BIO that is empty but grew large with a fresh one. */
static void trim_rbio(struct srv_tls *t)
{
	BUF_MEM *bm = NULL;
	if (t->eof || BIO_ctrl_pending(t->rbio) != 0)
		return;
	BIO_get_mem_ptr(t->rbio, &bm);
	if (!bm || bm->max <= BIO_KEEP)
		return;
	BIO *b = new_rbio();
	if (!b)
		return;
	SSL_set0_rbio(t->ssl, b); /* frees the old one */
	t->rbio = b;
}

static int seal(struct srv_tls *t, const void *p, size_t len)
{
	const unsigned char *c = p;
	while (len > 0) {
		size_t w = 0;
		ERR_clear_error();
		if (SSL_write_ex(t->ssl, c, len, &w) != 1 || w == 0)
			return fail(t, "write failed");
		c += w;
		len -= w;
	}
	return SRV_TLS_OK;
}

/* The handshake just finished: send what was written while it ran. */
static int handshake_finished(struct srv_tls *t)
{
	t->hs_done = true;
	if (!t->early)
		return SRV_TLS_OK;
	int rc = seal(t, t->early, t->early_len);
	free(t->early);
	t->early = NULL;
	t->early_len = 0;
	return rc;
}

int srv_tls_handshake(struct srv_tls *t)
{
	if (t->failed)
		return SRV_TLS_ERROR;
	if (t->hs_done)
		return SRV_TLS_OK;
	ERR_clear_error();
	int r = SSL_do_handshake(t->ssl);
	int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, r);
	switch (e) {
	case SSL_ERROR_NONE:
		return handshake_finished(t);
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		ERR_clear_error();
		trim_rbio(t);
		return SRV_TLS_WANT_MORE;
	case SSL_ERROR_ZERO_RETURN:
	case SSL_ERROR_SYSCALL: /* memory BIOs: only EOF */
		return fail(t, "peer closed connection during handshake");
	default:
		return fail(t, "TLS error");
	}
}

int srv_tls_read(struct srv_tls *t, void *plain, size_t cap, size_t *n)
{
	*n = 0;
	if (t->failed)
		return SRV_TLS_ERROR;
	if (t->closed)
		return SRV_TLS_CLOSED;
	if (cap == 0) {
		snprintf(t->reason, sizeof t->reason, "read with no room");
		t->failed = true; /* the caller's bug; ERROR is always final */
		return SRV_TLS_ERROR;
	}
	ERR_clear_error();
	size_t got = 0;
	int r = SSL_read_ex(t->ssl, plain, cap, &got);
	int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, r);
	if (!t->hs_done && SSL_is_init_finished(t->ssl) && handshake_finished(t) != SRV_TLS_OK)
		return SRV_TLS_ERROR;
	switch (e) {
	case SSL_ERROR_NONE:
		*n = got;
		return SRV_TLS_OK;
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE: /* a memory BIO takes every write; kept for safety */
		ERR_clear_error();
		trim_rbio(t);
		return SRV_TLS_WANT_MORE;
	case SSL_ERROR_ZERO_RETURN:
		if (!t->hs_done) {
			ERR_clear_error();
			snprintf(t->reason, sizeof t->reason, "peer closed connection during handshake");
			t->failed = true;
			return SRV_TLS_ERROR;
		}
		ERR_clear_error();
		t->closed = true;
		return SRV_TLS_CLOSED;
	case SSL_ERROR_SYSCALL:
		/* memory BIOs make no system calls: only EOF lands here */
		if (t->eof && t->hs_done && ERR_peek_error() == 0) {
			t->closed = true;
			return SRV_TLS_CLOSED;
		}
		return fail(t, t->hs_done ? "unexpected EOF" : "peer closed connection during handshake");
	default:
		return fail(t, "TLS error");
	}
}

int srv_tls_write(struct srv_tls *t, const void *plain, size_t len)
{
	if (t->failed)
		return SRV_TLS_ERROR;
	if (len == 0)
		return SRV_TLS_OK;
	if (SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN) {
		snprintf(t->reason, sizeof t->reason, "write after shutdown");
		return SRV_TLS_ERROR;
	}
	if (t->hs_done)
		return seal(t, plain, len);
	if (len > SRV_TLS_EARLY_MAX - t->early_len) {
		snprintf(t->reason, sizeof t->reason, "too much output before the handshake finished");
		t->failed = true;
		return SRV_TLS_ERROR;
	}
	unsigned char *p = realloc(t->early, t->early_len + len);
	if (!p) {
		snprintf(t->reason, sizeof t->reason, "out of memory");
		t->failed = true;
		return SRV_TLS_ERROR;
	}
	memcpy(p + t->early_len, plain, len);
	t->early = p;
	t->early_len += len;
	return SRV_TLS_OK;
}

int srv_tls_shutdown(struct srv_tls *t)
{
	if (t->failed)
		return SRV_TLS_ERROR;
	if (!t->hs_done) /* nothing to protect yet; a close_notify now would be odd */
		return SRV_TLS_OK;
	ERR_clear_error();
	int r = SSL_shutdown(t->ssl); /* 0: sent, peer's not seen yet; that is all we need */
	if (r < 0 && SSL_get_error(t->ssl, r) != SSL_ERROR_WANT_READ)
		return fail(t, "shutdown failed");
	ERR_clear_error();
	return SRV_TLS_OK;
}

void srv_tls_pending_out(struct srv_tls *t, const void **ptr, size_t *len)
{
	char *data = NULL;
	long have = BIO_get_mem_data(t->wbio, &data);
	if (have <= 0 || (size_t)have <= t->out_off) {
		*ptr = NULL;
		*len = 0;
		return;
	}
	*ptr = data + t->out_off;
	*len = (size_t)have - t->out_off;
}

void srv_tls_consume_out(struct srv_tls *t, size_t n)
{
	char *data = NULL;
	long have = BIO_get_mem_data(t->wbio, &data);
	size_t left = have > 0 && (size_t)have > t->out_off ? (size_t)have - t->out_off : 0;
	if (n > left)
		n = left;
	t->out_off += n;
	if (n == 0 || t->out_off < (size_t)have)
		return;
	/* All sent: empty the BIO, and shrink it if a burst made it large. */
	t->out_off = 0;
	BUF_MEM *bm = NULL;
	BIO_get_mem_ptr(t->wbio, &bm);
	BIO *b = bm && bm->max > BIO_KEEP ? BIO_new(BIO_s_mem()) : NULL;
	if (b) {
		SSL_set0_wbio(t->ssl, b); /* frees the old one */
		t->wbio = b;
	} else {
		(void)BIO_reset(t->wbio);
	}
	ERR_clear_error();
}

bool srv_tls_handshake_done(const struct srv_tls *t)
{
	return t->hs_done;
}

bool srv_tls_session_reused(const struct srv_tls *t)
{
	return t->hs_done && SSL_session_reused(t->ssl) == 1;
}

const char *srv_tls_error(const struct srv_tls *t)
{
	return t->reason;
}

const char *srv_tls_version(const struct srv_tls *t)
{
	return t->hs_done ? SSL_get_version(t->ssl) : NULL;
}

const char *srv_tls_cipher(const struct srv_tls *t)
{
	const SSL_CIPHER *c = t->hs_done ? SSL_get_current_cipher(t->ssl) : NULL;
	return c ? SSL_CIPHER_get_name(c) : NULL;
}

int srv_tls_format_received(const struct srv_tls *t, char *out, size_t cap)
{
	const SSL_CIPHER *c = t->hs_done ? SSL_get_current_cipher(t->ssl) : NULL;
	if (cap > 0)
		out[0] = '\0';
	if (!c || cap == 0)
		return -1;
	int alg_bits = 0;
	int use_bits = SSL_CIPHER_get_bits(c, &alg_bits);
	int n = snprintf(out, cap, "using %s with cipher %s (%d/%d bits)", SSL_get_version(t->ssl),
			 SSL_CIPHER_get_name(c), use_bits, alg_bits);
	if (n < 0 || (size_t)n >= cap) {
		out[0] = '\0';
		return -1;
	}
	return n;
}

int srv_tls_channel_binding(struct srv_tls *t, const char *kind, unsigned char *out, size_t cap,
			    size_t *len)
{
	*len = 0;
	if (!t->hs_done || t->failed || !kind)
		return -1;
	int version = SSL_version(t->ssl);
	if (strcmp(kind, "tls-exporter") == 0) {
		if (version != TLS1_3_VERSION || cap < TLS_EXPORTER_LEN)
			return -1;
		ERR_clear_error();
		if (SSL_export_keying_material(t->ssl, out, TLS_EXPORTER_LEN, TLS_EXPORTER_LABEL,
					       sizeof TLS_EXPORTER_LABEL - 1, NULL, 0, 0) != 1) {
			ERR_clear_error();
			return -1;
		}
		*len = TLS_EXPORTER_LEN;
		return 0;
	}
	if (strcmp(kind, "tls-unique") == 0) {
		if (version > TLS1_2_VERSION || SSL_get_extms_support(t->ssl) != 1)
			return -1;
		unsigned char fin[EVP_MAX_MD_SIZE];
		/* RFC 5929 §3.1: the first Finished of the latest handshake. A full
		 * handshake starts with the client's; an abbreviated one with ours. */
		size_t n = SSL_session_reused(t->ssl) ? SSL_get_finished(t->ssl, fin, sizeof fin)
						      : SSL_get_peer_finished(t->ssl, fin, sizeof fin);
		if (n == 0 || n > sizeof fin || n > cap)
			return -1;
		memcpy(out, fin, n);
		*len = n;
		return 0;
	}
	return -1;
}
