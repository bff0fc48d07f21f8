/* When to try a deferred message again (pure). Postfix's model: the delay
 * grows with each failed attempt up to a ceiling, and a message older than
 * max_queue_lifetime is given up. */
#ifndef POSTERN_QUEUE_RETRY_H
#define POSTERN_QUEUE_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUEUE_RETRY_STEPS_MAX 32
/* Postfix: minimal_backoff_time 300s doubling up to maximal_backoff_time. */
#define QUEUE_DEFAULT_RETRY_SCHEDULE "5m,10m,20m,40m,70m"
#define QUEUE_DEFAULT_MAX_LIFETIME ((uint64_t)5 * 24 * 3600) /* Postfix: 5d */

struct queue_retry {
	uint64_t delay[QUEUE_RETRY_STEPS_MAX]; /* seconds after the nth failed attempt */
	size_t n;                              /* the last one repeats */
	uint64_t max_lifetime;                 /* seconds */
};

void queue_retry_defaults(struct queue_retry *r);
/* "300", "90s", "5m", "2h", "5d" -> seconds (> 0, at most 10 years). */
int queue_duration_parse(const char *s, uint64_t *secs);
/* "5m,10m,20m,40m,70m": each step > 0 and not shorter than the one before.
 * 0, or -1 with the reason (translated; without the key and value, which
 * the caller's message shows). */
int queue_retry_parse(struct queue_retry *r, const char *spec, char *err, size_t errlen);
/* The time of the next attempt after `attempts` failed ones (>= 1) of a
 * message queued at queued_at: never past the end of its lifetime, when
 * the last attempt is made (Postfix's would come up to a retry step later,
 * 70 minutes by default, and could deliver what was already out of time). */
uint64_t queue_retry_next(const struct queue_retry *r, uint32_t attempts, uint64_t now,
			  uint64_t queued_at);
/* True once a message queued at queued_at has been in the queue too long. */
bool queue_retry_expired(const struct queue_retry *r, uint64_t queued_at, uint64_t now);

#endif
