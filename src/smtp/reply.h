/* The one reply chokepoint: turns (code, enhanced code, text) into bytes.
 * Text lines are separated by '\n'; each becomes a line of a multi-line
 * reply ("250-..." then "250 ..."), and every line carries the same enhanced
 * code (RFC 2034 §3) unless esc is ESC_NONE. */
#ifndef POSTERN_SMTP_REPLY_H
#define POSTERN_SMTP_REPLY_H

#include "common/buf.h"
#include "smtp/codes.h"

struct smtp_reply {
	int code;
	enum smtp_esc esc;
	const char *text;
};

/* Append the formatted reply to out. Returns BUF_OK or a BUF_* error. */
int smtp_reply_format(struct buf *out, int code, enum smtp_esc esc, const char *text);

#endif
