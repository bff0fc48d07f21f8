#include "client/sasl_client.h"

#include <gsasl.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "creds/creds.h"

struct client_sasl {
	Gsasl *ctx;
	Gsasl_session *sess;
	char *user, *password, *host; /* user and password SASLprep'ed when they can be */
	enum client_cb_type cb_type;
	char *cb_b64;
	bool done;
	int last_rc;
};

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d)
		memcpy(d, s, n);
	return d;
}

static void wipe_free(char *s)
{
	if (s) {
		memset(s, 0, strlen(s));
		free(s);
	}
}

static bool is_plus(Gsasl_session *sess)
{
	const char *m = gsasl_mechanism_name(sess);
	size_t n = m ? strlen(m) : 0;

	return n > 5 && !strcmp(m + n - 5, "-PLUS");
}

/* SCRAM's SaltedPassword (RFC 5802 §3), Hi(Normalize(password), salt, i),
 * computed here from the prepared password, as hex for gsasl: gsasl's own
 * SASLprep refuses emoji (its flag is inverted in 2.2.0), and the server's
 * keys were made from this preparation (creds_saslprep). */
static int salted_password(struct client_sasl *c, Gsasl_session *sess)
{
	const char *salt64 = gsasl_property_fast(sess, GSASL_SCRAM_SALT);
	const char *iter = gsasl_property_fast(sess, GSASL_SCRAM_ITER);
	const char *m = gsasl_mechanism_name(sess);
	unsigned char salt[CREDS_SALT_MAX + 3], sp[CREDS_KEY_MAX];
	size_t salt_len = 0;
	char *end = NULL;
	unsigned long it = iter ? strtoul(iter, &end, 10) : 0;

	if (!salt64 || !m || !end || *end || it == 0 || it > CREDS_SCRAM_ITER_MAX ||
	    base64_decoded_max(strlen(salt64)) > sizeof(salt) ||
	    !base64_decode(salt64, strlen(salt64), salt, &salt_len) || salt_len > CREDS_SALT_MAX)
		return GSASL_NO_CALLBACK; /* gsasl then says what is wrong */
	enum creds_scram_hash h = strncmp(m, "SCRAM-SHA-1", 11) == 0 && (m[11] == '\0' || m[11] == '-')
					  ? CREDS_SCRAM_SHA1 : CREDS_SCRAM_SHA256;
	struct creds_scram keys;
	size_t kl = creds_scram_key_len(h);
	char hex[2 * CREDS_KEY_MAX + 1];
	static const char digits[] = "0123456789abcdef";

	if (creds_scram_derive(h, c->password, strlen(c->password), salt, salt_len, (unsigned)it,
			       &keys, sp))
		return GSASL_NO_CALLBACK;
	for (size_t i = 0; i < kl; i++) {
		hex[2 * i] = digits[sp[i] >> 4];
		hex[2 * i + 1] = digits[sp[i] & 15];
	}
	hex[2 * kl] = '\0';
	int rc = gsasl_property_set(sess, GSASL_SCRAM_SALTED_PASSWORD, hex);

	creds_wipe(&keys, sizeof(keys));
	creds_wipe(sp, sizeof(sp));
	creds_wipe(hex, sizeof(hex));
	return rc;
}

/* GNU SASL asks for what it needs; we answer from what the user gave. */
static int callback(Gsasl *ctx, Gsasl_session *sess, Gsasl_property prop)
{
	struct client_sasl *c = gsasl_session_hook_get(sess);

	(void)ctx;
	switch (prop) {
	case GSASL_AUTHID:
		return gsasl_property_set(sess, prop, c->user);
	case GSASL_PASSWORD:
		return gsasl_property_set(sess, prop, c->password);
	case GSASL_SERVICE:
		return gsasl_property_set(sess, prop, "smtp");
	case GSASL_HOSTNAME:
		return gsasl_property_set(sess, prop, c->host);
	case GSASL_SCRAM_SALTED_PASSWORD:
		return salted_password(c, sess);
	/* The binding goes to -PLUS only, so a SCRAM without -PLUS says "n"
	 * (RFC 5802 §6). Chosen with --auth while the server offers -PLUS, "n"
	 * is right: this exchange does not bind, and "y" would be refused as a
	 * downgrade. Against a server that offers no -PLUS, §6 wants "y", but
	 * gsasl 2.2.0 cannot send it (it names the binding with "y", and its
	 * own check then refuses the message before AUTH is sent). */
	case GSASL_CB_TLS_EXPORTER:
		if (!is_plus(sess) || c->cb_type != CLIENT_CB_TLS_EXPORTER || !c->cb_b64)
			return GSASL_NO_CALLBACK;
		return gsasl_property_set(sess, prop, c->cb_b64);
	case GSASL_CB_TLS_UNIQUE:
		if (!is_plus(sess) || c->cb_type != CLIENT_CB_TLS_UNIQUE || !c->cb_b64)
			return GSASL_NO_CALLBACK;
		return gsasl_property_set(sess, prop, c->cb_b64);
	default:
		return GSASL_NO_CALLBACK;
	}
}

