/* `postern send`: connect, run the client session over the transport, and
 * turn the outcome into a plain explanation and an exit status. */
#ifndef POSTERN_CLIENT_SEND_H
#define POSTERN_CLIENT_SEND_H

#include <stdbool.h>
#include <stdio.h>

#include "client/session.h"

/* Exit statuses, after sysexits(3). */
enum client_exit {
	CLIENT_EXIT_OK = 0,
	CLIENT_EXIT_USAGE = 64,       /* EX_USAGE: bad arguments */
	CLIENT_EXIT_PERM = 65,        /* a 5xx, or a refusal of the client's own: fix something */
	CLIENT_EXIT_NOINPUT = 66,     /* EX_NOINPUT: the message or password file cannot be read */
	CLIENT_EXIT_UNAVAILABLE = 69, /* EX_UNAVAILABLE: no connection, timeout, TLS failure */
	CLIENT_EXIT_SOFTWARE = 70,    /* EX_SOFTWARE: out of memory, SASL library failure */
	CLIENT_EXIT_TEMP = 75,        /* EX_TEMPFAIL: a 4xx: try again later */
	CLIENT_EXIT_PROTOCOL = 76,    /* EX_PROTOCOL: the server's replies make no sense */
};

struct client_send_opts {
	const char *host;
	const char *port;
	enum client_tls_mode tls;
	bool verify;
	const char *cafile;
	const char *user;       /* NULL: no AUTH */
	const char *password;
	enum client_mech mech;  /* CLIENT_MECH_NONE: choose */
	const char *helo;
	const char *from;
	const char *const *rcpts;
	size_t nrcpts;
	const char *msg;        /* normalized (client_msg_normalize) */
	size_t msg_len;
	bool bdat;
	bool verbose;
	bool show_data;         /* -v shows the message's lines too */
	bool lmtp;              /* --protocol lmtp */
	enum client_quit_after quit_after;
	const char *sni;        /* --sni NAME */
	int tls_version;        /* 0, or TLS1_2_VERSION / TLS1_3_VERSION */
	const char *cert;       /* --cert F (and --key F) */
	const char *key;
	int timeout_ms;
	client_tr tr;           /* NULL: English */
	FILE *out;              /* transcript and the summary */
	FILE *err;              /* errors and advice */
};

/* Send the message; returns an enum client_exit value. */
int client_send(const struct client_send_opts *o);

/* The advice for a session that stopped: English msgid with its %s
 * arguments filled, into out. offered is the server's AUTH list. Pure. */
void client_send_advice(char *out, size_t cap, const struct client_result *r,
	const struct client_caps *caps, bool tls, client_tr tr);
/* The exit status for a session's result. Pure. */
int client_send_exit_code(const struct client_result *r);

#endif
