/* libFuzzer target for the command-line reader (src/smtp/line.c).
 *
 * Input: byte 0 picks the mode (bit 0 lenient, bit 1 a small limit so short
 * inputs reach the limit paths), byte 1 the limit and the read sizes; the
 * rest is the byte stream from the client. The stream is fed in chunks into
 * a caller buffer of exactly `limit` octets, as the session does, and every
 * verdict is compared with a one-line-at-a-time reference model. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/line.h"

#define check(x) \
	do { \
		if (!(x)) \
			abort(); \
	} while (0)

/* Whether s[0..n) holds a line ending: LF; lenient, a CR too, except a
 * CR last of all, which may be the first half of a CR LF yet to come. */
static bool has_end(const struct smtp_line_reader *r, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\n' || (r->lenient && s[i] == '\r' && i + 1 < n))
			return true;
	return false;
}

/* What a whole line (through its ending) must yield; see line.h. */
static enum smtp_line_status reference(const struct smtp_line_reader *r, const uint8_t *s,
				       size_t n)
{
	size_t content = n - 1;
	bool crlf = content > 0 && s[content - 1] == '\r' && s[n - 1] == '\n';
	if (crlf)
		content--;
	if (content + 2 > r->limit)
		return SMTP_LINE_TOO_LONG;
	if (!crlf && !r->lenient)
		return SMTP_LINE_BAD_ENDING;
	bool bad = false;
	for (size_t i = 0; i < content; i++) {
		if (s[i] == '\r')
			return SMTP_LINE_BAD_ENDING;
		if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			bad = true;
	}
	return bad ? SMTP_LINE_BAD_OCTET : SMTP_LINE_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	struct smtp_line_reader r;
	smtp_line_reader_init(&r, SMTP_LINE_MIN, data[0] & 1);
	check(r.limit == SMTP_LINE_MIN && !r.discarding);
	if (data[0] & 2)
		r.limit = 3 + data[1] % 61; /* below the minimum: fuzzing reach only */
	size_t chunk = 1 + (size_t)(data[1] >> 2) * 7;
	const uint8_t *in = data + 2;
	size_t in_len = size - 2;

	char *buf = malloc(r.limit);
	check(buf != NULL);
	size_t have = 0, fed = 0;
	size_t line_start = 0; /* offset in `in` of the line being framed */
	size_t consumed = 0;   /* octets of `in` dropped by the reader */

	for (;;) {
		size_t room = r.limit - have;
		size_t n = in_len - fed < chunk ? in_len - fed : chunk;
		if (n > room)
			n = room;
		memcpy(buf + have, in + fed, n);
		have += n;
		fed += n;

		for (;;) {
			const char *line = (const char *)1;
			size_t line_len = 12345, used = 12345;
			enum smtp_line_status st = smtp_line_next(&r, buf, have, &line, &line_len, &used);
			check(used <= have);
			if (st == SMTP_LINE_NEED_MORE) {
				check(line == NULL && line_len == 0);
				if (used == 0) {
					/* waiting: no ending buffered, and room to read more */
					check(!has_end(&r, (const uint8_t *)buf, have));
					check(have < r.limit);
				}
				if (r.discarding)
					check(!has_end(&r, (const uint8_t *)buf, used));
			} else {
				/* exactly one whole line, through its ending (LF; lenient:
				 * CR LF, or a CR alone, or a LF alone) */
				bool crlf_end = used >= 2 && buf[used - 2] == '\r' && buf[used - 1] == '\n';
				size_t term = r.lenient && crlf_end ? 2 : 1;
				check(used > 0 && (buf[used - 1] == '\n' || (r.lenient && buf[used - 1] == '\r')));
				check(!has_end(&r, (const uint8_t *)buf, used - term));
				check(!r.discarding);
				size_t end = consumed + used; /* offset in `in` past the ending */
				check(end <= fed && (in[end - 1] == '\n' || r.lenient));
				check(st == reference(&r, in + line_start, end - line_start));
				if (st == SMTP_LINE_OK) {
					check(line == buf);
					check(line_len + 2 <= r.limit);
					check(used == line_len + 1 || used == line_len + 2);
					check(memchr(line, '\r', line_len) == NULL);
					check(memchr(line, '\n', line_len) == NULL);
					check(memcmp(line, in + line_start, line_len) == 0);
				} else {
					check(line == NULL && line_len == 0);
				}
				line_start = end;
			}
			memmove(buf, buf + used, have - used);
			have -= used;
			consumed += used;
			if (st == SMTP_LINE_NEED_MORE)
				break;
		}
		check(consumed + have == fed);
		if (fed == in_len)
			break;
	}
	/* what is left is the start of an unfinished line */
	check(!has_end(&r, in + line_start, in_len - line_start));
	free(buf);
	return 0;
}
