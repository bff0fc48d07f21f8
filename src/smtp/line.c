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

/* Where the line in[0..len) ends: *at, the index of its ending, and *term,
 * the ending's length. Strict: the first LF (a CR before it is the
 * caller's to judge). Lenient: the first CR or LF, a CR LF being one
 * ending. False when there is none yet (a CR last in the buffer may be the
 * first half of a CR LF). */
static bool line_end(const struct smtp_line_reader *r, const char *in, size_t len, size_t *at,
		     size_t *term)
{
	if (!r->lenient) {
		const char *lf = len ? memchr(in, '\n', len) : NULL;
		if (!lf)
			return false;
		*at = (size_t)(lf - in);
		*term = 1;
		return true;
	}
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\n') {
			*at = i;
			*term = 1;
			return true;
		}
		if (in[i] == '\r') {
			if (i + 1 == len)
				return false;
			*at = i;
			*term = in[i + 1] == '\n' ? 2 : 1;
			return true;
		}
	}
	return false;
}

enum smtp_line_status smtp_line_next(struct smtp_line_reader *r, const char *in, size_t len,
				     const char **line, size_t *line_len, size_t *used)
{
	*line = NULL;
	*line_len = 0;
	*used = 0;

	size_t end = 0, term = 0;
	bool ended = line_end(r, in, len, &end, &term);

	/* Octets that may be dropped while no ending is in sight: all but a CR
	 * last of all (lenient), which a LF may yet join. */
	size_t droppable = r->lenient && len && in[len - 1] == '\r' ? len - 1 : len;

	if (r->discarding) {
		/* The head of this line was already dropped; drop up to its end. */
		if (!ended) {
			*used = droppable;
			return SMTP_LINE_NEED_MORE;
		}
		*used = end + term;
		r->discarding = false;
		return SMTP_LINE_TOO_LONG;
	}

	if (!ended) {
		/* With `limit` octets and no ending yet the line cannot fit any
		 * more, so drop what we have: the caller never needs a bigger buffer. */
		if (len >= r->limit) {
			*used = droppable;
			r->discarding = true;
		}
		return SMTP_LINE_NEED_MORE;
	}

	size_t n = end;
	bool crlf = r->lenient || (n > 0 && in[n - 1] == '\r');
	if (!r->lenient && crlf)
		n--;
	*used = end + term;

	/* The limit counts the line as if it ended in CRLF, whatever it ended in. */
	if (n + 2 > r->limit)
		return SMTP_LINE_TOO_LONG;
	/* RFC 5321 §2.3.8: only CRLF ends a line; bare LF is refused unless the
	 * configuration says otherwise (lenient: a bare CR or LF ends one too,
	 * SPEC §1, so the line itself never holds either). */
	if (!crlf)
		return SMTP_LINE_BAD_ENDING;

	bool bad = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		/* A CR inside the line is refused: an OK line never holds CR or
		 * LF, so no later layer can split it differently. */
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
