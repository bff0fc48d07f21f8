/* The "discard" backend: accepts every message and drops it, doing no I/O
 * (for tests and benchmarks of the SMTP side). Its commit never blocks, so
 * the server runs it inline. */
#include "store/backend.h"

#include <stdlib.h>

/* Nothing to keep between messages; open still returns a non-NULL state. */
static char discard_state;

static void *discard_open(const struct store_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	(void)err;
	(void)errlen;
	return &discard_state;
}

static void *discard_begin(void *be, const struct store_envelope *env, struct store_result *res)
{
	(void)be;
	size_t *count = calloc(1, sizeof *count); /* the recipients, for commit */
	if (!count) {
		store_result_set(res, STORE_IOERR, "out of memory");
		return NULL;
	}
	*count = env->nrcpts;
	return count;
}

static enum store_status discard_write(void *msg, const void *p, size_t n)
{
	(void)msg;
	(void)p;
	(void)n;
	return STORE_OK;
}

static void discard_commit(void *msg, struct store_result *results)
{
	const size_t *count = msg;
	for (size_t i = 0; i < *count; i++)
		store_result_set(&results[i], STORE_OK, "discarded");
}

static void discard_free(void *msg) { free(msg); }

static void discard_close(void *be) { (void)be; }

const struct store_backend store_backend_discard = {
	.name = "discard",
	.commit_blocks = false,
	.return_path = true, /* as if stored: benchmarks of it cost the same */
	.open = discard_open,
	.begin = discard_begin,
	.write = discard_write,
	.commit = discard_commit,
	.free = discard_free,
	.close = discard_close,
};
