/* The server side of SASL (RFC 4422) behind a thin interface, in the
 * manner of Postfix's xsasl: the SMTP session owns the 334 framing,
 * base64, the line limit, "*" and the failure count; a backend owns the
 * mechanisms. One backend today: GNU SASL (libgsasl), which is only ever
 * asked to start a mechanism from an allow-list (SCRAM-SHA-256[-PLUS],
 * SCRAM-SHA-1[-PLUS], PLAIN, LOGIN, CRAM-MD5), never DIGEST-MD5, NTLM or
 * GSSAPI by accident. Credentials come from a creds database.
 *
 * A server (struct sasl_server) is shared by all threads. A session
 * (struct sasl_sess) is used by one thread at a time: it may be started on
 * one thread and stepped on others (the SMTP server steps it on its worker
 * pool, since checking a password costs milliseconds). */
#ifndef POSTERN_SASL_SASL_H
#define POSTERN_SASL_SASL_H

#include <stdbool.h>
#include <stddef.h>

#include "creds/creds.h"
#include "smtp/session.h"

/* The default advertised order: the mechanisms that never expose the
 * password first. */
#define SASL_DEFAULT_MECHANISMS "SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN"
#define SASL_MECH_NAME_MAX 20 /* RFC 4422 §3.1 */
#define SASL_USER_MAX 255

struct sasl_config {
	/* Advertised order, space- or comma-separated, from SCRAM-SHA-256,
	 * SCRAM-SHA-1, PLAIN, LOGIN, CRAM-MD5. NULL: the default. */
	const char *mechanisms;
	bool cram_md5;        /* CRAM-MD5 may be used (appended if not listed) */
	bool plaintext;       /* PLAIN and LOGIN without TLS */
	bool allow_authzid;   /* an authorization identity other than the user (no key sets it yet) */
	unsigned verify_cache_ttl; /* seconds a good PLAIN/LOGIN password stays cached; 0: off */
	/* auth_channel_binding = no: the -PLUS mechanisms are neither offered
	 * nor started (504), and no session learns the binding, so a client's
	 * "y" is not taken for a downgrade (RFC 5802 §6) */
	bool no_channel_binding;
	/* The key of unknown users' SCRAM salts (creds_secret_load), copied;
	 * NULL: one drawn at random (salts then change with each process). */
	const unsigned char *secret;
	const char *hostname; /* in CRAM-MD5's challenge; NULL: "localhost" */
};

/* Check a mechanism list as the config key gives it; 0, or -1 with err. */
int sasl_check_mechanisms(const char *list, bool cram_md5, char *err, size_t errlen);

struct sasl_server;

struct sasl_server *sasl_server_new(const struct sasl_config *cfg, char *err, size_t errlen);
void sasl_server_free(struct sasl_server *srv);

/* Channel binding (RFC 5056) for SCRAM-*-PLUS, filled by the TLS layer
 * after its handshake (tls-exporter, RFC 9266; tls-unique, RFC 5929). */
enum sasl_cb_type {
	SASL_CB_NONE,
	SASL_CB_TLS_EXPORTER,
	SASL_CB_TLS_UNIQUE,
};
#define SASL_CB_MAX 64
struct sasl_cb {
	enum sasl_cb_type type;
	unsigned char data[SASL_CB_MAX];
	size_t len;
};

/* What to put after "AUTH" in EHLO, in the configured order: PLAIN and LOGIN
 * only over TLS unless plaintext is allowed; SCRAM-*-PLUS just before its
 * SCRAM-* when channel binding data exists (cb) and is not turned off.
 * Stays valid as long as the server. */
const char *sasl_server_mechs(const struct sasl_server *srv, bool tls, bool cb);

enum sasl_start_status {
	SASL_START_OK,
	SASL_START_UNKNOWN,   /* not a mechanism we offer */
	SASL_START_NEEDS_TLS, /* PLAIN or LOGIN before TLS */
	SASL_START_TOO_WEAK,  /* known, but disabled by policy (CRAM-MD5 off) */
	SASL_START_TEMPFAIL,
};

struct sasl_sess;

/* Start an exchange. db is referenced for the life of the session; cb may
 * be NULL. mech is an upper-case name. */
enum sasl_start_status sasl_sess_start(struct sasl_server *srv, struct creds_db *db,
				       const char *mech, bool tls, const struct sasl_cb *cb,
				       struct sasl_sess **out);
/* Whether the server begins mech's exchange (CRAM-MD5), so that an initial
 * response to it is a protocol error (RFC 4954 §4: 501). */
bool sasl_mech_server_first(const char *mech);
/* The session's view of a start: which reply the SMTP layer gives. */
enum smtp_auth_start sasl_start_reply(enum sasl_start_status st);

enum sasl_step_status {
	SASL_STEP_CHALLENGE, /* send *out in a 334 */
	SASL_STEP_SUCCESS,
	SASL_STEP_FAILED,    /* wrong credentials or a malformed response: one answer */
	SASL_STEP_TEMPFAIL,  /* out of memory, credential store trouble */
};

/* One client response, decoded; in == NULL when AUTH had no initial
 * response. Blocking (a password check costs milliseconds): call it off
 * the event loop. *out is malloc'ed (NULL with *outlen 0 for an empty
 * challenge); the caller frees it. */
enum sasl_step_status sasl_sess_step(struct sasl_sess *s, const unsigned char *in, size_t len,
				     unsigned char **out, size_t *outlen);

const char *sasl_sess_mech(const struct sasl_sess *s);
/* The authentication identity the client gave, "" until known: for the
 * logs, and the user once the step said SUCCESS. */
const char *sasl_sess_user(const struct sasl_sess *s);
/* Why the last step failed, for the logs only: "malformed", "unknown user",
 * "wrong password", "no secret for this mechanism", "authzid refused"... */
const char *sasl_sess_reason(const struct sasl_sess *s);
void sasl_sess_free(struct sasl_sess *s);

#endif
