/* The message as the client sends it. Pure: the driver reads the file and
 * passes in the clock and a random token.
 * RFC 5321 §2.3.8: lines end with CRLF, so bare LF and bare CR in the input
 * become CRLF; §4.5.2: a line starting with "." gets another "." in DATA. */
#ifndef POSTERN_CLIENT_MESSAGE_H
#define POSTERN_CLIENT_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

/* Append in[0..n) to out with every line end made CRLF, ending with CRLF. */
int client_msg_normalize(struct buf *out, const char *in, size_t n);

struct client_msg_fields {
	const char *from;
	const char *const *to;
	size_t nto;
	const char *subject; /* NULL: none */
	const char *body;    /* NULL: empty */
	const char *date;    /* RFC 5322 date-time */
	const char *message_id; /* without the angle brackets */
};

/* A small message from the fields: From, To, Subject (RFC 2047 encoded when
 * it is not ASCII), Date, Message-ID, MIME headers when the body is UTF-8. */
int client_msg_build(struct buf *out, const struct client_msg_fields *f);

/* Append msg (already normalized) dot-stuffed, then the terminating ".\r\n". */
int client_msg_dot_stuff(struct buf *out, const char *msg, size_t n);

/* Whether any octet is >= 0x80 (BODY=8BITMIME, SMTPUTF8). */
bool client_msg_has_8bit(const char *s, size_t n);

#endif
