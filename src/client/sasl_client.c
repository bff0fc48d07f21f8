#include "client/sasl_client.h"

#include <gsasl.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"

struct client_sasl {
	Gsasl *ctx;
	Gsasl_session *sess;
	char *user, *password, *host;
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
	case GSASL_CB_TLS_EXPORTER:
		if (c->cb_type != CLIENT_CB_TLS_EXPORTER || !c->cb_b64)
			return GSASL_NO_CALLBACK;
		return gsasl_property_set(sess, prop, c->cb_b64);
	case GSASL_CB_TLS_UNIQUE:
		if (c->cb_type != CLIENT_CB_TLS_UNIQUE || !c->cb_b64)
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
	c->user = dup_str(user);
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
