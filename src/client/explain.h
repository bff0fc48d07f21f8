/* `postern explain`: what a reply code means, from the one table in
 * smtp/codes. Pure: arguments in, text or JSON out; translation is a
 * function passed in (dgettext in the CLI, NULL for English). */
#ifndef POSTERN_CLIENT_EXPLAIN_H
#define POSTERN_CLIENT_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

/* Most codes one call takes: every pair is compared, so output grows with n^2. */
#define CLIENT_EXPLAIN_MAX_CODES 16
/* Output limit of one call (the whole table explained fits many times). */
#define CLIENT_EXPLAIN_MAX_OUTPUT (4u * 1024 * 1024)
/* Reply text kept with a pasted code: one reply line (RFC 5321 4.5.3.1.5). */
#define CLIENT_EXPLAIN_TEXT_MAX 512
/* The class of the registry's form "X.7.8": any class. */
#define CLIENT_EXPLAIN_ANY_CLASS 1
/* The JSON schema version, documented in the README. */
#define CLIENT_EXPLAIN_SCHEMA 1

/* One thing to explain: a basic code, an enhanced code, or both as one
 * reply ("535 5.7.8"), with the reply text that came with it. Absent parts
 * are 0. */
struct client_explain_code {
	int basic;   /* 200..599 */
	int cls;     /* enhanced class: 2, 4, 5, or CLIENT_EXPLAIN_ANY_CLASS */
	int subject; /* 0..999 */
	int detail;  /* 0..999 */
	char text[CLIENT_EXPLAIN_TEXT_MAX]; /* reply text after the code(s), or "" */
};

enum client_explain_err {
	EXPLAIN_OK = 0,
	EXPLAIN_ERR_SYNTAX,       /* neither digits nor digits and dots */
	EXPLAIN_ERR_BASIC_DIGITS, /* a basic code without exactly three digits */
	EXPLAIN_ERR_BASIC_CLASS,  /* first digit not 2..5 (RFC 5321 4.2) */
	EXPLAIN_ERR_ENH_PARTS,    /* not class.subject.detail */
	EXPLAIN_ERR_ENH_CLASS,    /* class not 2, 4, 5 or X (RFC 3463 2) */
	EXPLAIN_ERR_ENH_DIGITS,   /* subject or detail not 1..3 digits */
	EXPLAIN_ERR_ENH_ZERO,     /* a leading zero (RFC 3463 2 forbids them) */
	EXPLAIN_ERR_TOO_MANY,     /* more than CLIENT_EXPLAIN_MAX_CODES */
};

/* Exit status of `postern explain` (documented in the README). */
enum client_explain_exit {
	EXPLAIN_EXIT_DEFINED = 0,   /* every code is defined and possible */
	EXPLAIN_EXIT_UNDEFINED = 1, /* well formed, but undefined or an impossible pair */
	EXPLAIN_EXIT_NOT_A_CODE = 2,/* input that is not a code, or a usage error */
};

/* Returns the English text (a gettext msgid) of an error; it has one %s for
 * the offending argument. */
const char *client_explain_strerror(int err);

/* Parse what a user pastes: "334", "5.7.8", "X.7.8", "535 5.7.8",
 * "535-5.7.8 Username and Password not accepted.", "334 VXNlcm5hbWU6",
 * with surrounding spaces and a trailing CR ignored. Well-formed but
 * undefined codes (299, 5.9.9) parse. Returns EXPLAIN_OK or an error. */
int client_explain_parse(const char *arg, struct client_explain_code *out);

/* Parse command-line arguments. A basic code followed by an enhanced code
 * of the same class is one reply ("550" "5.1.1"). out has room for
 * CLIENT_EXPLAIN_MAX_CODES. On error *bad is the index of the argument. */
int client_explain_parse_args(char *const *args, size_t nargs,
	struct client_explain_code *out, size_t *nout, size_t *bad);

/* EXPLAIN_EXIT_DEFINED or EXPLAIN_EXIT_UNDEFINED for parsed codes. */
int client_explain_exit_status(const struct client_explain_code *codes, size_t n);

/* Translation of a msgid; NULL means English. */
typedef const char *(*client_explain_tr)(const char *msgid);

/* Explain n codes (n >= 1) as text; two or more are also compared.
 * Returns BUF_OK or a buf error. */
int client_explain_text(struct buf *out, const struct client_explain_code *codes,
	size_t n, client_explain_tr tr);
/* The same facts as one JSON object on one line (schema 1, README). */
int client_explain_json(struct buf *out, const struct client_explain_code *codes,
	size_t n, client_explain_tr tr, const char *lang);

/* The JSON of a list of any length (a pasted transcript), in three steps:
 * the opening, one item per code (first true for the first), the close.
 * Together they give the same object as client_explain_json with no
 * comparison. */
int client_explain_json_open(struct buf *out, const char *lang);
int client_explain_json_item(struct buf *out, const struct client_explain_code *code,
	client_explain_tr tr, bool first);
int client_explain_json_close(struct buf *out);

/* Every code of the table, basic codes then enhanced codes in the
 * registry's X form: as text cards, or as one JSON object. */
int client_explain_all_text(struct buf *out, client_explain_tr tr);
int client_explain_all_json(struct buf *out, client_explain_tr tr, const char *lang);

/* Wrap text lines wider than width columns at spaces; a continued line is
 * indented to the value after its "Label:" (or two more than the line).
 * Words wider than a line are left whole. */
int client_explain_wrap(struct buf *out, const char *in, size_t n, size_t width);

/* The msgids of explain itself (headings and phrases), for the tests that
 * check every one is translated. NULL past the end. */
const char *client_explain_msgid_at(size_t i);

#endif
