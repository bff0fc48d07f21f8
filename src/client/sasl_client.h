/* The client side of SASL over GNU SASL: PLAIN, LOGIN, CRAM-MD5,
 * SCRAM-SHA-1/256 and their -PLUS forms with channel binding (RFC 5802
 * §6; tls-exporter RFC 9266 on TLS 1.3, tls-unique RFC 5929 before).
 * Plugs into client_session through struct client_sasl_ops. */
#ifndef POSTERN_CLIENT_SASL_CLIENT_H
#define POSTERN_CLIENT_SASL_CLIENT_H

#include "client/session.h"

enum client_cb_type { CLIENT_CB_NONE, CLIENT_CB_TLS_UNIQUE, CLIENT_CB_TLS_EXPORTER };

struct client_sasl;

/* user and password are copied; the password is wiped on free. */
struct client_sasl *client_sasl_new(const char *user, const char *password, const char *host);
void client_sasl_free(struct client_sasl *c);
/* The channel binding of the TLS session (raw octets), once TLS runs. */
int client_sasl_set_cb(struct client_sasl *c, enum client_cb_type type, const void *data, size_t n);
/* The ops for client_session_cfg.sasl. */
struct client_sasl_ops client_sasl_ops(struct client_sasl *c);
/* The last GNU SASL error, as text ("" when none). */
const char *client_sasl_error(const struct client_sasl *c);

#endif
