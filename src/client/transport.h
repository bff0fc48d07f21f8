/* The client's connection: a blocking-style TCP socket with a deadline on
 * every operation (the socket itself is non-blocking and waited on with
 * poll), and OpenSSL on top of it after STARTTLS or from the start. */
#ifndef POSTERN_CLIENT_TRANSPORT_H
#define POSTERN_CLIENT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "client/sasl_client.h"

enum client_net_err {
	CLIENT_NET_OK = 0,
	CLIENT_NET_RESOLVE,   /* the host name does not resolve */
	CLIENT_NET_REFUSED,   /* nobody listens there */
	CLIENT_NET_UNREACHABLE,
	CLIENT_NET_TIMEOUT,   /* the peer stayed silent past the deadline */
	CLIENT_NET_CLOSED,    /* the peer closed the connection */
	CLIENT_NET_IO,        /* another socket error */
	CLIENT_NET_TLS,       /* the handshake or a record failed */
	CLIENT_NET_TLS_VERIFY,/* the certificate does not verify for the host */
	CLIENT_NET_NOMEM,
};

struct client_tls_opts {
	bool verify;          /* check the chain and the host name */
	const char *cafile;   /* trust these instead of the system store */
	const char *host;     /* for SNI and the name check */
	const char *sni;      /* another name for SNI and the name check, or NULL */
	int version;          /* 0 (1.2 or later), or TLS1_2_VERSION / TLS1_3_VERSION only */
	const char *cert;     /* a client certificate chain (PEM), or NULL */
	const char *key;      /* its private key (PEM); NULL: in the cert file */
};

#define CLIENT_TLS_TEXT 256

struct client_tls_info {
	char version[32];
	char cipher[64];
	char subject[CLIENT_TLS_TEXT];
	char issuer[CLIENT_TLS_TEXT];
	char not_after[64];
	char verify[CLIENT_TLS_TEXT]; /* "ok" or why the chain does not verify */
	bool verified;
};

struct client_transport;

/* Connect to host:port within timeout_ms. err gets a one-line reason. */
enum client_net_err client_transport_connect(struct client_transport **out, const char *host,
	const char *port, int timeout_ms, char *err, size_t errlen);
void client_transport_close(struct client_transport *t);
/* The TLS handshake (implicit TLS, or after the 220 to STARTTLS). */
enum client_net_err client_transport_start_tls(struct client_transport *t,
	const struct client_tls_opts *opts, char *err, size_t errlen);
bool client_transport_tls_active(const struct client_transport *t);
/* Read what is there (at least one octet) into p[0..cap). */
enum client_net_err client_transport_read(struct client_transport *t, char *p, size_t cap,
	size_t *got, char *err, size_t errlen);
/* Write all of p[0..n). */
enum client_net_err client_transport_write(struct client_transport *t, const char *p, size_t n,
	char *err, size_t errlen);
/* The negotiated TLS session, for -v and probe. */
void client_transport_tls_info(struct client_transport *t, struct client_tls_info *info);
/* Channel binding data: tls-exporter on TLS 1.3 (RFC 9266), tls-unique on
 * 1.2 and below (RFC 5929 §3). out has room for 64 octets. */
int client_transport_cb(struct client_transport *t, enum client_cb_type *type,
	unsigned char *out, size_t *n);
/* The deadline for each following operation. */
void client_transport_set_timeout(struct client_transport *t, int timeout_ms);

#endif
