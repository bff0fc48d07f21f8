/* What a server offers in its EHLO reply (RFC 5321 §4.1.1.1) and which SASL
 * mechanism the client picks from it. Pure. */
#ifndef POSTERN_CLIENT_CAPS_H
#define POSTERN_CLIENT_CAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "client/reply_parse.h"

/* The mechanisms the client speaks, strongest first: the order of choice. */
enum client_mech {
	CLIENT_MECH_SCRAM_SHA_256_PLUS,
	CLIENT_MECH_SCRAM_SHA_1_PLUS,
	CLIENT_MECH_SCRAM_SHA_256,
	CLIENT_MECH_SCRAM_SHA_1,
	CLIENT_MECH_CRAM_MD5,
	CLIENT_MECH_PLAIN,
	CLIENT_MECH_LOGIN,
	CLIENT_MECH__COUNT,
	CLIENT_MECH_NONE = -1,
};

#define CLIENT_CAPS_AUTH_MAX 400 /* the AUTH line as offered, for messages */

struct client_caps {
	bool pipelining, eightbitmime, smtputf8, chunking, starttls, enhanced, dsn;
	bool has_size;
	uint64_t size;              /* SIZE n; 0 means "no fixed limit" (RFC 1870 §4) */
	unsigned mechs;             /* bit (1 << enum client_mech) for each offered */
	char auth[CLIENT_CAPS_AUTH_MAX]; /* every mechanism offered, space-separated */
};

/* Read an EHLO reply (its first line is the greeting, then one keyword a line). */
void client_caps_parse(struct client_caps *caps, const struct client_reply *ehlo);

/* The name of a mechanism ("SCRAM-SHA-256-PLUS"). */
const char *client_mech_name(enum client_mech m);
/* The mechanism called name (any case), or CLIENT_MECH_NONE. */
enum client_mech client_mech_by_name(const char *name);
/* Whether the mechanism sends the password itself (PLAIN, LOGIN). */
bool client_mech_exposes_password(enum client_mech m);

/* The strongest offered mechanism the client may use: -PLUS only when
 * channel binding is available, PLAIN and LOGIN only under TLS (RFC 4954
 * §4 and §14: a password in the clear is for the user to force). */
enum client_mech client_caps_choose_mech(const struct client_caps *caps, bool tls, bool cb);

#endif
