/* The one escaper: how a string is written inside double quotes in a log
 * line (logfmt), in JSON, or on a terminal. */
#ifndef POSTERN_COMMON_ESCAPE_H
#define POSTERN_COMMON_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

enum esc_style {
	ESC_LOGFMT,   /* \" \\, control octets and DEL as \xNN, the rest as is */
	ESC_JSON,     /* \" \\ \n, other control octets as \u00NN (RFC 8259 §7) */
	ESC_TERMINAL, /* \" \\ \0 \r \n \t, printable ASCII and valid UTF-8 but
		       * C1 controls as is, any other octet as \xNN: nothing a
		       * terminal would act on */
};

#define ESC_STEP_MAX 8 /* the longest piece esc_step writes, NUL included */

/* The piece of escaped text for s[0] (or the UTF-8 sequence it starts) into
 * out, NUL-terminated; returns the octets of s consumed (1 to 4, n >= 1). */
size_t esc_step(enum esc_style style, const unsigned char *s, size_t n, char out[ESC_STEP_MAX]);
/* Append s[0..n) escaped (without the surrounding quotes); a BUF_* status. */
int esc_append(struct buf *b, enum esc_style style, const char *s, size_t n);
/* Length of a valid UTF-8 sequence at s (2..4; RFC 3629: no overlong form,
 * no surrogate, nothing above U+10FFFF), or 0. */
size_t esc_utf8_len(const unsigned char *s, size_t n);
/* Whether s[0..n) (n >= 1) is the start of a UTF-8 sequence that more
 * octets could complete: text that comes in pieces waits for them. */
bool esc_utf8_unfinished(const unsigned char *s, size_t n);
/* As esc_utf8_len, but 0 for the C1 controls U+0080..U+009F too: a terminal
 * acts on them (U+009B is CSI) as on ESC. */
size_t esc_printable_utf8_len(const unsigned char *s, size_t n);

#endif
