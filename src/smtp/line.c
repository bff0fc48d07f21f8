/* Command-line framing: see line.h for the contract. */
#include "smtp/line.h"

#include <string.h>

void smtp_line_reader_init(struct smtp_line_reader *r, size_t limit, bool lenient)
{
	/* RFC 5321 §4.5.3.1.4: a server must accept at least 512 octets. */
	r->limit = limit < SMTP_LINE_MIN ? SMTP_LINE_MIN : limit;
	r->lenient = lenient;
	r->discarding = false;
}

/* Octets a command line may not carry: NUL and the other C0 controls except
 * HT, and DEL. CR and LF are judged separately as line endings. */
static bool bad_octet(unsigned char c)
{
	return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f;
}

enum smtp_line_status smtp_line_next(struct smtp_line_reader *r, const char *in, size_t len,
				     const char **line, size_t *line_len, size_t *used)
{
	*line = NULL;
	*line_len = 0;
	*used = 0;

	const char *lf = len ? memchr(in, '\n', len) : NULL;

	if (r->discarding) {
		/* The head of this line was already dropped; drop up to its LF. */
		if (lf == NULL) {
			*used = len;
			return SMTP_LINE_NEED_MORE;
		}
		*used = (size_t)(lf - in) + 1;
		r->discarding = false;
		return SMTP_LINE_TOO_LONG;
	}

	if (lf == NULL) {
		/* With `limit` octets and no LF yet the line cannot fit any more,
		 * so drop what we have: the caller never needs a bigger buffer. */
		if (len >= r->limit) {
			*used = len;
			r->discarding = true;
		}
		return SMTP_LINE_NEED_MORE;
	}

	size_t end = (size_t)(lf - in); /* index of the LF */
	size_t n = end;
	bool crlf = n > 0 && in[n - 1] == '\r';
	if (crlf)
		n--;
	*used = end + 1;

	/* The limit counts the line as if it ended in CRLF, whatever it ended in. */
	if (n + 2 > r->limit)
		return SMTP_LINE_TOO_LONG;
	/* RFC 5321 §2.3.8: only CRLF ends a line; bare LF is refused unless the
	 * configuration says otherwise. */
	if (!crlf && !r->lenient)
		return SMTP_LINE_BAD_ENDING;

	bool bad = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		/* A CR inside the line is refused even in lenient mode: an OK line
		 * never holds CR or LF, so no later layer can split it differently. */
		if (c == '\r')
			return SMTP_LINE_BAD_ENDING;
		if (bad_octet(c))
			bad = true;
	}
	if (bad)
		return SMTP_LINE_BAD_OCTET;

	*line = in;
	*line_len = n;
	return SMTP_LINE_OK;
}
