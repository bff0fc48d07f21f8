#include "smtp/reply.h"

#include <string.h>

int smtp_reply_format(struct buf *out, int code, enum smtp_esc esc, const char *text)
{
	/* RFC 3463 has no class 3: 3xx replies never carry an enhanced code. */
	if (code / 100 == 3)
		esc = ESC_NONE;
	const char *p = text ? text : "";
	int rc = BUF_OK;
	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char sep = nl ? '-' : ' ';
		if (esc == ESC_NONE)
			rc = buf_printf(out, "%03d%c", code, sep);
		else
			rc = buf_printf(out, "%03d%c%d.%d.%d ", code, sep, code / 100,
					(int)esc / 100, (int)esc % 100);
		if (rc == BUF_OK)
			rc = buf_append(out, p, n);
		if (rc == BUF_OK)
			rc = buf_append(out, "\r\n", 2);
		if (rc != BUF_OK || !nl)
			return rc;
		p = nl + 1;
	}
}
