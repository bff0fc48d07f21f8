/* Backend selection and the generic half of every store call (store.h):
 * argument checks, a commit that runs once, and the one reply after DATA
 * decided from per-recipient results. */
#include "store/backend.h"

#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct store {
	const struct store_backend *be;
	void *state;
	atomic_bool cancelled; /* store_cancel was called */
};

struct store_msg {
	struct store *st;
	void *impl;
	size_t n;
	bool done;
	enum store_status summary;
};

void store_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void store_result_set(struct store_result *r, enum store_status st, const char *fmt, ...)
{
	va_list ap;

	if (!r)
		return;
	r->status = st;
	va_start(ap, fmt);
	(void)vsnprintf(r->text, sizeof r->text, fmt, ap);
	va_end(ap);
}

void store_result_fill(struct store_result *results, size_t n, const struct store_result *r)
{
	for (size_t i = 0; i < n; i++)
		if (&results[i] != r)
			results[i] = *r;
}

struct unique_sort {
	const char *const *keys;
	int (*cmp)(const char *, const char *);
};

static int by_key_then_index(const void *a, const void *b, void *arg)
{
	const struct unique_sort *u = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = u->cmp(u->keys[i], u->keys[j]);
	return c ? c : (i > j) - (i < j);
}

size_t store_unique(const char *const *keys, size_t n, int (*cmp)(const char *, const char *),
		    size_t *of)
{
	size_t *idx = malloc((n ? n : 1) * sizeof(*idx));
	if (!idx)
		return 0;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	struct unique_sort u = {keys, cmp};
	qsort_r(idx, n, sizeof(*idx), by_key_then_index, &u);
	/* each key's first occurrence: the first of its run */
	for (size_t r = 0; r < n; r++)
		of[idx[r]] = r > 0 && cmp(keys[idx[r - 1]], keys[idx[r]]) == 0 ? of[idx[r - 1]] : idx[r];
	free(idx);
	/* numbered in the order first seen (a first occurrence comes before
	 * the others, so its number is set when they look it up) */
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		of[i] = of[i] == i ? count++ : of[of[i]];
	return count;
}

static const struct store_backend *backend_of(enum store_kind kind)
{
	switch (kind) {
	case STORE_MAILDIR:
		return &store_backend_maildir;
	case STORE_DISCARD:
		return &store_backend_discard;
	case STORE_LMTP:
		return &store_backend_lmtp;
	}
	return NULL;
}

struct store *store_new(const struct store_config *cfg, char *err, size_t errlen)
{
	store_set_err(err, errlen, "%s", "");
	const struct store_backend *be = cfg ? backend_of(cfg->kind) : NULL;
	if (!be) {
		store_set_err(err, errlen, "unknown store kind");
		return NULL;
	}
	struct store *st = calloc(1, sizeof *st);
	if (!st) {
		store_set_err(err, errlen, "out of memory");
		return NULL;
	}
	st->be = be;
	if (!(st->state = be->open(cfg, err, errlen))) {
		free(st);
		return NULL;
	}
	return st;
}

void store_free(struct store *st)
{
	if (!st)
		return;
	st->be->close(st->state);
	free(st);
}

const char *store_name(const struct store *st) { return st->be->name; }

bool store_commit_blocks(const struct store *st) { return st->be->commit_blocks; }

const char *store_warnings(const struct store *st)
{
	return st->be->warnings ? st->be->warnings(st->state) : "";
}

bool store_wants_return_path(const struct store *st) { return st->be->return_path; }

bool store_defers_sync(const struct store *st) { return st->be->sync != NULL; }

int store_sync(struct store *st) { return st->be->sync ? st->be->sync(st->state) : 0; }

void store_cancel(struct store *st)
{
	atomic_store(&st->cancelled, true);
	if (st->be->cancel)
		st->be->cancel(st->state);
}

bool store_cancelled(const struct store *st)
{
	return atomic_load(&st->cancelled);
}

bool store_delivered(struct store *st, const char *rcpt, const char *queue_id)
{
	return st->be->delivered && rcpt && queue_id && st->be->delivered(st->state, rcpt, queue_id);
}

struct store_msg *store_msg_begin(struct store *st, const struct store_envelope *env,
				  struct store_result *res)
{
	struct store_result dummy;

	if (!res)
		res = &dummy;
	store_result_set(res, STORE_IOERR, "%s", "");
	if (!st || !env || !env->rcpts || env->nrcpts == 0 || !env->queue_id || !*env->queue_id ||
	    !env->sender) {
		store_result_set(res, STORE_IOERR, "no recipients, sender or queue id");
		return NULL;
	}
	size_t n = env->nrcpts;
	for (size_t i = 0; i < n; i++)
		if (!env->rcpts[i]) {
			store_result_set(res, STORE_IOERR, "recipient %zu is missing", i);
			return NULL;
		}
	struct store_msg *m = calloc(1, sizeof *m);
	if (!m) {
		store_result_set(res, STORE_IOERR, "out of memory");
		return NULL;
	}
	m->st = st;
	m->n = n;
	if (!(m->impl = st->be->begin(st->state, env, res))) {
		if (res->status == STORE_OK)
			res->status = STORE_IOERR;
		free(m);
		return NULL;
	}
	res->status = STORE_OK;
	return m;
}

enum store_status store_msg_write(struct store_msg *m, const void *p, size_t n)
{
	if (!m || m->done) /* writing after commit is a caller bug */
		return STORE_IOERR;
	return m->st->be->write(m->impl, p, n);
}

const char *store_msg_error(const struct store_msg *m)
{
	return m->st->be->error ? m->st->be->error(m->impl) : "";
}

enum store_status store_msg_commit(struct store_msg *m, struct store_result *results)
{
	if (!m)
		return STORE_IOERR;
	if (m->done)
		return m->summary;
	m->done = true;
	struct store_result *r = results ? results : calloc(m->n, sizeof *r);
	if (!r) {
		m->summary = STORE_IOERR;
		return m->summary;
	}
	for (size_t i = 0; i < m->n; i++)
		store_result_set(&r[i], STORE_IOERR, "not delivered");
	m->st->be->commit(m->impl, r);
	m->summary = store_summary(r, m->n, NULL);
	if (r != results)
		free(r);
	return m->summary;
}

void store_msg_free(struct store_msg *m)
{
	if (!m)
		return;
	m->st->be->free(m->impl);
	free(m);
}

const char *store_status_name(enum store_status st)
{
	static const char *const names[] = {"ok", "full", "io_error", "tempfail", "permfail"};
	return (size_t)st < sizeof(names) / sizeof(names[0]) ? names[st] : "unknown";
}

/* Lower is the one to answer with: a temporary failure beats a permanent
 * one (the client retries, and may then see the permanent one alone). */
static int summary_rank(enum store_status s)
{
	switch (s) {
	case STORE_FULL:
		return 0;
	case STORE_IOERR:
		return 1;
	case STORE_TEMPFAIL:
		return 2;
	case STORE_PERMFAIL:
		return 3;
	case STORE_OK:
		break;
	}
	return 4;
}

enum store_status store_summary(const struct store_result *results, size_t n, size_t *which)
{
	size_t best = 0;

	if (which)
		*which = 0;
	if (!results || n == 0)
		return STORE_IOERR;
	for (size_t i = 1; i < n; i++)
		if (summary_rank(results[i].status) < summary_rank(results[best].status))
			best = i;
	if (which)
		*which = best;
	return results[best].status;
}
