/* Command-line framing (RFC 5321 §2.3.8, §4.5.3.1.4). Pure: takes a buffer,
 * allocates nothing, and says "need more", "a line of n octets" or "bad line".
 * The reader keeps a little state so that an over-long line can be discarded
 * as it streams in, without ever holding more than the limit. */
#ifndef POSTERN_SMTP_LINE_H
#define POSTERN_SMTP_LINE_H

#include <stdbool.h>
#include <stddef.h>

#define SMTP_LINE_MIN 512 /* RFC 5321 §4.5.3.1.4, including CRLF */

enum smtp_line_status {
	SMTP_LINE_NEED_MORE,  /* no complete line yet; *used octets may still be consumed (discarding) */
	SMTP_LINE_OK,         /* a line: *line / *line_len exclude the CRLF */
	SMTP_LINE_TOO_LONG,   /* a line longer than the limit ended; all of it consumed */
	SMTP_LINE_BAD_ENDING, /* strict mode: bare LF at the end, or a bare CR inside */
	SMTP_LINE_BAD_OCTET,  /* NUL or another control octet (except HT) in the line */
};

struct smtp_line_reader {
	size_t limit;     /* maximum line length including CRLF (>= SMTP_LINE_MIN) */
	bool lenient;     /* a bare LF or a bare CR ends a line too (SPEC §1: "as if CRLF") */
	/* Reading of `lenient`: it changes only how a line may END: at the
	 * first CR or LF, CR LF being one ending; so "NOOP\rNOOP\r\n" is two
	 * lines, and an OK line never contains CR or LF, in either mode. */
	bool discarding;  /* inside an over-long line, dropping octets until its end */
};

/* A limit below SMTP_LINE_MIN is raised to SMTP_LINE_MIN. */
void smtp_line_reader_init(struct smtp_line_reader *r, size_t limit, bool lenient);

/* Look at in[0..len). Always sets *used (octets the caller must drop from
 * the front of its input). On SMTP_LINE_OK sets *line and *line_len to the
 * line without its ending (pointing into in). A non-OK status other than
 * NEED_MORE means one whole bad line was consumed: answer it and go on.
 *
 * Readings of this contract:
 * - A line is TOO_LONG when its content + 2 (for CRLF) > limit, whatever it
 *   actually ended with. So with limit 512, 510 octets + CRLF is OK and
 *   511 octets + CRLF is TOO_LONG.
 * - Once `limit` octets are buffered without an ending the line cannot fit,
 *   so they are consumed (*used = len, NEED_MORE; lenient: all but a CR last
 *   of all, which a LF may join) and the reader discards until the ending,
 *   which yields TOO_LONG. A caller's buffer of `limit` octets is therefore
 *   always enough.
 * - When a line has several faults, the order is TOO_LONG, then BAD_ENDING,
 *   then BAD_OCTET. Octets >= 0x80 are allowed (RFC 6531). */
enum smtp_line_status smtp_line_next(struct smtp_line_reader *r, const char *in, size_t len,
				     const char **line, size_t *line_len, size_t *used);

#endif
