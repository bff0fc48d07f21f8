/* `postern probe`: what a server offers (banner, EHLO keywords, TLS, AUTH
 * before and after TLS, SIZE) and quick checks of the behaviours postern
 * cares about, each PASS, FAIL or SKIP with the reply seen. */
#ifndef POSTERN_CLIENT_PROBE_H
#define POSTERN_CLIENT_PROBE_H

#include <stdbool.h>
#include <stdio.h>

#include "client/session.h"

struct client_probe_opts {
	const char *host;
	const char *port;
	bool tls;          /* implicit TLS */
	bool verify;
	const char *cafile;
	const char *helo;
	int timeout_ms;
	bool json;
	client_tr tr;
	FILE *out;
	FILE *err;
};

/* 0 every check passed or was skipped; 1 a check failed; else a
 * client_exit value (69 no connection or TLS, 76 not SMTP). */
int client_probe(const struct client_probe_opts *o);

/* What an EHLO keyword means (an English msgid), or NULL when unknown. */
const char *client_probe_keyword_meaning(const char *kw, size_t n);

#endif