struct client_sasl *client_sasl_new(const char *user, const char *password, const char *host)
{
	struct client_sasl *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	/* SASLprep (RFC 4013) as the server and `postern passwd` apply it;
	 * what cannot be prepared goes as given, for the server to refuse */
	if (creds_saslprep(user, &c->user))
		c->user = dup_str(user);
	if (creds_saslprep(password, &c->password))
		c->password = dup_str(password);
	c->host = dup_str(host);
	if (!c->user || !c->password || !c->host || gsasl_init(&c->ctx) != GSASL_OK) {
		client_sasl_free(c);
		return NULL;
	}
	gsasl_callback_set(c->ctx, callback);
	return c;
}

void client_sasl_free(struct client_sasl *c)
{
	if (!c)
		return;
	if (c->sess)
		gsasl_finish(c->sess);
	if (c->ctx)
		gsasl_done(c->ctx);
	wipe_free(c->user);
	wipe_free(c->password);
	free(c->host);
	free(c->cb_b64);
	free(c);
}

int client_sasl_set_cb(struct client_sasl *c, enum client_cb_type type, const void *data, size_t n)
{
	char *b = malloc(base64_encoded_len(n) + 1);

	if (!b)
		return -1;
	base64_encode(data, n, b);
	free(c->cb_b64);
	c->cb_b64 = b;
	c->cb_type = type;
	return 0;
}

const char *client_sasl_error(const struct client_sasl *c)
{
	return c->last_rc == GSASL_OK ? "" : gsasl_strerror(c->last_rc);
}

/* One gsasl_step; GSASL_OK means the mechanism is satisfied. */
static int step(struct client_sasl *c, const char *in, size_t n, struct buf *out)
{
	char *o = NULL;
	size_t olen = 0;
	int rc = gsasl_step(c->sess, in, n, &o, &olen);

	c->last_rc = rc == GSASL_NEEDS_MORE ? GSASL_OK : rc;
	if (rc != GSASL_OK && rc != GSASL_NEEDS_MORE) {
		free(o);
		return -1;
	}
	c->done = rc == GSASL_OK;
	int brc = buf_append(out, o, olen);

	if (o) {
		memset(o, 0, olen);
		free(o);
	}
	return brc == BUF_OK ? 0 : -1;
}

static int op_start(void *arg, enum client_mech mech, struct buf *ir, bool *has_ir)
{
	struct client_sasl *c = arg;
	int rc;

	if (c->sess) {
		gsasl_finish(c->sess);
		c->sess = NULL;
	}
	c->done = false;
	rc = gsasl_client_start(c->ctx, client_mech_name(mech), &c->sess);
	c->last_rc = rc;
	if (rc != GSASL_OK)
		return -1;
	gsasl_session_hook_set(c->sess, c);
	/* LOGIN and CRAM-MD5 wait for the server's first challenge (RFC 4954
	 * allows an initial response, but LOGIN's prompts are its charm) */
	*has_ir = mech != CLIENT_MECH_LOGIN && mech != CLIENT_MECH_CRAM_MD5;
	if (!*has_ir)
		return 0;
	return step(c, NULL, 0, ir);
}

static int op_step(void *arg, const char *chal, size_t n, struct buf *resp)
{
	struct client_sasl *c = arg;

	if (!c->sess)
		return -1;
	return step(c, chal, n, resp);
}

static bool op_finished(void *arg)
{
	struct client_sasl *c = arg;

	return c->done;
}

struct client_sasl_ops client_sasl_ops(struct client_sasl *c)
{
	struct client_sasl_ops ops = { op_start, op_step, op_finished, c };

	return ops;
}
