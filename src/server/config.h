/* posternd's configuration: defaults, the `key = value` file (libinih) and
 * command-line flags. Every key is documented in the README. */
#ifndef POSTERN_SERVER_CONFIG_H
#define POSTERN_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "queue/retry.h"
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
	char *lmtp;               /* store = lmtp: "HOST:PORT" or "unix:/path" */
	unsigned lmtp_concurrency; /* LMTP deliveries (and connections) at once */
	unsigned lmtp_connect_timeout, lmtp_timeout, lmtp_data_done_timeout; /* seconds */
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
	bool auth_channel_binding; /* offer SCRAM-*-PLUS over TLS (default yes) */
	unsigned auth_delay_max;  /* ms: cap of the delay before a 535 */
	unsigned auth_cache_ttl;  /* s: a good PLAIN/LOGIN password is not hashed again; 0: off */
	unsigned auth_checks_max; /* password checks queued or running at once; more get 454 */
	unsigned auth_checks_per_client; /* the same per client address (IPv6: /64); 0: no limit */
	unsigned auth_threads;    /* password check threads; 0: half the cores, at least 1 */
	/* TLS (RFC 3207, RFC 8314); smtp.require_tls and smtp.tls_available too */
	char *tls_cert;           /* PEM chain; NULL: no STARTTLS, no implicit TLS */
	char *tls_key;
	unsigned tls_handshake_timeout; /* seconds */
	char *user;               /* drop to this user after binding; NULL: stay */
	/* the queue (src/queue/) */
	char *queue_dir;
	char *control;            /* the control socket of postern queue */
	uint64_t queue_min_free;  /* octets; below: 452 4.3.1 to MAIL */
	char *retry_schedule;     /* parsed into retry by srv_config_finish */
	char *max_queue_lifetime;
	struct queue_retry retry;
};

/* How a key's value is read (Postfix's CONFIG_INT_TABLE and friends). */
enum srv_key_type {
	SRV_KEY_UINT,   /* a whole number from min to max */
	SRV_KEY_BOOL,   /* yes/no, true/false, on/off, 1/0 */
	SRV_KEY_CHOICE, /* one word of choices[]; the field holds its index */
	SRV_KEY_STR,    /* a non-empty string, owned (char *) */
	SRV_KEY_TEXT,   /* a string copied into a char array of the field's size */
	SRV_KEY_LIST,   /* words separated by spaces or commas, appended (char *[max]) */
};

#define SRV_KEY_CHOICES 4

/* One configuration key: everything the file parser, the flags, --help, the
 * sample config and the tests need. Adding a key is adding one entry to the
 * table in config_keys.c. */
struct srv_key {
	const char *key;        /* in the file: key = value */
	const char *alias;      /* another accepted spelling of key, or NULL */
	const char *flag;       /* the long flag without "--", or NULL: file only */
	char short_flag;        /* or 0 */
	const char *flag_sets;  /* a flag without argument: the value it sets */
	const char *arg;        /* the flag's argument in --help ("N", "FILE") */
	enum srv_key_type type;
	uint64_t min, max;      /* SRV_KEY_UINT; SRV_KEY_LIST: max is the most entries */
	const char *choices[SRV_KEY_CHOICES]; /* SRV_KEY_CHOICE */
	bool lower;             /* SRV_KEY_LIST: lower-case each entry */
	const char *def;        /* set by srv_config_defaults(); NULL: none, or see def_doc */
	const char *def_doc;    /* what the default is when def cannot say it */
	size_t offset, size;    /* the field in struct srv_config */
	size_t count_offset;    /* SRV_KEY_LIST: its size_t count */
	/* further check of a value (SRV_KEY_STR, SRV_KEY_TEXT): 0, or -1 with why */
	int (*check)(const char *value, char *why, size_t whylen);
	const char *help;       /* one line for --help and the sample config */
};

/* The table, in the order of --help and the sample config. */
extern const struct srv_key srv_config_keys[];
extern const size_t srv_config_nkeys;
/* The entry for key (or its alias), or NULL. */
const struct srv_key *srv_config_key(const char *key);

/* Fill defaults (the table's, and the host name from gethostname). */
void srv_config_defaults(struct srv_config *c);
void srv_config_free(struct srv_config *c);
/* Parse argv (and the config file it names, read first, then flags win).
 * On error writes a one-line reason naming the key or flag and returns -1;
 * returns 1 after --help, --version or --print-config-sample output (the
 * caller exits 0). */
int srv_config_load(struct srv_config *c, int argc, char **argv, char *err, size_t errlen);
/* Read key = value lines from f (name: the file's name, for errors). */
int srv_config_read(struct srv_config *c, FILE *f, const char *name, char *err, size_t errlen);
/* Set one key; used by the file parser, the flags and tests. */
int srv_config_set(struct srv_config *c, const char *key, const char *value, char *err,
		   size_t errlen);
/* Finish: derived values and cross-checks. */
int srv_config_finish(struct srv_config *c, char *err, size_t errlen);
/* --help, generated from the table */
void srv_config_usage(FILE *out, const char *prog);
/* A commented config file with every key and its default (posternd.conf.sample). */
void srv_config_sample(FILE *out);

#endif
