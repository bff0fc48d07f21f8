/* Growable byte buffers that carry their own maximum (curl's dynbuf idea):
 * "too long" is a property of the buffer, not of each caller. */
#ifndef POSTERN_COMMON_BUF_H
#define POSTERN_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* hard upper bound on len */
};

#define BUF_OK 0
#define BUF_TOO_BIG -1 /* the append would pass max; nothing was appended */
#define BUF_NOMEM -2

void buf_init(struct buf *b, size_t max);
/* Free the storage; the buffer stays usable (empty) with the same max. */
void buf_fini(struct buf *b);
/* Room for need octets in all (at most max), allocated now: for a caller
 * that knows the usual size, so that appends do not grow it step by step. */
int buf_reserve(struct buf *b, size_t need);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Drop the first n bytes. */
void buf_consume(struct buf *b, size_t n);
static inline void buf_clear(struct buf *b) { b->len = 0; }

#endif
