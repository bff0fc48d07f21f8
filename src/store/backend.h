/* The store backend interface (private to store/; store.c selects one and
 * wraps it). Each backend keeps its own state (open) and its own message
 * (begin .. free); store.c owns the generic parts: argument checks, sticky
 * commit results, the summary. */
#ifndef POSTERN_STORE_BACKEND_H
#define POSTERN_STORE_BACKEND_H

#include <stdarg.h>

#include "store/store.h"

struct store_backend {
	const char *name;
	/* commit does blocking I/O: the server runs it on a worker thread */
	bool commit_blocks;
	/* the caller writes Return-Path (store_wants_return_path) */
	bool return_path;
	/* The backend's state, or NULL with a reason in err. */
	void *(*open)(const struct store_config *cfg, char *err, size_t errlen);
	/* One message (env checked: recipients, sender, queue id); NULL with
	 * res filled on failure. env and its strings live only during the call. */
	void *(*begin)(void *be, const struct store_envelope *env, struct store_result *res);
	enum store_status (*write)(void *msg, const void *p, size_t n);
	/* Fill results[0..env->nrcpts) of begin; called once. */
	void (*commit)(void *msg, struct store_result *results);
	/* Undo what an uncommitted or failed message left, and free it. */
	void (*free)(void *msg);
	/* The first failure of a message, for the log ("" when none). */
	const char *(*error)(const void *msg);
	/* store_delivered; NULL: cannot tell. */
	bool (*delivered)(void *be, const char *rcpt, const char *queue_id);
	/* store_sync; NULL: commit is durable by itself (defer_sync ignored). */
	int (*sync)(void *be);
	/* store_cancel; NULL: its deliveries never wait on a peer. */
	void (*cancel)(void *be);
	/* Start-up warnings ("" when none). */
	const char *(*warnings)(const void *be);
	void (*close)(void *be);
};

extern const struct store_backend store_backend_maildir;
extern const struct store_backend store_backend_discard;
extern const struct store_backend store_backend_lmtp;

/* Helpers for backends: set a result (the text is printf-formatted). */
__attribute__((format(printf, 3, 4)))
void store_result_set(struct store_result *r, enum store_status st, const char *fmt, ...);
/* Copy one result to all n. */
void store_result_fill(struct store_result *results, size_t n, const struct store_result *r);
/* Recipients that name one mailbox get one copy: of[i] is the number of
 * keys[i] among the keys that differ (cmp), numbered in the order first
 * seen. Returns how many differ, or 0 when out of memory. O(n log n): a
 * message may have max_recipients (up to 100,000) recipients. */
size_t store_unique(const char *const *keys, size_t n, int (*cmp)(const char *, const char *),
		    size_t *of);
/* vsnprintf into err (NULL or errlen 0: nothing). */
__attribute__((format(printf, 3, 4)))
void store_set_err(char *err, size_t errlen, const char *fmt, ...);

#endif
