/* The -v transcript: each line the client sends as "C: ", each line the
 * server sends as "S: ", every reply annotated from the one table in
 * smtp/codes, each 334 challenge decoded beside its base64, and the
 * client's SASL responses decoded with their secrets masked. Pure. */
#ifndef POSTERN_CLIENT_TRANSCRIPT_H
#define POSTERN_CLIENT_TRANSCRIPT_H

#include <stddef.h>

#include "client/caps.h"
#include "client/reply_parse.h"
#include "common/buf.h"

typedef const char *(*client_transcript_tr)(const char *msgid);

#define CLIENT_MASK "********"

/* A command line (without its CRLF). */
int client_transcript_cmd(struct buf *out, const char *line, size_t n);
/* An AUTH command or a response line: prefix is "AUTH MECH" or "" and b64
 * the base64 response (empty when none); step 0 is the initial response,
 * 1 the answer to the first challenge, and so on. Secrets are masked in the
 * base64 and in the decoded text: PLAIN's password, LOGIN's password, the
 * SCRAM client proof. */
int client_transcript_auth(struct buf *out, enum client_mech mech, unsigned step,
	const char *prefix, const char *b64, size_t b64_len);
/* A message body: its size and line count, not its text. */
int client_transcript_body(struct buf *out, const char *cmd, size_t octets, size_t lines);
/* A whole reply: its lines, a 334's challenge decoded, and one annotation
 * line with the class and the meaning of the code (and the enhanced code). */
int client_transcript_reply(struct buf *out, const struct client_reply *r,
	client_transcript_tr tr);
/* A note of the client's own ("TLS handshake done: TLSv1.3 ..."). */
int client_transcript_note(struct buf *out, const char *text);

/* Append s[0..n) quoted for a terminal: printable ASCII and valid UTF-8 as
 * is, anything else as \xHH, \0, \r, \n, \t; '"' and '\' escaped. */
int client_transcript_quote(struct buf *out, const char *s, size_t n);

#endif
