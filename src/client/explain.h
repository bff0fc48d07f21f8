/* `postern explain`: what a reply code means, from the one table in
 * smtp/codes. Pure: arguments in, text or JSON out; translation is a
 * function passed in (dgettext in the CLI, NULL for English). */
#ifndef POSTERN_CLIENT_EXPLAIN_H
#define POSTERN_CLIENT_EXPLAIN_H

#include <stddef.h>

#include "common/buf.h"

/* Most codes one call takes: every pair is compared, so output grows with n^2. */
#define CLIENT_EXPLAIN_MAX_CODES 16
/* Output limit of one call (the whole table explained fits many times). */
#define CLIENT_EXPLAIN_MAX_OUTPUT (4u * 1024 * 1024)

/* One thing to explain: a basic code, an enhanced code, or both as one
 * reply ("535 5.7.8"). Absent parts are 0. */
struct client_explain_code {
	int basic;   /* 200..599 */
	int cls;     /* enhanced class: 2, 4 or 5 */
	int subject; /* 0..999 */
	int detail;  /* 0..999 */
};

enum client_explain_err {
	EXPLAIN_OK = 0,
	EXPLAIN_ERR_SYNTAX,       /* neither digits nor digits and dots */
	EXPLAIN_ERR_BASIC_DIGITS, /* a basic code without exactly three digits */
	EXPLAIN_ERR_BASIC_CLASS,  /* first digit not 2..5 (RFC 5321 4.2) */
	EXPLAIN_ERR_ENH_PARTS,    /* not class.subject.detail */
	EXPLAIN_ERR_ENH_CLASS,    /* class not 2, 4 or 5 (RFC 3463 2) */
	EXPLAIN_ERR_ENH_DIGITS,   /* subject or detail not 1..3 digits */
	EXPLAIN_ERR_ENH_ZERO,     /* a leading zero (RFC 3463 2 forbids them) */
	EXPLAIN_ERR_TOO_MANY,     /* more than CLIENT_EXPLAIN_MAX_CODES */
};

/* Returns the English text (a gettext msgid) of an error; it has one %s for
 * the offending argument. */
const char *client_explain_strerror(int err);

/* Parse "334", "5.7.8", "535 5.7.8" or "535-5.7.8". Well-formed but
 * undefined codes (299, 5.9.9) parse; they are explained as undefined.
 * Returns EXPLAIN_OK or an error. */
int client_explain_parse(const char *arg, struct client_explain_code *out);

/* Parse command-line arguments. A basic code followed by an enhanced code
 * of the same class is one reply ("550" "5.1.1"). out has room for
 * CLIENT_EXPLAIN_MAX_CODES. On error *bad is the index of the argument. */
int client_explain_parse_args(char *const *args, size_t nargs,
	struct client_explain_code *out, size_t *nout, size_t *bad);

/* Translation of a msgid; NULL means English. */
typedef const char *(*client_explain_tr)(const char *msgid);

/* Explain n codes (n >= 1) as text; two or more are also compared.
 * Returns BUF_OK or a buf error. */
int client_explain_text(struct buf *out, const struct client_explain_code *codes,
	size_t n, client_explain_tr tr);
/* The same facts as one JSON object on one line; lang is reported as is. */
int client_explain_json(struct buf *out, const struct client_explain_code *codes,
	size_t n, client_explain_tr tr, const char *lang);

/* The msgids of explain itself (headings and phrases), for the tests that
 * check every one is translated. NULL past the end. */
const char *client_explain_msgid_at(size_t i);

#endif
