/* `postern send` without --server: the mail exchangers of the first
 * recipient's domain (RFC 5321 5.1), looked up with c-ares (DESIGN.md's
 * choice for DNS), against the system's name servers or --resolver. */
#ifndef POSTERN_CLIENT_MX_H
#define POSTERN_CLIENT_MX_H

#include <stddef.h>

#define CLIENT_MX_MAX 10
#define CLIENT_MX_NAME 256

struct client_mx {
	char name[CLIENT_MX_NAME];  /* the exchanger's host name (for TLS) */
	char addr[64];              /* its address, resolved through the same servers */
	int preference;
};

/* Look up domain's MX hosts in preference order and resolve each, at most
 * CLIENT_MX_MAX. No MX record: the domain itself (the implicit MX). A null
 * MX ("0 .", RFC 7505): an error. resolver is NULL or "IP[:PORT]" (IPv6 in
 * brackets). 0 with *n >= 1, or -1 with a one-line reason in err. */
int client_mx_lookup(const char *domain, const char *resolver, int timeout_ms,
	struct client_mx *out, size_t *n, char *err, size_t errlen);

#endif
