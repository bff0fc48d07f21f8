/* The retry schedule (retry.h). */
#include "queue/retry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/i18n.h" /* the errors are posternd's config errors, for a person */

#define DURATION_MAX ((uint64_t)10 * 365 * 24 * 3600)

void queue_retry_defaults(struct queue_retry *r)
{
	char err[8];
	(void)queue_retry_parse(r, QUEUE_DEFAULT_RETRY_SCHEDULE, err, sizeof(err));
	r->max_lifetime = QUEUE_DEFAULT_MAX_LIFETIME;
}

int queue_duration_parse(const char *s, uint64_t *secs)
{
	uint64_t v = 0;
	const char *p = s;
	if (!s || *p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > DURATION_MAX)
			return -1;
	}
	uint64_t unit = 1;
	if (*p) {
		switch (*p) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case 'w': unit = 7 * 86400; break; /* as Postfix's time units */
		default: return -1;
		}
		if (p[1])
			return -1;
	}
	v *= unit;
	if (v == 0 || v > DURATION_MAX)
		return -1;
	*secs = v;
	return 0;
}

/* One step of a schedule: n octets at p, a duration. */
static int parse_step(const char *p, size_t n, uint64_t *d)
{
	char step[32];
	if (n == 0 || n >= sizeof(step))
		return -1;
	memcpy(step, p, n);
	step[n] = '\0';
	return queue_duration_parse(step, d);
}

int queue_retry_parse(struct queue_retry *r, const char *spec, char *err, size_t errlen)
{
	struct queue_retry out = {.max_lifetime = r->max_lifetime};
	const char *p = spec ? spec : "";
	for (;;) {
		size_t n = strcspn(p, ",");
		while (n && p[n - 1] == ' ')
			n--;
		if (out.n == QUEUE_RETRY_STEPS_MAX) {
			snprintf(err, errlen, _("expected at most %d durations"), QUEUE_RETRY_STEPS_MAX);
			return -1;
		}
		uint64_t d;
		if (parse_step(p, n, &d) || (out.n && d < out.delay[out.n - 1])) {
			snprintf(err, errlen, _("expected durations like 5m,10m,20m, each at least "
						"as long as the one before"));
			return -1;
		}
		out.delay[out.n++] = d;
		p += strcspn(p, ",");
		if (!*p)
			break;
		p++;
		while (*p == ' ')
			p++;
	}
	*r = out;
	return 0;
}

uint64_t queue_retry_next(const struct queue_retry *r, uint32_t attempts, uint64_t now,
			  uint64_t queued_at)
{
	size_t i = attempts == 0 ? 0 : attempts - 1;
	if (i >= r->n)
		i = r->n - 1;
	uint64_t next = now + r->delay[i], end = queued_at + r->max_lifetime;
	return end > now && end < next ? end : next;
}

bool queue_retry_expired(const struct queue_retry *r, uint64_t queued_at, uint64_t now)
{
	return now >= queued_at && now - queued_at >= r->max_lifetime;
}
