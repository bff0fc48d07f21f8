#include "common/escape.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The length of the sequence a lead octet starts (2..4), or 0. */
static size_t lead_len(unsigned char c)
{
	return c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
}

size_t esc_utf8_len(const unsigned char *s, size_t n)
{
	static const unsigned min_of[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t k = lead_len(s[0]);
	if (k == 0 || n < k)
		return 0;
	unsigned min = min_of[k], cp = s[0] & (0x7f >> k);
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

bool esc_utf8_unfinished(const unsigned char *s, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return false;
	return n < lead_len(s[0]);
}

size_t esc_printable_utf8_len(const unsigned char *s, size_t n)
{
	size_t k = esc_utf8_len(s, n);
	return k == 2 && s[0] == 0xc2 && s[1] < 0xa0 ? 0 : k;
}

size_t esc_step(enum esc_style style, const unsigned char *s, size_t n, char out[ESC_STEP_MAX])
{
	unsigned char c = s[0];
	if (c == '"' || c == '\\') {
		out[0] = '\\', out[1] = (char)c, out[2] = '\0';
		return 1;
	}
	if (style == ESC_JSON || style == ESC_TERMINAL) {
		static const char named[][3] = { ['\n'] = "\\n", ['\r'] = "\\r", ['\t'] = "\\t" };
		/* JSON names \n only (as the explain output always did) */
		if (c == '\n' || (style == ESC_TERMINAL && (c == '\r' || c == '\t' || c == 0))) {
			memcpy(out, c ? named[c] : "\\0", 3);
			return 1;
		}
	}
	size_t k;
	if (style == ESC_TERMINAL && c >= 0x80 && (k = esc_printable_utf8_len(s, n)) > 0) {
		memcpy(out, s, k);
		out[k] = '\0';
		return k;
	}
	bool plain = style == ESC_TERMINAL ? (c >= 0x20 && c < 0x7f)
		   : style == ESC_JSON	   ? c >= 0x20
					   : (c >= 0x20 && c != 0x7f);
	if (plain)
		out[0] = (char)c, out[1] = '\0';
	else
		snprintf(out, ESC_STEP_MAX, style == ESC_JSON ? "\\u%04x" : "\\x%02x", c);
	return 1;
}

int esc_append(struct buf *b, enum esc_style style, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	int rc = BUF_OK;
	char piece[ESC_STEP_MAX];
	for (size_t i = 0; i < n && rc == BUF_OK;) {
		i += esc_step(style, u + i, n - i, piece);
		rc = buf_append_str(b, piece);
	}
	return rc;
}
