/* The reply parser of every client side (RFC 5321 §4.2, §4.5.3.1.5; RFC
 * 2034 §3): postern's client (client/) and the LMTP store backend (store/).
 * It lives in smtp/ so that both reach it downwards; its names keep the
 * client_ prefix they were born with.
 * Pure and bounded: the caller feeds what it has read, complete lines are
 * consumed and copied into a caller-owned struct client_reply, and a reply
 * that breaks a limit or the grammar is an error, never a crash or a wait
 * for more. A server that sends garbage gets a one-line diagnosis. */
#ifndef POSTERN_SMTP_REPLY_PARSE_H
#define POSTERN_SMTP_REPLY_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including CRLF. */
#define CLIENT_REPLY_LINE_MAX 512
/* Most lines of one reply: a generous EHLO fits many times over. */
#define CLIENT_REPLY_LINES_MAX 100

enum client_reply_status {
	CLIENT_REPLY_MORE,        /* no complete reply yet: read more, feed again */
	CLIENT_REPLY_DONE,        /* *reply is complete */
	CLIENT_REPLY_ERR_LONG,    /* a line longer than CLIENT_REPLY_LINE_MAX */
	CLIENT_REPLY_ERR_SYNTAX,  /* not "ddd", "ddd text" or "ddd-text", or a control octet */
	CLIENT_REPLY_ERR_CODE,    /* a continuation line with another code */
	CLIENT_REPLY_ERR_LINES,   /* more than CLIENT_REPLY_LINES_MAX lines */
};

struct client_reply {
	int code;      /* 200..599 */
	size_t nlines;
	/* line i is text + off[i], len[i] octets, NUL-terminated; it is the
	 * text after "ddd-" / "ddd " (the enhanced code, if any, included) */
	size_t off[CLIENT_REPLY_LINES_MAX];
	size_t len[CLIENT_REPLY_LINES_MAX];
	char text[CLIENT_REPLY_LINES_MAX * CLIENT_REPLY_LINE_MAX];
	size_t text_len;
	/* the enhanced status code of the first line when it has one whose
	 * class matches the reply's first digit (RFC 2034 §3), else cls == 0 */
	int cls, subject, detail;
};

struct client_reply_parser {
	bool started; /* a first line has been taken into the reply */
};

void client_reply_parser_init(struct client_reply_parser *p);

/* Take complete lines from in[0..len) into *reply. Always sets *used (the
 * octets to drop from the front of the input). A line ends with LF; a CR
 * before it is dropped, so bare-LF servers are understood. Returns MORE when
 * every complete line was taken and the reply goes on (or no line is
 * complete yet: at most CLIENT_REPLY_LINE_MAX - 1 octets are then left
 * unconsumed), DONE when the last line was taken. After DONE or an error the
 * parser is ready for the next reply. */
enum client_reply_status client_reply_parse(struct client_reply_parser *p,
	struct client_reply *reply, const char *in, size_t len, size_t *used);

/* Line i of the reply (NUL-terminated) and its length. */
static inline const char *client_reply_line(const struct client_reply *r, size_t i, size_t *len)
{
	if (len)
		*len = r->len[i];
	return r->text + r->off[i];
}

/* The text of line i without the enhanced code and the space after it. */
const char *client_reply_line_text(const struct client_reply *r, size_t i);

/* A short English message (a msgid) for an error status. */
const char *client_reply_strerror(enum client_reply_status st);

#endif
