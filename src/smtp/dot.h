/* The DATA and BDAT content readers. Pure and streaming: the caller feeds
 * input as it arrives and gets decoded content in bounded chunks.
 * DATA: dot-unstuffing (RFC 5321 §4.5.2); the end is recognised ONLY as
 * <CRLF>.<CRLF> (SMTP smuggling defence, CVE-2023-51764 class): <LF>.<LF>,
 * <LF>.<CRLF>, <CRLF>.<LF>, <CR>.<CR> are content. The DATA command's own CRLF
 * counts as the first CRLF, so a body "." CRLF at once is an empty message.
 *
 * Readings of this interface (dot.c implements them):
 * - Only a real CRLF starts a line. After a bare CR or bare LF a "." is plain
 *   content (not unstuffed, never an end), even when the bare newline is
 *   normalised to CRLF in the output.
 * - At a line start a "." followed by anything but CRLF is stuffing and is
 *   removed: "..x" -> ".x", "." LF -> a bare LF, "." CR x -> a bare CR, x.
 * - line_len / long_line are counted on the decoded (stored) octets, so the
 *   stuffing dot does not count (RFC 5321 §4.5.3.1.6). Every line end ends a
 *   line for this count: CRLF, and a bare CR or LF under either policy.
 * - size counts the octets produced; the final ".\r\n" is not content. */
#ifndef POSTERN_SMTP_DOT_H
#define POSTERN_SMTP_DOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum smtp_bare_newline { SMTP_BARE_NORMALIZE, SMTP_BARE_REJECT };

struct smtp_dot_reader {
	/* settings */
	enum smtp_bare_newline bare;
	size_t text_line_limit; /* 0: no limit; else longest line allowed incl. CRLF */
	/* results, valid at any time */
	uint64_t size;      /* decoded octets produced so far */
	bool saw_bare;      /* a bare CR or bare LF was seen in the content */
	bool long_line;     /* a line longer than text_line_limit was seen */
	/* internal state */
	int state;
	size_t line_len;
};

void smtp_dot_reader_init(struct smtp_dot_reader *r, enum smtp_bare_newline bare,
			  size_t text_line_limit);

enum smtp_dot_status { SMTP_DOT_MORE, SMTP_DOT_END };

/* Decode in[0..len) into out[0..out_cap). Sets *used (input consumed) and
 * *produced (octets written to out). Stops early when out is full
 * (out_cap >= 4 always makes progress). Returns SMTP_DOT_END once the final
 * <CRLF>.<CRLF> has been consumed; the octets after it are not consumed.
 * Content is stored with CRLF line ends: with SMTP_BARE_NORMALIZE a bare LF
 * or bare CR becomes CRLF; with SMTP_BARE_REJECT it is kept as is and
 * saw_bare is set (the caller refuses the message at the end).
 * A CR, a leading "." or "." CR at the end of in is consumed and held in
 * the reader until the next octet decides it, so any split of the input gives
 * the same output. Once SMTP_DOT_END has been returned, further calls consume
 * nothing and return SMTP_DOT_END again. */
enum smtp_dot_status smtp_dot_decode(struct smtp_dot_reader *r, const char *in, size_t len,
				     size_t *used, char *out, size_t out_cap, size_t *produced);

/* BDAT chunks (RFC 3030) carry raw octets, no dot-stuffing and no end marker:
 * the caller counts the chunk size. Same bare-newline and line-length
 * accounting as DATA unless binary (BODY=BINARYMIME), which is stored untouched.
 * A CR at the end of one chunk followed by LF at the start of the next is one
 * CRLF: the reader remembers it across calls. */
struct smtp_bdat_reader {
	enum smtp_bare_newline bare;
	size_t text_line_limit;
	bool binary;
	uint64_t size;
	bool saw_bare;
	bool long_line;
	bool pending_cr;
	size_t line_len;
};

void smtp_bdat_reader_init(struct smtp_bdat_reader *r, enum smtp_bare_newline bare,
			   size_t text_line_limit, bool binary);
/* Decode in[0..len) (all of it belongs to the message) into out; *used and
 * *produced as above, stops early when out is full. */
void smtp_bdat_decode(struct smtp_bdat_reader *r, const char *in, size_t len, size_t *used,
		      char *out, size_t out_cap, size_t *produced);
/* At BDAT LAST: flush a pending CR (a bare CR at the very end), as the
 * bare-newline policy says (CRLF or CR). Returns the octets written: 0 when
 * nothing was pending, or when out_cap < 2 (then the CR stays pending). */
size_t smtp_bdat_finish(struct smtp_bdat_reader *r, char *out, size_t out_cap);

#endif
