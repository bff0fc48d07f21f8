#include "common/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void buf_fini(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

int buf_reserve(struct buf *b, size_t need)
{
	if (need <= b->cap)
		return BUF_OK;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > (SIZE_MAX / 2) ? need : cap * 2;
	if (cap > b->max)
		cap = b->max;
	char *p = realloc(b->data, cap);
	if (!p)
		return BUF_NOMEM;
	b->data = p;
	b->cap = cap;
	return BUF_OK;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (n > b->max - b->len)
		return BUF_TOO_BIG;
	if (n == 0)
		return BUF_OK;
	int rc = buf_reserve(b, b->len + n);
	if (rc != BUF_OK)
		return rc;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return BUF_OK;
}

int buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return BUF_NOMEM;
	if ((size_t)n > b->max - b->len)
		return BUF_TOO_BIG;
	/* +1 for vsnprintf's NUL, which is not counted in len */
	size_t need = b->len + (size_t)n + 1;
	if (need > b->max) {
		/* room for the text but not the NUL: format into a scratch copy */
		char *tmp = malloc((size_t)n + 1);
		if (!tmp)
			return BUF_NOMEM;
		vsnprintf(tmp, (size_t)n + 1, fmt, ap);
		int rc = buf_append(b, tmp, (size_t)n);
		free(tmp);
		return rc;
	}
	int rc = buf_reserve(b, need);
	if (rc != BUF_OK)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return BUF_OK;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}
