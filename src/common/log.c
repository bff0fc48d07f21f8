#include "common/log.h"

#include "common/escape.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_threshold = LOG_INFO;

/* Lines held by log_hold on this thread. PIPE_BUF octets at most: one
 * write of them is atomic on a pipe, so other threads' lines never land
 * inside them (nor in the middle of a line, on a stream socket either). */
static _Thread_local struct {
	unsigned depth;
	size_t len;
	char data[PIPE_BUF];
} held;

static void held_write(void)
{
	if (held.len) {
		ssize_t w = write(STDERR_FILENO, held.data, held.len);
		(void)w;
	}
	held.len = 0;
}

void log_set_level(enum log_level lvl)
{
	log_threshold = lvl;
}

bool log_enabled(enum log_level lvl)
{
	return lvl >= log_threshold;
}

/* A line longer than the buffer is cut where it still parses: a quoted
 * value cut short is closed, and the line says it was cut (a logfmt reader
 * would otherwise lose the whole line). The new length (< max). */
static size_t cut_line(char *line, size_t max)
{
	static const char mark[] = "\" truncated=yes";
	size_t len = max - (sizeof(mark) - 1);
	bool quoted = false;
	size_t i = 0;
	for (; i < len; i++) {
		if (quoted && line[i] == '\\') {
			if (i + 1 == len) { /* an escape cut in two goes */
				len = i;
				break;
			}
			i++; /* an escaped octet: stays whole */
		} else if (line[i] == '"') {
			quoted = !quoted;
		}
	}
	const char *tail = quoted ? mark : mark + 1;
	memcpy(line + len, tail, strlen(tail));
	return len + strlen(tail);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };
	if (lvl < log_threshold)
		return;
	char line[2048];
	struct timeval tv;
	gettimeofday(&tv, NULL);
	/* the date and time to the second, made once a second per thread
	 * (gmtime_r takes glibc's time zone lock) */
	static _Thread_local time_t stamped = -1;
	static _Thread_local char stamp[64];
	if (tv.tv_sec != stamped) {
		struct tm tm;
		gmtime_r(&tv.tv_sec, &tm);
		snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		stamped = tv.tv_sec;
	}
	int n = snprintf(line, sizeof(line), "ts=%s.%03ldZ level=%s ", stamp,
			 (long)(tv.tv_usec / 1000), names[lvl]);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(line) - 2)
		len = cut_line(line, sizeof(line) - 2);
	line[len++] = '\n';
	if (held.depth) {
		_Static_assert(sizeof(line) <= sizeof(held.data), "a held line fits");
		if (held.len + len > sizeof(held.data))
			held_write();
		memcpy(held.data + held.len, line, len);
		held.len += len;
		return;
	}
	/* one write per line: lines from several threads never interleave */
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

void log_hold(void)
{
	held.depth++;
}

void log_release(void)
{
	if (held.depth && --held.depth == 0)
		held_write();
}

const char *log_quote(char *out, unsigned long outlen, const char *v)
{
	unsigned long o = 0;
	if (outlen < 3) {
		if (outlen)
			out[0] = '\0';
		return out;
	}
	out[o++] = '"';
	const unsigned char *p = (const unsigned char *)v;
	size_t n = strlen(v);
	char piece[ESC_STEP_MAX];
	for (size_t i = 0; i < n;) {
		size_t used = esc_step(ESC_LOGFMT, p + i, n - i, piece);
		size_t len = strlen(piece);
		if (o + len + 2 > outlen) /* room for the closing quote and NUL */
			break;
		memcpy(out + o, piece, len);
		o += len;
		i += used;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}
