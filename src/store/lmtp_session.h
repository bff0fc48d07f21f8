/* The LMTP client session (RFC 2033): a pure state machine fed the server's
 * bytes, in the manner of client/session.h. It queues commands in `out` for
 * the driver (store/lmtp.c) to write and says what to do next; the message
 * body goes through it in chunks (dot-stuffed on the way), so memory stays
 * bounded. No sockets, no clock, no file I/O.
 *
 * Its steps: greeting, LHLO, then for each message MAIL, one RCPT per
 * recipient, DATA (pipelined when the server offers PIPELINING, RFC 2920,
 * and the envelope fits in `out`),
 * the body, and one reply per accepted recipient (RFC 2033 §4.2). After a
 * message the session is ready for the next one on the same connection. */
#ifndef POSTERN_STORE_LMTP_SESSION_H
#define POSTERN_STORE_LMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "smtp/reply_parse.h"

/* What `out` may hold at once: commands, or one body chunk of at most
 * LMTP_BODY_CHUNK octets after dot-stuffing (which at most doubles it). */
#define LMTP_BODY_CHUNK ((size_t)64 * 1024)
#define LMTP_OUT_MAX (2 * LMTP_BODY_CHUNK + 4096)

enum lmtp_event {
	LMTP_EV_NONE,   /* write `out`, then read more and feed again */
	LMTP_EV_READY,  /* LHLO done, or the last message finished: start one */
	LMTP_EV_BODY,   /* DATA got 354: write `out`, then the body through
			 * lmtp_session_body() and lmtp_session_body_end() */
	LMTP_EV_DONE,   /* every recipient of the message has its reply; the
			 * session is ready for the next message */
	LMTP_EV_CLOSED, /* the connection is of no more use (421, EOF, a reply
			 * that makes no sense): close it; recipients without a
			 * reply have code 0 and lmtp_session_error() says why */
};

struct lmtp_msg {
	const char *sender; /* without brackets, "" for <> */
	const char *const *rcpts;
	size_t nrcpts;
	bool smtputf8; /* the client asked for SMTPUTF8 (RFC 6531) */
	bool eightbit; /* BODY=8BITMIME (RFC 6152) */
	bool has_8bit; /* the body has an octet above 127, declared or not */
	bool utf8_headers; /* with smtputf8: UTF-8 in the header section (RFC 6532) */
};

struct lmtp_rcpt_result {
	int code;                         /* 0: no reply (see lmtp_session_error) */
	char text[CLIENT_REPLY_LINE_MAX]; /* the reply's first line, code included */
};

struct lmtp_session;

struct lmtp_session *lmtp_session_new(const char *lhlo_name);
void lmtp_session_free(struct lmtp_session *s);

/* Bytes to write to the server; the driver writes them all and clears it. */
struct buf *lmtp_session_out(struct lmtp_session *s);

/* Feed what was read; sets *used (the rest stays with the caller). */
enum lmtp_event lmtp_session_feed(struct lmtp_session *s, const char *in, size_t len,
				  size_t *used);
/* The server closed the connection, or the driver gave up on it. */
enum lmtp_event lmtp_session_eof(struct lmtp_session *s, const char *why);

/* Start a message (only after READY or DONE). Returns NONE with the
 * commands in `out`, DONE when it was decided without the server (an
 * address needs SMTPUTF8 and the server lacks it: 553 5.6.7 for all), or
 * CLOSED when out of memory. The strings are copied. */
enum lmtp_event lmtp_session_start(struct lmtp_session *s, const struct lmtp_msg *m);
/* After LMTP_EV_BODY: message octets (CRLF line ends), at most
 * LMTP_BODY_CHUNK per call; `out` must have been written and cleared. */
void lmtp_session_body(struct lmtp_session *s, const char *p, size_t n);
/* The end of the body: CRLF if it did not end with one, then ".". */
void lmtp_session_body_end(struct lmtp_session *s);

/* Recipient i's reply for the current (or last) message. */
const struct lmtp_rcpt_result *lmtp_session_rcpt(const struct lmtp_session *s, size_t i);
/* Why the connection ended, for recipients without a reply ("" if it did not). */
const char *lmtp_session_error(const struct lmtp_session *s);
/* "." is sent and its replies are awaited: the server is delivering, which
 * RFC 5321 §4.5.3.2.6 gives 10 minutes (a timeout there means a copy more). */
bool lmtp_session_after_dot(const struct lmtp_session *s);

#endif
