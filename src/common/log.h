/* One log line per event, logfmt on stderr (as under systemd): key=value
 * pairs, values quoted when needed. Never message content, never secrets. */
#ifndef POSTERN_COMMON_LOG_H
#define POSTERN_COMMON_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level lvl);
/* Whether a line at lvl would be written (skip building costly values). */
bool log_enabled(enum log_level lvl);
/* fmt is a sequence of "key=%s" style pairs; %q quotes is not supported:
 * call log_quote() for free-form values. */
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Lines logged on this thread between log_hold() and log_release() go out
 * together, in as few writes as fit (PIPE_BUF octets each), in order: for
 * a burst of lines, such as one per message of a batch. Calls nest. */
void log_hold(void);
void log_release(void);
/* Quote v for logfmt into out (always quoted, \" and \\ escaped, control
 * octets as \xNN); returns out. */
const char *log_quote(char *out, unsigned long outlen, const char *v);

#endif
