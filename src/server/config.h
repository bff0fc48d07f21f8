/* posternd's configuration: defaults, the `key = value` file (libinih) and
 * command-line flags. Every key is documented in the README. */
#ifndef POSTERN_SERVER_CONFIG_H
#define POSTERN_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp/session.h"
#include "store/store.h"

#define SRV_MAX_LISTEN 16
#define SRV_MAX_DOMAINS 64

/* What a listener speaks; each kind has its config key and flag. */
enum srv_listen_kind {
	SRV_LISTEN_SMTP,        /* listen: SMTP, STARTTLS once a certificate is set */
	SRV_LISTEN_TLS,         /* listen_tls: SMTP over implicit TLS (RFC 8314) */
	SRV_LISTEN_SUBMISSION,  /* listen_submission: message submission (RFC 6409): AUTH
				 * before MAIL, and STARTTLS before that when a certificate is set */
	SRV_LISTEN_SUBMISSIONS, /* listen_submissions: submission over implicit TLS (RFC 8314 §3.3) */
	SRV_LISTEN_KINDS
};
/* "listen", "listen_tls", "listen_submission", "listen_submissions" */
const char *srv_listen_key(enum srv_listen_kind k);
bool srv_listen_implicit_tls(enum srv_listen_kind k);
bool srv_listen_is_submission(enum srv_listen_kind k);

struct srv_config {
	struct smtp_config smtp;  /* what the protocol core needs */
	struct smtp_config submission; /* the same for submission listeners: AUTH (and TLS) required */
	char hostname[256];
	char banner[256];
	char *listen[SRV_LISTEN_KINDS][SRV_MAX_LISTEN]; /* addresses per kind, at most
							 * SRV_MAX_LISTEN in all */
	size_t nlisten[SRV_LISTEN_KINDS];
	char *domains[SRV_MAX_DOMAINS]; /* lower-cased */
	size_t ndomains;
	enum store_kind store;
	char *maildir;
	char *recipients_file;    /* NULL: every local part of a local domain is accepted */
	unsigned max_connections;
	unsigned max_connections_per_ip;
	bool limit_loopback;      /* apply max_connections_per_ip to 127/8 and ::1 too */
	unsigned command_timeout; /* seconds */
	unsigned shutdown_timeout;
	unsigned workers;         /* event loops; 0: one per core */
	char *config_file;
	bool log_debug;
	/* AUTH (RFC 4954); smtp.require_auth and smtp.max_auth_failures too */
	char *users_file;         /* NULL: AUTH is not offered */
	char *auth_mechanisms;    /* advertised order; NULL: SASL_DEFAULT_MECHANISMS */
	bool cram_md5;
	bool auth_plaintext;      /* PLAIN and LOGIN without TLS */
	unsigned auth_delay_max;  /* ms: cap of the delay before a 535 */
	unsigned auth_cache_ttl;  /* s: a good PLAIN/LOGIN password is not hashed again; 0: off */
	/* TLS (RFC 3207, RFC 8314); smtp.require_tls and smtp.tls_available too */
	char *tls_cert;           /* PEM chain; NULL: no STARTTLS, no implicit TLS */
	char *tls_key;
	unsigned tls_handshake_timeout; /* seconds */
	char *user;               /* drop to this user after binding; NULL: stay */
};

#define SRV_DEFAULT_AUTH_DELAY_MAX 8000

/* Fill defaults (hostname from gethostname). */
void srv_config_defaults(struct srv_config *c);
void srv_config_free(struct srv_config *c);
/* Parse argv (and the config file it names, read first, then flags win).
 * On error writes a one-line reason naming the key or flag and returns -1;
 * returns 1 after --help/--version output (the caller exits 0). */
int srv_config_load(struct srv_config *c, int argc, char **argv, char *err, size_t errlen);
/* Set one key; used by the file parser and by tests. */
int srv_config_set(struct srv_config *c, const char *key, const char *value, char *err,
		   size_t errlen);
/* Finish: derived values and cross-checks. */
int srv_config_finish(struct srv_config *c, char *err, size_t errlen);
void srv_config_usage(const char *prog);

#endif
