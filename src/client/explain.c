/* `postern explain`: every fact comes from smtp/codes; this file only adds
 * the generic meaning of each digit (RFC 5321 4.2.1, RFC 3463 2) and the way
 * two codes are compared, which is derived from their digits, never written
 * per pair. All output text goes through the translation function. */
#include "client/explain.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/escape.h"
#include "smtp/codes.h"

/* Marks a msgid for xgettext (po/update-pot.sh runs it with --keyword=N_). */
#define N_(s) s

enum msg {
	/* field labels */
	M_CLASS, M_CATEGORY, M_SUBJECT, M_DETAIL, M_DESCRIPTION, M_WHEN, M_FIX,
	M_ENHANCED_CODES, M_ENHANCED_CODE, M_BASIC_CODES, M_BASIC_PRACTICE,
	M_RELATED_CODES, M_NOTE, M_REPLY, M_CHALLENGE, M_SEEN,
	/* section headings */
	M_SIDE_BY_SIDE, M_KEY_DIFFERENCE, M_WHICH_WHEN,
	/* titles and short values */
	M_BASIC_UNDEFINED, M_ENH_UNDEFINED, M_NOT_DEFINED, M_NONE, M_NONE_3XX,
	M_NONE_USUAL, M_CATEGORY_UNDEFINED, M_SUBJECT_UNDEFINED, M_DETAIL_UNDEFINED,
	M_UNDEFINED_MEANING, M_UNDEFINED_WHEN, M_ANY_CLASS, M_ANY_REPLY,
	M_NOT_BASE64, M_SOURCE,
	/* the basic class digits (RFC 5321 4.2.1) */
	M_CLASS2, M_CLASS3, M_CLASS4, M_CLASS5,
	/* the category digits (RFC 5321 4.2.1) */
	M_CAT0, M_CAT1, M_CAT2, M_CAT3, M_CAT4, M_CAT5,
	/* the enhanced class digits (RFC 3463 2) */
	M_ENH2, M_ENH4, M_ENH5,
	/* what to do, by class digit: a phrase and a sentence */
	M_ACT2, M_ACT3, M_ACT4, M_ACT5,
	M_FIX2, M_FIX3, M_FIX4, M_FIX5,
	/* a basic and an enhanced code given as one reply */
	M_PAIR_REGISTRY, M_PAIR_PRACTICE, M_PAIR_UNLISTED, M_PAIR_UNLISTED_NONE,
	M_PAIR_UNDEFINED, M_PAIR_CLASS, M_PAIR_3XX,
	M_IMPOSSIBLE_FAILURE, M_IMPOSSIBLE_SUCCESS,
	/* comparison */
	M_CMP_BOTH_POS, M_CMP_BOTH_NEG, M_CMP_POS_NEG, M_CMP_INTERMEDIATE,
	M_CMP_BOTH_INTERMEDIATE, M_CMP_TRANSIENT_PERMANENT, M_CMP_BOTH_TRANSIENT,
	M_CMP_BOTH_PERMANENT, M_CMP_TRANSIENT, M_CMP_PERMANENT,
	M_CMP_SAME_CATEGORY, M_CMP_CATEGORY, M_CMP_SAME_SUBJECT, M_CMP_SUBJECT,
	M_WHAT_TO_DO, M_LINK_334_500, M_LINK_334_501, M_LINK_334_535,
	/* argument errors */
	M_ERR_SYNTAX, M_ERR_BASIC_DIGITS, M_ERR_BASIC_CLASS, M_ERR_ENH_PARTS,
	M_ERR_ENH_CLASS, M_ERR_ENH_DIGITS, M_ERR_ENH_ZERO, M_ERR_TOO_MANY,
	M_COUNT
};

static const char *const msgs[M_COUNT] = {
	[M_CLASS] = N_("Class"),
	[M_CATEGORY] = N_("Category"),
	[M_SUBJECT] = N_("Subject"),
	[M_DETAIL] = N_("Detail"),
	[M_DESCRIPTION] = N_("Description"),
	[M_WHEN] = N_("When you meet it"),
	[M_FIX] = N_("How to fix"),
	[M_ENHANCED_CODES] = N_("Enhanced codes"),
	[M_ENHANCED_CODE] = N_("Enhanced code"),
	[M_BASIC_CODES] = N_("Basic codes (IANA registry)"),
	[M_BASIC_PRACTICE] = N_("Also sent with (in practice)"),
	[M_RELATED_CODES] = N_("Defined codes like it"),
	[M_NOTE] = N_("Note"),
	[M_REPLY] = N_("Reply text"),
	[M_CHALLENGE] = N_("Challenge"),
	[M_SEEN] = N_("Seen in practice"),

	[M_SIDE_BY_SIDE] = N_("Side by side"),
	[M_KEY_DIFFERENCE] = N_("Key difference"),
	[M_WHICH_WHEN] = N_("Which applies when"),

	[M_BASIC_UNDEFINED] = N_("%s is not a defined SMTP reply code"),
	[M_ENH_UNDEFINED] = N_("%s is not a defined enhanced status code"),
	[M_NOT_DEFINED] = N_("not defined"),
	[M_NONE] = N_("none"),
	[M_NONE_3XX] = N_("none (3xx replies carry none)"),
	[M_NONE_USUAL] = N_("none usual"),
	[M_CATEGORY_UNDEFINED] = N_("not a category RFC 5321 defines: the second digit runs from 0 to 5"),
	[M_SUBJECT_UNDEFINED] = N_("not a subject RFC 3463 defines: subjects run from 0 to 7"),
	[M_DETAIL_UNDEFINED] = N_("not defined for this subject"),
	[M_UNDEFINED_MEANING] = N_("Not a defined code: only its digits say what it means."),
	[M_UNDEFINED_WHEN] = N_("Not a defined code, so nothing is known about when it is sent."),
	[M_ANY_CLASS] = N_("X (the registry's form, without a class): it occurs as %s"),
	[M_ANY_REPLY] = N_("any %s reply"),
	[M_NOT_BASE64] = N_("(not base64)"),
	[M_SOURCE] = N_("source"),

	[M_CLASS2] = N_("the requested action was completed"),
	[M_CLASS3] = N_("the command was accepted, but the server needs more from the client to complete it"),
	[M_CLASS4] = N_("the action was not taken, but the problem is temporary: the same command may succeed later"),
	[M_CLASS5] = N_("the action was not taken, and repeating the command unchanged will fail again"),

	[M_CAT0] = N_("syntax errors, and commands that are unrecognised, out of place or not implemented"),
	[M_CAT1] = N_("replies to requests for information, such as status or help"),
	[M_CAT2] = N_("replies about the connection (the transmission channel)"),
	[M_CAT3] = N_("left open by RFC 5321; SMTP AUTH (RFC 4954) uses it for authentication replies"),
	[M_CAT4] = N_("left open by RFC 5321"),
	[M_CAT5] = N_("the state of the receiving mail system with respect to the requested action"),

	[M_ENH2] = N_("the action succeeded"),
	[M_ENH4] = N_("the message is valid, but a temporary condition stopped it; a later attempt may succeed"),
	[M_ENH5] = N_("resending as it is will not help; the cause must be fixed first (the message, the address, the destination or the credentials)"),

	[M_ACT2] = N_("nothing is wrong: go on with the next command"),
	[M_ACT3] = N_("carry on with the exchange: the server waits for you"),
	[M_ACT4] = N_("wait and try again later"),
	[M_ACT5] = N_("fix the cause before trying again"),
	[M_FIX2] = N_("Nothing to fix."),
	[M_FIX3] = N_("Nothing to fix: send what the server asks for next."),
	[M_FIX4] = N_("Wait and try again later; if the problem persists, read the reply text for the cause."),
	[M_FIX5] = N_("Do not send it again unchanged: first correct what the reply text points to."),

	[M_PAIR_REGISTRY] = N_("The IANA registry lists %s with %s."),
	[M_PAIR_PRACTICE] = N_("The IANA registry does not list %s with %s, but servers commonly send them together."),
	[M_PAIR_UNLISTED] = N_("Unusual: the IANA registry lists %s with %s, not with %s."),
	[M_PAIR_UNLISTED_NONE] = N_("The IANA registry names no basic code for %s; %s is possible, though not common."),
	[M_PAIR_UNDEFINED] = N_("%s is not a defined enhanced code, so no basic code is usual with it."),
	[M_PAIR_CLASS] = N_("Impossible: the class of %s does not match %s; an enhanced code starts with the first digit of its basic code."),
	[M_PAIR_3XX] = N_("Impossible: %s replies carry no enhanced code."),
	[M_IMPOSSIBLE_FAILURE] = N_("Impossible: %s reports a failure, so it never comes with a success (class 2); it occurs as %s."),
	[M_IMPOSSIBLE_SUCCESS] = N_("Impossible: %s reports a success, so it never comes with a failure (class 4 or 5); it occurs as %s."),

	[M_CMP_BOTH_POS] = N_("Both %s and %s are positive replies: the server goes along with the command."),
	[M_CMP_BOTH_NEG] = N_("Both %s and %s are negative replies: the server refuses the command."),
	[M_CMP_POS_NEG] = N_("%s is a positive reply (the server goes along with the command); %s is a negative one (the server refuses it)."),
	[M_CMP_INTERMEDIATE] = N_("%s is intermediate: the exchange is not over and the server waits for the client; %s is final: the command is over, one way or the other."),
	[M_CMP_BOTH_INTERMEDIATE] = N_("Both %s and %s are intermediate: the server waits for more from the client."),
	[M_CMP_TRANSIENT_PERMANENT] = N_("%s is transient: the same command may succeed if tried again later; %s is permanent: repeating it unchanged will fail again."),
	[M_CMP_BOTH_TRANSIENT] = N_("Both %s and %s are transient: the same command may succeed if tried again later."),
	[M_CMP_BOTH_PERMANENT] = N_("Both %s and %s are permanent: repeating the command unchanged will fail again."),
	[M_CMP_TRANSIENT] = N_("%s is transient: the same command may succeed if tried again later."),
	[M_CMP_PERMANENT] = N_("%s is permanent: repeating the command unchanged will fail again."),
	[M_CMP_SAME_CATEGORY] = N_("Both are in category %s."),
	[M_CMP_CATEGORY] = N_("They differ in category: %s is in %s, %s is in %s."),
	[M_CMP_SAME_SUBJECT] = N_("Both are in subject %s."),
	[M_CMP_SUBJECT] = N_("They differ in subject: %s is in %s, %s is in %s."),
	[M_WHAT_TO_DO] = N_("What to do on %s: %s."),
	[M_LINK_334_500] = N_("How they meet: base64 sent when the server is not in an AUTH exchange (no 334 pending) is read as a command and gets 500 5.5.2."),
	[M_LINK_334_501] = N_("How they meet: an answer to a 334 that is not valid base64, or \"*\", ends the exchange with 501."),
	[M_LINK_334_535] = N_("How they meet: after the last answer to a 334, wrong credentials end the exchange with 535 5.7.8."),

	[M_ERR_SYNTAX] = N_("\"%s\": not a reply code: give three digits such as 550, an enhanced code such as 5.1.1 or X.1.1, or a reply line such as \"550 5.1.1 User unknown\""),
	[M_ERR_BASIC_DIGITS] = N_("\"%s\": a basic reply code has exactly three digits, such as 550"),
	[M_ERR_BASIC_CLASS] = N_("\"%s\": the first digit of a reply code is 2, 3, 4 or 5"),
	[M_ERR_ENH_PARTS] = N_("\"%s\": an enhanced status code has three parts, class.subject.detail, such as 5.1.1"),
	[M_ERR_ENH_CLASS] = N_("\"%s\": the class of an enhanced status code is 2, 4, 5 or X"),
	[M_ERR_ENH_DIGITS] = N_("\"%s\": the subject and detail of an enhanced status code have one to three digits"),
	[M_ERR_ENH_ZERO] = N_("\"%s\": the numbers of an enhanced status code have no leading zeros"),
	[M_ERR_TOO_MANY] = N_("\"%s\": too many codes at once (at most 16)"),
};

const char *client_explain_msgid_at(size_t i)
{
	return i < M_COUNT ? msgs[i] : NULL;
}

const char *client_explain_strerror(int err)
{
	switch (err) {
	case EXPLAIN_ERR_BASIC_DIGITS: return msgs[M_ERR_BASIC_DIGITS];
	case EXPLAIN_ERR_BASIC_CLASS: return msgs[M_ERR_BASIC_CLASS];
	case EXPLAIN_ERR_ENH_PARTS: return msgs[M_ERR_ENH_PARTS];
	case EXPLAIN_ERR_ENH_CLASS: return msgs[M_ERR_ENH_CLASS];
	case EXPLAIN_ERR_ENH_DIGITS: return msgs[M_ERR_ENH_DIGITS];
	case EXPLAIN_ERR_ENH_ZERO: return msgs[M_ERR_ENH_ZERO];
	case EXPLAIN_ERR_TOO_MANY: return msgs[M_ERR_TOO_MANY];
	default: return msgs[M_ERR_SYNTAX];
	}
}

/* ---- parsing ---- */

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* A basic code: RFC 5321 4.2 allows 2..5 as first digit. The second digit is
 * left unchecked so that 299 is explained as undefined rather than refused. */
static int parse_basic(const char *s, size_t n, int *code)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return EXPLAIN_ERR_SYNTAX;
	if (n != 3)
		return n == 0 ? EXPLAIN_ERR_SYNTAX : EXPLAIN_ERR_BASIC_DIGITS;
	if (s[0] < '2' || s[0] > '5')
		return EXPLAIN_ERR_BASIC_CLASS;
	*code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	return EXPLAIN_OK;
}

/* Whether a token is meant as an enhanced code: digits and dots with at
 * least one dot, or the registry's "X." form. */
static bool looks_enhanced(const char *s, size_t n)
{
	bool dot = false;

	if (n == 0 || !(is_digit(s[0]) || s[0] == 'X' || s[0] == 'x' || s[0] == '.'))
		return false;
	for (size_t i = 1; i < n; i++) {
		if (s[i] == '.')
			dot = true;
		else if (!is_digit(s[i]))
			return false;
	}
	return dot || s[0] == '.';
}

/* RFC 3463 2: class "." subject "." detail; class 2, 4 or 5 (or X, the
 * registry's way of writing any class); subject and detail 1*3digit
 * without leading zeros. */
static int parse_enh(const char *s, size_t n, int *cls, int *subject, int *detail)
{
	size_t start[3], len[3], parts = 0;
	size_t i = 0;
	bool any = n > 0 && (s[0] == 'X' || s[0] == 'x');

	if (n == 0)
		return EXPLAIN_ERR_SYNTAX;
	for (size_t j = any ? 1 : 0; j < n; j++)
		if (!is_digit(s[j]) && s[j] != '.')
			return EXPLAIN_ERR_SYNTAX;
	while (i <= n) {
		size_t b = i;

		while (i < n && s[i] != '.')
			i++;
		if (parts == 3)
			return EXPLAIN_ERR_ENH_PARTS;
		start[parts] = b;
		len[parts] = i - b;
		parts++;
		i++; /* past the dot, or past the end */
	}
	if (parts != 3 || len[0] == 0)
		return EXPLAIN_ERR_ENH_PARTS;
	if (len[0] != 1 || (!any && s[0] != '2' && s[0] != '4' && s[0] != '5'))
		return EXPLAIN_ERR_ENH_CLASS;
	for (int k = 1; k < 3; k++) {
		if (len[k] == 0)
			return EXPLAIN_ERR_ENH_PARTS;
		if (len[k] > 3)
			return EXPLAIN_ERR_ENH_DIGITS;
		if (len[k] > 1 && s[start[k]] == '0')
			return EXPLAIN_ERR_ENH_ZERO;
	}
	*cls = any ? CLIENT_EXPLAIN_ANY_CLASS : s[0] - '0';
	int v[3] = { 0, 0, 0 };
	for (int k = 1; k < 3; k++)
		for (size_t j = 0; j < len[k]; j++)
			v[k] = v[k] * 10 + (s[start[k] + j] - '0');
	*subject = v[1];
	*detail = v[2];
	return EXPLAIN_OK;
}

/* Keep the reply text, bounded, with control octets shown as '?' so that a
 * pasted log cannot drive the terminal; cut at a UTF-8 boundary. */
static void keep_text(struct client_explain_code *out, const char *s, size_t n)
{
	if (n >= sizeof(out->text)) {
		n = sizeof(out->text) - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		out->text[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	out->text[n] = '\0';
}

int client_explain_parse(const char *arg, struct client_explain_code *out)
{
	size_t n = strlen(arg), t = 0, e;
	int rc;

	memset(out, 0, sizeof(*out));
	/* what people paste: surrounding spaces and a CR from a CRLF line */
	while (n > 0 && is_blank(*arg)) {
		arg++;
		n--;
	}
	while (n > 0 && is_blank(arg[n - 1]))
		n--;
	while (t < n && is_digit(arg[t]))
		t++;
	if (t > 0 && (t == n || arg[t] == ' ' || arg[t] == '\t' || arg[t] == '-')) {
		/* "535", "535 5.7.8 text", "535-5.7.8 text" (a continuation line) */
		rc = parse_basic(arg, t, &out->basic);
		if (rc != EXPLAIN_OK)
			return rc;
		e = t < n ? t + 1 : t;
		while (e < n && (arg[e] == ' ' || arg[e] == '\t'))
			e++;
	} else {
		e = 0;
	}
	size_t f = e;

	while (f < n && arg[f] != ' ' && arg[f] != '\t')
		f++;
	if (looks_enhanced(arg + e, f - e)) {
		rc = parse_enh(arg + e, f - e, &out->cls, &out->subject, &out->detail);
		if (rc != EXPLAIN_OK)
			return rc;
		e = f;
		while (e < n && (arg[e] == ' ' || arg[e] == '\t'))
			e++;
	} else if (!out->basic) {
		rc = parse_basic(arg, f, &out->basic);
		return rc == EXPLAIN_OK ? EXPLAIN_ERR_SYNTAX : rc;
	}
	keep_text(out, arg + e, n - e);
	return EXPLAIN_OK;
}

int client_explain_parse_args(char *const *args, size_t nargs,
	struct client_explain_code *out, size_t *nout, size_t *bad)
{
	size_t k = 0;
	bool lone_basic = false; /* the previous argument was a basic code alone */

	*nout = 0;
	for (size_t i = 0; i < nargs; i++) {
		struct client_explain_code c;
		int rc = client_explain_parse(args[i], &c);

		if (rc != EXPLAIN_OK) {
			*bad = i;
			return rc;
		}
		/* "550" "5.1.1" typed without quotes is still one reply */
		if (lone_basic && c.basic == 0 && out[k - 1].basic / 100 == c.cls) {
			out[k - 1].cls = c.cls;
			out[k - 1].subject = c.subject;
			out[k - 1].detail = c.detail;
			memcpy(out[k - 1].text, c.text, sizeof(c.text));
			lone_basic = false;
			continue;
		}
		if (k == CLIENT_EXPLAIN_MAX_CODES) {
			*bad = i;
			return EXPLAIN_ERR_TOO_MANY;
		}
		out[k++] = c;
		lone_basic = c.cls == 0 && c.text[0] == '\0';
	}
	*nout = k;
	return EXPLAIN_OK;
}

/* Defined, and possible as given (RFC 3463 2: the class is the reply's). */
static bool code_sound(const struct client_explain_code *c)
{
	const struct smtp_enh_code *e = NULL;

	if (c->basic && !smtp_code_basic(c->basic))
		return false;
	if (c->cls) {
		e = smtp_code_enhanced(c->subject, c->detail);
		if (!e)
			return false;
	}
	if (c->basic && c->cls)
		return smtp_code_pair(c->basic, c->cls, e) != SMTP_PAIR_IMPOSSIBLE;
	if (c->cls && c->cls != CLIENT_EXPLAIN_ANY_CLASS)
		return smtp_code_class_possible(e, c->cls);
	return true;
}

int client_explain_exit_status(const struct client_explain_code *codes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!code_sound(&codes[i]))
			return EXPLAIN_EXIT_UNDEFINED;
	return EXPLAIN_EXIT_DEFINED;
}

/* ---- output helpers ---- */

struct ctx {
	struct buf *b;
	client_explain_tr tr;
	bool json;
	bool comma; /* JSON: a value was written at this level */
	int err;    /* first buf error; output stops there */
};

/* One code prepared for output. */
struct view {
	int basic, cls, subject, detail;
	int digit;                    /* the class digit that governs it (0 for X) */
	char code[64];                /* as printed: "535 5.7.8" */
	char bstr[12];                /* "535" */
	char estr[40];                /* "5.7.8" or "X.7.8" */
	const char *text;             /* the pasted reply text, or "" */
	const struct smtp_basic_code *bc;
	const struct smtp_enh_code *ec;
};

static const char *tr(const struct ctx *c, const char *s)
{
	/* dgettext("") would return the catalogue header */
	return (c->tr && s && s[0]) ? c->tr(s) : s;
}

static const char *M(const struct ctx *c, enum msg m)
{
	return tr(c, msgs[m]);
}

static void check(struct ctx *c, int rc)
{
	if (rc != BUF_OK && c->err == BUF_OK)
		c->err = rc;
}

static void put(struct ctx *c, const char *s)
{
	if (c->err == BUF_OK)
		check(c, buf_append_str(c->b, s));
}

static void putf(struct ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void putf(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err != BUF_OK)
		return;
	va_start(ap, fmt);
	check(c, buf_vprintf(c->b, fmt, ap));
	va_end(ap);
}

static void spaces(struct ctx *c, size_t n)
{
	while (n-- > 0)
		put(c, " ");
}

/* Names in the table are capitalised titles; inside a line they read better
 * in lower case ("3xx positive intermediate"). Acronyms stay as they are. */
static void put_lc(struct ctx *c, const char *s)
{
	if (!s)
		s = M(c, M_NOT_DEFINED);
	if (s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'a' && s[1] <= 'z') {
		char first[2] = { (char)(s[0] + 32), '\0' };

		put(c, first);
		s++;
	}
	put(c, s);
}

/* Columns on a terminal: Thai vowel and tone marks above and below the
 * line (U+0E31, U+0E34..U+0E3A, U+0E47..U+0E4E) take none; everything else
 * printed here takes one. */
static size_t display_width(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0;

	for (size_t i = 0; i < n;) {
		unsigned cp = p[i];
		size_t len = 1;

		if (cp >= 0xf0)
			len = 4;
		else if (cp >= 0xe0)
			len = 3;
		else if (cp >= 0xc0)
			len = 2;
		if (len == 3 && i + 2 < n)
			cp = ((cp & 0x0fu) << 12) | ((p[i + 1] & 0x3fu) << 6) | (p[i + 2] & 0x3fu);
		i += len;
		if (cp == 0x0e31 || (cp >= 0x0e34 && cp <= 0x0e3a) ||
		    (cp >= 0x0e47 && cp <= 0x0e4e))
			continue;
		w++;
	}
	return w;
}

/* "  Label:" padded so that short labels line up their values. */
#define LABEL_WIDTH 13

static void label(struct ctx *c, size_t indent, enum msg m)
{
	const char *s = M(c, m);
	size_t w = display_width(s, strlen(s)) + 1;

	spaces(c, indent);
	put(c, s);
	put(c, ":");
	spaces(c, w < LABEL_WIDTH - 1 ? LABEL_WIDTH - w : 1);
}

/* "  Label:" on a line of its own, a list below it. */
static void list_label(struct ctx *c, size_t indent, enum msg m)
{
	spaces(c, indent);
	put(c, M(c, m));
	put(c, ":\n");
}

/* NUL-terminate a scratch buffer and return its text. */
static const char *cstr(struct ctx *c, struct buf *b)
{
	if (buf_append(b, "", 1) != BUF_OK) {
		check(c, BUF_NOMEM);
		return "";
	}
	b->len--;
	return b->data;
}

/* ---- JSON ---- */

static void j_string(struct ctx *c, const char *s)
{
	char piece[ESC_STEP_MAX];
	put(c, "\"");
	for (size_t i = 0, n = strlen(s); i < n;) {
		i += esc_step(ESC_JSON, (const unsigned char *)s + i, n - i, piece);
		put(c, piece);
	}
	put(c, "\"");
}

static void j_key(struct ctx *c, const char *key)
{
	if (c->comma)
		put(c, ",");
	if (key) {
		j_string(c, key);
		put(c, ":");
	}
	c->comma = false;
}

static void j_str(struct ctx *c, const char *key, const char *val)
{
	j_key(c, key);
	if (val)
		j_string(c, val);
	else
		put(c, "null");
	c->comma = true;
}

static void j_int(struct ctx *c, const char *key, int v)
{
	j_key(c, key);
	putf(c, "%d", v);
	c->comma = true;
}

static void j_bool(struct ctx *c, const char *key, bool v)
{
	j_key(c, key);
	put(c, v ? "true" : "false");
	c->comma = true;
}

static void j_open(struct ctx *c, const char *key, const char *bracket)
{
	j_key(c, key);
	put(c, bracket);
	c->comma = false;
}

static void j_close(struct ctx *c, const char *bracket)
{
	put(c, bracket);
	c->comma = true;
}

/* ---- facts by digit ---- */

static const char *class_desc(const struct ctx *c, int d)
{
	static const enum msg m[] = { M_CLASS2, M_CLASS3, M_CLASS4, M_CLASS5 };

	return (d >= 2 && d <= 5) ? M(c, m[d - 2]) : "";
}

static const char *category_desc(const struct ctx *c, int d)
{
	static const enum msg m[] = { M_CAT0, M_CAT1, M_CAT2, M_CAT3, M_CAT4, M_CAT5 };

	return (d >= 0 && d <= 5) ? M(c, m[d]) : M(c, M_CATEGORY_UNDEFINED);
}

static const char *enh_class_desc(const struct ctx *c, int d)
{
	return M(c, d == 2 ? M_ENH2 : d == 4 ? M_ENH4 : M_ENH5);
}

static const char *action(const struct ctx *c, int d)
{
	static const enum msg m[] = { M_ACT2, M_ACT3, M_ACT4, M_ACT5 };

	return (d >= 2 && d <= 5) ? M(c, m[d - 2]) : NULL;
}

static const char *class_fix(const struct ctx *c, int d)
{
	static const enum msg m[] = { M_FIX2, M_FIX3, M_FIX4, M_FIX5 };

	return (d >= 2 && d <= 5) ? M(c, m[d - 2]) : NULL;
}

/* ---- views ---- */

static void view_init(struct view *v, const struct client_explain_code *in)
{
	memset(v, 0, sizeof(*v));
	v->basic = in->basic;
	v->cls = in->cls;
	v->subject = in->subject;
	v->detail = in->detail;
	v->text = in->text;
	v->digit = in->basic ? in->basic / 100 : in->cls == CLIENT_EXPLAIN_ANY_CLASS ? 0 : in->cls;
	if (in->basic) {
		snprintf(v->bstr, sizeof(v->bstr), "%d", in->basic);
		v->bc = smtp_code_basic(in->basic);
	}
	if (in->cls == CLIENT_EXPLAIN_ANY_CLASS)
		snprintf(v->estr, sizeof(v->estr), "X.%d.%d", in->subject, in->detail);
	else if (in->cls)
		snprintf(v->estr, sizeof(v->estr), "%d.%d.%d", in->cls, in->subject, in->detail);
	if (in->cls)
		v->ec = smtp_code_enhanced(in->subject, in->detail);
	snprintf(v->code, sizeof(v->code), "%s%s%s", v->bstr,
		in->basic && in->cls ? " " : "", v->estr);
}

static bool any_class(const struct view *v)
{
	return v->cls == CLIENT_EXPLAIN_ANY_CLASS;
}

/* An enhanced code alone whose class it can never carry (2.7.8). */
static bool enh_impossible(const struct view *v)
{
	return !v->basic && v->ec && !any_class(v) && !smtp_code_class_possible(v->ec, v->cls);
}

/* Walk a space-separated list of codes ("451 550 5xx"). Returns false at
 * the end; tok gets the next one. */
static bool next_token(const char **p, char *tok, size_t toklen)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == ' ')
		s++;
	if (!*s)
		return false;
	while (s[n] && s[n] != ' ')
		n++;
	snprintf(tok, toklen, "%.*s", (int)n, s);
	*p = s + n;
	return true;
}

/* "4.7.8, 5.7.8": the forms an enhanced code occurs in. */
static const char *forms(struct ctx *c, const struct view *v, struct buf *tmp)
{
	buf_init(tmp, 256);
	for (const char *p = v->ec ? v->ec->classes : ""; *p; p++)
		check(c, buf_printf(tmp, "%s%c.%d.%d", tmp->len ? ", " : "", *p, v->subject, v->detail));
	return cstr(c, tmp);
}

static const char *view_name(const struct ctx *c, const struct view *v)
{
	if (v->bc)
		return tr(c, v->bc->name);
	if (!v->basic && v->ec)
		return tr(c, v->ec->name);
	return M(c, M_NOT_DEFINED);
}

static const char *view_meaning(const struct ctx *c, const struct view *v)
{
	if (v->bc)
		return tr(c, v->bc->meaning);
	if (!v->basic && v->ec)
		return tr(c, v->ec->meaning);
	return M(c, M_UNDEFINED_MEANING);
}

/* The most specific advice: the enhanced code's when a pair has one. */
static const char *view_when(const struct ctx *c, const struct view *v)
{
	if (v->ec)
		return tr(c, v->ec->when);
	if (v->bc)
		return tr(c, v->bc->when);
	return M(c, M_UNDEFINED_WHEN);
}

static const char *view_fix(const struct ctx *c, const struct view *v)
{
	if (v->ec)
		return tr(c, v->ec->fix);
	if (v->bc)
		return tr(c, v->bc->fix);
	return class_fix(c, v->digit);
}

/* The note on how a basic and an enhanced code of one reply go together. */
static void pair_note(struct ctx *c, const struct view *v, struct buf *out)
{
	char pat[16];

	if (v->basic / 100 == 3) {
		snprintf(pat, sizeof(pat), "%dxx", v->basic / 100);
		check(c, buf_printf(out, M(c, M_PAIR_3XX), pat));
		return;
	}
	if (v->basic / 100 != v->cls) {
		check(c, buf_printf(out, M(c, M_PAIR_CLASS), v->estr, v->bstr));
		return;
	}
	if (!v->ec) {
		check(c, buf_printf(out, M(c, M_PAIR_UNDEFINED), v->estr));
		return;
	}
	struct buf t;

	switch (smtp_code_pair(v->basic, v->cls, v->ec)) {
	case SMTP_PAIR_REGISTRY:
		check(c, buf_printf(out, M(c, M_PAIR_REGISTRY), v->estr, v->bstr));
		break;
	case SMTP_PAIR_PRACTICE:
		check(c, buf_printf(out, M(c, M_PAIR_PRACTICE), v->estr, v->bstr));
		break;
	case SMTP_PAIR_UNLISTED:
		if (v->ec->registry[0]) {
			/* "535 554" as "535, 554" */
			buf_init(&t, 256);
			for (const char *p = v->ec->registry; *p; p++)
				check(c, *p == ' ' ? buf_append_str(&t, ", ") : buf_append(&t, p, 1));
			check(c, buf_printf(out, M(c, M_PAIR_UNLISTED), v->estr, cstr(c, &t), v->bstr));
			buf_fini(&t);
		} else {
			check(c, buf_printf(out, M(c, M_PAIR_UNLISTED_NONE), v->estr, v->bstr));
		}
		break;
	case SMTP_PAIR_IMPOSSIBLE:
		check(c, buf_printf(out, M(c, strchr(v->ec->classes, '2') ? M_IMPOSSIBLE_SUCCESS
			: M_IMPOSSIBLE_FAILURE), v->estr, forms(c, v, &t)));
		buf_fini(&t);
		break;
	}
}

/* Whether a "seen in practice" note is about this code. */
static bool seen_matches(const struct smtp_code_seen *s, const struct view *v)
{
	bool enh = v->cls && s->subject == v->subject && s->detail == v->detail;

	if (v->basic && v->cls)
		return s->basic == v->basic && (enh || s->subject < 0);
	if (v->basic)
		return s->basic == v->basic;
	return enh && (any_class(v) || s->basic == 0 || s->basic / 100 == v->cls);
}

/* "3xx positive intermediate" or "5.x.x permanent failure" */
static void class_short(struct ctx *c, const struct view *v)
{
	if (v->basic) {
		putf(c, "%dxx ", v->digit);
		put_lc(c, tr(c, smtp_code_class_name(v->digit)));
	} else if (any_class(v)) {
		put(c, "X.x.x");
	} else {
		putf(c, "%d.x.x ", v->cls);
		put_lc(c, tr(c, smtp_enh_class_name(v->cls)));
	}
}

/* "x3x unspecified" */
static void category_short(struct ctx *c, int d)
{
	const char *name = smtp_code_category_name(d);

	putf(c, "x%dx ", d);
	put_lc(c, name ? tr(c, name) : M(c, M_NOT_DEFINED));
}

/* "x.7.x security or policy status" */
static void subject_short(struct ctx *c, int subject)
{
	const char *name = smtp_enh_subject_name(subject);

	putf(c, "x.%d.x ", subject);
	put_lc(c, name ? tr(c, name) : M(c, M_NOT_DEFINED));
}

/* Run a writer into a scratch buffer and return its text (owned by tmp). */
static const char *render(struct ctx *c, struct buf *tmp,
	void (*fn)(struct ctx *, const void *, int), const void *arg, int n)
{
	struct buf *saved = c->b;

	buf_init(tmp, 4096);
	c->b = tmp;
	fn(c, arg, n);
	c->b = saved;
	return cstr(c, tmp);
}

static void fn_class_short(struct ctx *c, const void *v, int n)
{
	(void)n;
	class_short(c, v);
}

static void fn_category_short(struct ctx *c, const void *v, int n)
{
	(void)v;
	category_short(c, n);
}

static void fn_subject_short(struct ctx *c, const void *v, int n)
{
	(void)v;
	subject_short(c, n);
}

/* ---- text: one code ---- */

static void line(struct ctx *c, size_t ind, enum msg m, const char *value)
{
	label(c, ind, m);
	put(c, value);
	put(c, "\n");
}

/* A 334's challenge decoded (RFC 4954 4), as `send -v` shows it. */
static void challenge(struct ctx *c, const char *b64, struct buf *out)
{
	size_t n = strlen(b64), len = 0;
	char *raw = malloc(base64_decoded_max(n) + 1);

	if (!raw) {
		check(c, BUF_NOMEM);
		return;
	}
	if (!base64_decode(b64, n, raw, &len)) {
		check(c, buf_append_str(out, M(c, M_NOT_BASE64)));
	} else {
		/* as send -v shows it: nothing a terminal would act on */
		check(c, buf_append_str(out, "\""));
		check(c, esc_append(out, ESC_TERMINAL, raw, len));
		check(c, buf_append_str(out, "\""));
	}
	free(raw);
}

static void text_reply(struct ctx *c, const struct view *v, size_t ind)
{
	if (!v->text[0])
		return;
	line(c, ind, M_REPLY, v->text);
	if (v->basic == 334) {
		struct buf dec;

		buf_init(&dec, 4096);
		challenge(c, v->text, &dec);
		line(c, ind, M_CHALLENGE, cstr(c, &dec));
		buf_fini(&dec);
	}
}

/* The basic codes of a list ("451 550 5xx") whose class is cls (any for
 * X): one per line under a label. */
static void list_basic(struct ctx *c, size_t ind, enum msg m, const char *list, int cls)
{
	const char *p = list;
	char tok[16];
	bool first = true;

	while (next_token(&p, tok, sizeof(tok))) {
		if (cls != CLIENT_EXPLAIN_ANY_CLASS && tok[0] - '0' != cls)
			continue;
		if (first)
			list_label(c, ind, m);
		first = false;
		spaces(c, ind + 2);
		if (tok[1] == 'x') {
			put(c, tok);
			put(c, " ");
			putf(c, M(c, M_ANY_REPLY), tok);
		} else {
			const struct smtp_basic_code *b = smtp_code_basic(atoi(tok));

			putf(c, "%s ", tok);
			put(c, b ? tr(c, b->name) : M(c, M_NOT_DEFINED));
		}
		put(c, "\n");
	}
	if (first && m == M_BASIC_CODES)
		line(c, ind, m, M(c, M_NONE));
}

static void text_basic(struct ctx *c, const struct view *v, size_t ind)
{
	int d1 = v->basic / 100, d2 = v->basic / 10 % 10;

	label(c, ind, M_CLASS);
	putf(c, "%dxx ", d1);
	put_lc(c, tr(c, smtp_code_class_name(d1)));
	put(c, ": ");
	put(c, class_desc(c, d1));
	put(c, "\n");

	label(c, ind, M_CATEGORY);
	putf(c, "x%dx ", d2);
	if (smtp_code_category_name(d2)) {
		put_lc(c, tr(c, smtp_code_category_name(d2)));
		put(c, ": ");
	}
	put(c, category_desc(c, d2));
	put(c, "\n");

	if (!v->bc) {
		line(c, ind, M_FIX, class_fix(c, d1));
		size_t found = 0;
		for (size_t i = 0; i < smtp_code_basic_count(); i++) {
			const struct smtp_basic_code *b = smtp_code_basic_at(i);

			if (b->code / 10 != v->basic / 10)
				continue;
			if (found++ == 0)
				list_label(c, ind, M_RELATED_CODES);
			spaces(c, ind + 2);
			putf(c, "%d ", b->code);
			put(c, tr(c, b->name));
			put(c, "\n");
		}
		if (found == 0)
			line(c, ind, M_RELATED_CODES, M(c, M_NONE));
		return;
	}

	line(c, ind, M_DESCRIPTION, tr(c, v->bc->meaning));
	line(c, ind, M_WHEN, tr(c, v->bc->when));
	line(c, ind, M_FIX, tr(c, v->bc->fix));

	if (d1 == 3) {
		line(c, ind, M_ENHANCED_CODES, M(c, M_NONE_3XX));
		return;
	}
	const struct smtp_enh_code *es[128];
	size_t n = smtp_code_enh_for_basic(v->basic, es, 128);
	bool first = true;

	for (size_t i = 0; i < n && i < 128; i++) {
		if (!smtp_code_class_possible(es[i], d1))
			continue;
		if (first)
			list_label(c, ind, M_ENHANCED_CODES);
		first = false;
		spaces(c, ind + 2);
		putf(c, "%d.%d.%d ", d1, es[i]->subject, es[i]->detail);
		put(c, tr(c, es[i]->name));
		put(c, "\n");
	}
	if (first)
		line(c, ind, M_ENHANCED_CODES, M(c, M_NONE_USUAL));
}

/* The enhanced part; alone is false when it came with a basic code. */
static void text_enh(struct ctx *c, const struct view *v, size_t ind, bool alone)
{
	const char *sname = smtp_enh_subject_name(v->subject);
	struct buf t;

	label(c, ind, M_CLASS);
	if (any_class(v)) {
		putf(c, M(c, M_ANY_CLASS), forms(c, v, &t));
		buf_fini(&t);
	} else {
		putf(c, "%d.x.x ", v->cls);
		put_lc(c, tr(c, smtp_enh_class_name(v->cls)));
		put(c, ": ");
		put(c, enh_class_desc(c, v->cls));
	}
	put(c, "\n");

	label(c, ind, M_SUBJECT);
	putf(c, "x.%d.x ", v->subject);
	put_lc(c, sname ? tr(c, sname) : M(c, M_SUBJECT_UNDEFINED));
	put(c, "\n");

	label(c, ind, M_DETAIL);
	putf(c, "x.x.%d ", v->detail);
	put(c, v->ec ? tr(c, v->ec->name) : M(c, M_DETAIL_UNDEFINED));
	put(c, "\n");

	if (v->ec)
		line(c, ind, M_DESCRIPTION, tr(c, v->ec->meaning));
	if (!alone) {
		struct buf note;

		buf_init(&note, 1024);
		pair_note(c, v, &note);
		line(c, ind, M_NOTE, cstr(c, &note));
		buf_fini(&note);
	} else if (enh_impossible(v)) {
		label(c, ind, M_NOTE);
		putf(c, M(c, strchr(v->ec->classes, '2') ? M_IMPOSSIBLE_SUCCESS : M_IMPOSSIBLE_FAILURE),
			v->estr, forms(c, v, &t));
		put(c, "\n");
		buf_fini(&t);
	}
	if (v->ec) {
		line(c, ind, M_WHEN, tr(c, v->ec->when));
		line(c, ind, M_FIX, tr(c, v->ec->fix));
		/* for an impossible class, the classes it does come with */
		int lc = smtp_code_class_possible(v->ec, v->cls) ? v->cls : CLIENT_EXPLAIN_ANY_CLASS;

		list_basic(c, ind, M_BASIC_CODES, v->ec->registry, lc);
		list_basic(c, ind, M_BASIC_PRACTICE, v->ec->practice, lc);
	} else if (alone && !any_class(v)) {
		line(c, ind, M_FIX, class_fix(c, v->cls));
	}
}

static void text_seen(struct ctx *c, const struct view *v, size_t ind)
{
	bool first = true;

	for (size_t i = 0; i < smtp_code_seen_count(); i++) {
		const struct smtp_code_seen *s = smtp_code_seen_at(i);

		if (!seen_matches(s, v))
			continue;
		if (first)
			list_label(c, ind, M_SEEN);
		first = false;
		spaces(c, ind + 2);
		putf(c, "%s: %s\n", s->who, s->reply);
		spaces(c, ind + 4);
		put(c, tr(c, s->meaning));
		put(c, " ");
		put(c, tr(c, s->fix));
		put(c, "\n");
		spaces(c, ind + 4);
		putf(c, "(%s: %s)\n", M(c, M_SOURCE), s->source);
	}
}

static void text_title(struct ctx *c, const struct view *v)
{
	if (v->basic && !v->bc) {
		putf(c, M(c, M_BASIC_UNDEFINED), v->bstr);
		put(c, "\n");
	} else if (v->bc) {
		putf(c, "%s %s (%s)\n", v->code, tr(c, v->bc->name), v->bc->rfc);
	} else if (v->ec) {
		putf(c, "%s %s (%s)\n", v->code, tr(c, v->ec->name), v->ec->rfc);
	} else {
		putf(c, M(c, M_ENH_UNDEFINED), v->code);
		put(c, "\n");
	}
}

static void text_one(struct ctx *c, const struct view *v)
{
	text_title(c, v);
	text_reply(c, v, 2);
	if (v->basic)
		text_basic(c, v, 2);
	if (v->cls && !v->basic) {
		text_enh(c, v, 2, true);
	} else if (v->cls) {
		label(c, 2, M_ENHANCED_CODE);
		if (v->ec)
			putf(c, "%s %s (%s)\n", v->estr, tr(c, v->ec->name), v->ec->rfc);
		else {
			putf(c, M(c, M_ENH_UNDEFINED), v->estr);
			put(c, "\n");
		}
		text_enh(c, v, 4, false);
	}
	text_seen(c, v, 2);
}

/* ---- comparison ---- */

static bool positive(int d)
{
	return d == 2 || d == 3;
}

/* Emit one finished sentence: a text line, or a JSON string. */
static void emit(struct ctx *c, size_t ind, struct buf *ln)
{
	const char *s = cstr(c, ln);

	if (c->json) {
		j_str(c, NULL, s);
	} else {
		spaces(c, ind);
		put(c, s);
		put(c, "\n");
	}
	buf_clear(ln);
}

static void emitf(struct ctx *c, size_t ind, struct buf *ln, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void emitf(struct ctx *c, size_t ind, struct buf *ln, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	check(c, buf_vprintf(ln, fmt, ap));
	va_end(ap);
	emit(c, ind, ln);
}

/* The exchanges where two codes meet, for the pairs people ask about. */
static void links(struct ctx *c, const struct view *a, const struct view *b, size_t ind,
	struct buf *ln)
{
	static const struct { int x, y; enum msg m; } known[] = {
		{ 334, 500, M_LINK_334_500 },
		{ 334, 501, M_LINK_334_501 },
		{ 334, 535, M_LINK_334_535 },
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if ((a->basic == known[i].x && b->basic == known[i].y) ||
		    (b->basic == known[i].x && a->basic == known[i].y))
			emitf(c, ind, ln, "%s", M(c, known[i].m));
}

/* The key difference of two codes, from their digits and the table. */
static void compare(struct ctx *c, const struct view *a, const struct view *b, size_t ind)
{
	struct buf ln, t1, t2;
	int da = a->digit, db = b->digit;

	buf_init(&ln, 8192);

	/* positive or negative (RFC 5321 4.2.1: 2yz and 3yz go on, 4yz and 5yz
	 * refuse); an X code has no class to compare */
	if (da == 0 || db == 0)
		;
	else if (positive(da) && positive(db))
		emitf(c, ind, &ln, M(c, M_CMP_BOTH_POS), a->code, b->code);
	else if (!positive(da) && !positive(db))
		emitf(c, ind, &ln, M(c, M_CMP_BOTH_NEG), a->code, b->code);
	else if (positive(da))
		emitf(c, ind, &ln, M(c, M_CMP_POS_NEG), a->code, b->code);
	else
		emitf(c, ind, &ln, M(c, M_CMP_POS_NEG), b->code, a->code);

	/* intermediate or final: only 3yz leaves the command open */
	if (da == 3 && db == 3)
		emitf(c, ind, &ln, M(c, M_CMP_BOTH_INTERMEDIATE), a->code, b->code);
	else if (da == 3 && db != 0)
		emitf(c, ind, &ln, M(c, M_CMP_INTERMEDIATE), a->code, b->code);
	else if (db == 3 && da != 0)
		emitf(c, ind, &ln, M(c, M_CMP_INTERMEDIATE), b->code, a->code);

	/* transient or permanent */
	if (da == 4 && db == 4)
		emitf(c, ind, &ln, M(c, M_CMP_BOTH_TRANSIENT), a->code, b->code);
	else if (da == 5 && db == 5)
		emitf(c, ind, &ln, M(c, M_CMP_BOTH_PERMANENT), a->code, b->code);
	else if (da == 4 && db == 5)
		emitf(c, ind, &ln, M(c, M_CMP_TRANSIENT_PERMANENT), a->code, b->code);
	else if (da == 5 && db == 4)
		emitf(c, ind, &ln, M(c, M_CMP_TRANSIENT_PERMANENT), b->code, a->code);
	else if (da == 4 || db == 4)
		emitf(c, ind, &ln, M(c, M_CMP_TRANSIENT), da == 4 ? a->code : b->code);
	else if (da == 5 || db == 5)
		emitf(c, ind, &ln, M(c, M_CMP_PERMANENT), da == 5 ? a->code : b->code);

	/* the second digit, or the enhanced subject */
	if (a->basic && b->basic) {
		int ca = a->basic / 10 % 10, cb = b->basic / 10 % 10;
		const char *sa = render(c, &t1, fn_category_short, NULL, ca);
		const char *sb = render(c, &t2, fn_category_short, NULL, cb);

		if (ca == cb)
			emitf(c, ind, &ln, M(c, M_CMP_SAME_CATEGORY), sa);
		else
			emitf(c, ind, &ln, M(c, M_CMP_CATEGORY), a->code, sa, b->code, sb);
		buf_fini(&t1);
		buf_fini(&t2);
	}
	if (a->cls && b->cls) {
		const char *sa = render(c, &t1, fn_subject_short, NULL, a->subject);
		const char *sb = render(c, &t2, fn_subject_short, NULL, b->subject);

		if (a->subject == b->subject)
			emitf(c, ind, &ln, M(c, M_CMP_SAME_SUBJECT), sa);
		else
			emitf(c, ind, &ln, M(c, M_CMP_SUBJECT), a->code, sa, b->code, sb);
		buf_fini(&t1);
		buf_fini(&t2);
	}

	/* what each one says, and how the two meet in one exchange */
	emitf(c, ind, &ln, "%s: %s", a->code, view_meaning(c, a));
	emitf(c, ind, &ln, "%s: %s", b->code, view_meaning(c, b));
	links(c, a, b, ind, &ln);
	buf_fini(&ln);
}

static void text_side_by_side(struct ctx *c, const struct view *v, size_t n)
{
	struct buf cells[CLIENT_EXPLAIN_MAX_CODES][2];
	const char *s[CLIENT_EXPLAIN_MAX_CODES][4];
	size_t w[4] = { 0, 0, 0, 0 };

	for (size_t i = 0; i < n; i++) {
		s[i][0] = v[i].code;
		s[i][1] = render(c, &cells[i][0], fn_class_short, &v[i], 0);
		if (v[i].basic)
			s[i][2] = render(c, &cells[i][1], fn_category_short, NULL, v[i].basic / 10 % 10);
		else
			s[i][2] = render(c, &cells[i][1], fn_subject_short, NULL, v[i].subject);
		s[i][3] = view_name(c, &v[i]);
		for (int k = 0; k < 3; k++) {
			size_t cw = display_width(s[i][k], strlen(s[i][k]));

			if (cw > w[k])
				w[k] = cw;
		}
	}
	put(c, M(c, M_SIDE_BY_SIDE));
	put(c, ":\n");
	for (size_t i = 0; i < n; i++) {
		spaces(c, 2);
		for (int k = 0; k < 3; k++) {
			put(c, s[i][k]);
			spaces(c, w[k] - display_width(s[i][k], strlen(s[i][k])) + 2);
		}
		put(c, s[i][3]);
		put(c, "\n");
	}
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 2; k++)
			buf_fini(&cells[i][k]);
}

static void which_when(struct ctx *c, const struct view *v, size_t ind)
{
	const char *act = action(c, v->digit);

	if (c->json) {
		j_open(c, NULL, "{");
		j_str(c, "code", v->code);
		j_str(c, "when", view_when(c, v));
		j_str(c, "action", act);
		j_str(c, "fix", view_fix(c, v));
		j_close(c, "}");
		return;
	}
	spaces(c, ind);
	putf(c, "%s: %s\n", v->code, view_when(c, v));
	spaces(c, ind + 2);
	if (act) {
		putf(c, M(c, M_WHAT_TO_DO), v->code, act);
		put(c, " ");
	}
	put(c, view_fix(c, v));
	put(c, "\n");
}

static int text_views(struct buf *out, struct view *v, size_t n, client_explain_tr trfn)
{
	struct ctx c = { .b = out, .tr = trfn };

	if (n >= 2) {
		text_side_by_side(&c, v, n);
		put(&c, "\n");
	}
	for (size_t i = 0; i < n; i++) {
		text_one(&c, &v[i]);
		put(&c, "\n");
	}
	if (n < 2) {
		/* no trailing blank line after a single code */
		if (c.err == BUF_OK)
			out->len--;
		return c.err;
	}
	put(&c, M(&c, M_KEY_DIFFERENCE));
	put(&c, ":\n");
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			if (n > 2)
				putf(&c, "  %s / %s:\n", v[i].code, v[j].code);
			compare(&c, &v[i], &v[j], n > 2 ? 4 : 2);
		}
	put(&c, "\n");
	put(&c, M(&c, M_WHICH_WHEN));
	put(&c, ":\n");
	for (size_t i = 0; i < n; i++)
		which_when(&c, &v[i], 2);
	return c.err;
}

int client_explain_text(struct buf *out, const struct client_explain_code *codes,
	size_t n, client_explain_tr trfn)
{
	struct view v[CLIENT_EXPLAIN_MAX_CODES];

	if (n == 0 || n > CLIENT_EXPLAIN_MAX_CODES)
		return BUF_TOO_BIG;
	for (size_t i = 0; i < n; i++)
		view_init(&v[i], &codes[i]);
	return text_views(out, v, n, trfn);
}

/* Every code of the table as if each were asked for alone. */
static int all_codes(struct buf *out, client_explain_tr trfn, bool json, const char *lang);

int client_explain_all_text(struct buf *out, client_explain_tr trfn)
{
	return all_codes(out, trfn, false, NULL);
}

/* ---- JSON (schema 1, documented in the README): every code object has
 * the same keys, absent values are null ---- */

static void j_class(struct ctx *c, int digit, const char *name, const char *desc)
{
	j_open(c, "class", "{");
	if (digit)
		j_int(c, "digit", digit);
	else
		j_str(c, "digit", NULL);
	j_str(c, "name", name);
	j_str(c, "description", desc);
	j_close(c, "}");
}

static void j_basic_list(struct ctx *c, const char *key, const char *list, int cls)
{
	const char *p = list;
	char tok[16];

	j_open(c, key, "[");
	while (next_token(&p, tok, sizeof(tok))) {
		const struct smtp_basic_code *b = tok[1] == 'x' ? NULL : smtp_code_basic(atoi(tok));

		if (cls != CLIENT_EXPLAIN_ANY_CLASS && tok[0] - '0' != cls)
			continue;
		j_open(c, NULL, "{");
		j_str(c, "code", tok);
		j_str(c, "name", b ? tr(c, b->name) : NULL);
		j_close(c, "}");
	}
	j_close(c, "]");
}

static void json_basic(struct ctx *c, const struct view *v)
{
	int d1 = v->basic / 100, d2 = v->basic / 10 % 10;
	const char *catname = smtp_code_category_name(d2);

	if (!v->basic) {
		j_str(c, "basic", NULL);
		return;
	}
	j_open(c, "basic", "{");
	j_str(c, "code", v->bstr);
	j_bool(c, "defined", v->bc != NULL);
	j_str(c, "name", v->bc ? tr(c, v->bc->name) : NULL);
	j_str(c, "rfc", v->bc ? v->bc->rfc : NULL);
	j_class(c, d1, tr(c, smtp_code_class_name(d1)), class_desc(c, d1));
	j_open(c, "category", "{");
	j_int(c, "digit", d2);
	j_str(c, "name", catname ? tr(c, catname) : NULL);
	j_str(c, "description", category_desc(c, d2));
	j_close(c, "}");
	j_str(c, "meaning", v->bc ? tr(c, v->bc->meaning) : NULL);
	j_str(c, "when", v->bc ? tr(c, v->bc->when) : NULL);
	j_str(c, "fix", v->bc ? tr(c, v->bc->fix) : class_fix(c, d1));
	j_str(c, "action", action(c, d1));

	const struct smtp_enh_code *es[128];
	size_t n = v->bc && d1 != 3 ? smtp_code_enh_for_basic(v->basic, es, 128) : 0;

	j_open(c, "enhanced_codes", "[");
	for (size_t i = 0; i < n && i < 128; i++) {
		char code[16];

		if (!smtp_code_class_possible(es[i], d1))
			continue;
		snprintf(code, sizeof(code), "%d.%d.%d", d1, es[i]->subject, es[i]->detail);
		j_open(c, NULL, "{");
		j_str(c, "code", code);
		j_str(c, "name", tr(c, es[i]->name));
		j_close(c, "}");
	}
	j_close(c, "]");
	j_open(c, "related_codes", "[");
	for (size_t i = 0; !v->bc && i < smtp_code_basic_count(); i++) {
		const struct smtp_basic_code *b = smtp_code_basic_at(i);
		char code[16];

		if (b->code / 10 != v->basic / 10)
			continue;
		snprintf(code, sizeof(code), "%d", b->code);
		j_open(c, NULL, "{");
		j_str(c, "code", code);
		j_str(c, "name", tr(c, b->name));
		j_close(c, "}");
	}
	j_close(c, "]");
	j_close(c, "}");
}

static void json_enh(struct ctx *c, const struct view *v)
{
	const char *sname = smtp_enh_subject_name(v->subject);
	int d = any_class(v) ? 0 : v->cls;

	if (!v->cls) {
		j_str(c, "enhanced", NULL);
		return;
	}
	j_open(c, "enhanced", "{");
	j_str(c, "code", v->estr);
	j_bool(c, "defined", v->ec != NULL);
	j_str(c, "name", v->ec ? tr(c, v->ec->name) : NULL);
	j_str(c, "rfc", v->ec ? v->ec->rfc : NULL);
	j_class(c, d, d ? tr(c, smtp_enh_class_name(d)) : NULL, d ? enh_class_desc(c, d) : NULL);
	j_open(c, "subject", "{");
	j_int(c, "number", v->subject);
	j_str(c, "name", sname ? tr(c, sname) : NULL);
	j_close(c, "}");
	j_open(c, "detail", "{");
	j_int(c, "number", v->detail);
	j_str(c, "name", v->ec ? tr(c, v->ec->name) : NULL);
	j_close(c, "}");
	j_str(c, "meaning", v->ec ? tr(c, v->ec->meaning) : NULL);
	j_str(c, "when", v->ec ? tr(c, v->ec->when) : NULL);
	j_str(c, "fix", v->ec ? tr(c, v->ec->fix) : class_fix(c, d));
	j_str(c, "action", action(c, d));
	j_str(c, "classes", v->ec ? v->ec->classes : NULL);
	j_basic_list(c, "registry_basic_codes", v->ec ? v->ec->registry : "", v->cls);
	j_basic_list(c, "practice_basic_codes", v->ec ? v->ec->practice : "", v->cls);
	j_close(c, "}");
}

static const char *pair_name(enum smtp_pair p)
{
	switch (p) {
	case SMTP_PAIR_REGISTRY: return "registry";
	case SMTP_PAIR_PRACTICE: return "practice";
	case SMTP_PAIR_UNLISTED: return "unlisted";
	default: return "impossible";
	}
}

static void json_code(struct ctx *c, const struct view *v, const struct client_explain_code *in)
{
	struct buf note, dec;

	buf_init(&note, 1024);
	buf_init(&dec, 4096);
	j_open(c, NULL, "{");
	j_str(c, "code", v->code);
	j_str(c, "status", !code_sound(in) ? ((v->basic && !v->bc) || (v->cls && !v->ec)
		? "undefined" : "impossible") : "defined");
	j_str(c, "name", view_name(c, v));
	j_str(c, "text", v->text[0] ? v->text : NULL);
	if (v->basic == 334 && v->text[0])
		challenge(c, v->text, &dec);
	j_str(c, "challenge", dec.len ? cstr(c, &dec) : NULL);
	json_basic(c, v);
	json_enh(c, v);
	if (v->basic && v->cls) {
		pair_note(c, v, &note);
		j_str(c, "pair", pair_name(smtp_code_pair(v->basic, v->cls, v->ec)));
	} else if (enh_impossible(v)) {
		struct buf t;

		check(c, buf_printf(&note, M(c, strchr(v->ec->classes, '2') ? M_IMPOSSIBLE_SUCCESS
			: M_IMPOSSIBLE_FAILURE), v->estr, forms(c, v, &t)));
		buf_fini(&t);
		j_str(c, "pair", NULL);
	} else {
		j_str(c, "pair", NULL);
	}
	j_str(c, "note", note.len ? cstr(c, &note) : NULL);
	j_open(c, "seen_in_practice", "[");
	for (size_t i = 0; i < smtp_code_seen_count(); i++) {
		const struct smtp_code_seen *s = smtp_code_seen_at(i);

		if (!seen_matches(s, v))
			continue;
		j_open(c, NULL, "{");
		j_str(c, "who", s->who);
		j_str(c, "reply", s->reply);
		j_str(c, "meaning", tr(c, s->meaning));
		j_str(c, "fix", tr(c, s->fix));
		j_str(c, "source", s->source);
		j_close(c, "}");
	}
	j_close(c, "]");
	j_close(c, "}");
	buf_fini(&note);
	buf_fini(&dec);
}

int client_explain_json(struct buf *out, const struct client_explain_code *codes,
	size_t n, client_explain_tr trfn, const char *lang)
{
	struct ctx c = { .b = out, .tr = trfn, .json = true };
	struct view v[CLIENT_EXPLAIN_MAX_CODES];

	if (n == 0 || n > CLIENT_EXPLAIN_MAX_CODES)
		return BUF_TOO_BIG;
	for (size_t i = 0; i < n; i++)
		view_init(&v[i], &codes[i]);
	j_open(&c, NULL, "{");
	j_int(&c, "schema", CLIENT_EXPLAIN_SCHEMA);
	j_str(&c, "lang", lang);
	j_open(&c, "codes", "[");
	for (size_t i = 0; i < n; i++)
		json_code(&c, &v[i], &codes[i]);
	j_close(&c, "]");
	if (n >= 2) {
		j_open(&c, "comparison", "{");
		j_open(&c, "pairs", "[");
		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n; j++) {
				j_open(&c, NULL, "{");
				j_open(&c, "codes", "[");
				j_str(&c, NULL, v[i].code);
				j_str(&c, NULL, v[j].code);
				j_close(&c, "]");
				j_open(&c, "key_difference", "[");
				compare(&c, &v[i], &v[j], 0);
				j_close(&c, "]");
				j_close(&c, "}");
			}
		j_close(&c, "]");
		j_open(&c, "which_when", "[");
		for (size_t i = 0; i < n; i++)
			which_when(&c, &v[i], 0);
		j_close(&c, "]");
		j_close(&c, "}");
	} else {
		j_str(&c, "comparison", NULL);
	}
	j_close(&c, "}");
	put(&c, "\n");
	return c.err;
}

int client_explain_json_open(struct buf *out, const char *lang)
{
	struct ctx c = { .b = out, .json = true };

	j_open(&c, NULL, "{");
	j_int(&c, "schema", CLIENT_EXPLAIN_SCHEMA);
	j_str(&c, "lang", lang);
	j_open(&c, "codes", "[");
	return c.err;
}

int client_explain_json_item(struct buf *out, const struct client_explain_code *code,
	client_explain_tr trfn, bool first)
{
	struct ctx c = { .b = out, .tr = trfn, .json = true, .comma = !first };
	struct view v;

	view_init(&v, code);
	json_code(&c, &v, code);
	return c.err;
}

int client_explain_json_close(struct buf *out)
{
	struct ctx c = { .b = out, .json = true, .comma = false };

	j_close(&c, "]");
	j_str(&c, "comparison", NULL);
	j_close(&c, "}");
	put(&c, "\n");
	return c.err;
}

int client_explain_all_json(struct buf *out, client_explain_tr trfn, const char *lang)
{
	return all_codes(out, trfn, true, lang);
}

static int all_codes(struct buf *out, client_explain_tr trfn, bool json, const char *lang)
{
	struct ctx c = { .b = out, .tr = trfn, .json = json };
	size_t nb = smtp_code_basic_count(), ne = smtp_code_enhanced_count();

	if (json) {
		j_open(&c, NULL, "{");
		j_int(&c, "schema", CLIENT_EXPLAIN_SCHEMA);
		j_str(&c, "lang", lang);
		j_open(&c, "codes", "[");
	}
	for (size_t i = 0; i < nb + ne && c.err == BUF_OK; i++) {
		struct client_explain_code in = { 0 };
		struct view v;

		if (i < nb) {
			in.basic = smtp_code_basic_at(i)->code;
		} else {
			in.cls = CLIENT_EXPLAIN_ANY_CLASS;
			in.subject = smtp_code_enhanced_at(i - nb)->subject;
			in.detail = smtp_code_enhanced_at(i - nb)->detail;
		}
		view_init(&v, &in);
		if (json) {
			json_code(&c, &v, &in);
		} else {
			if (i > 0)
				put(&c, "\n");
			text_one(&c, &v);
		}
	}
	if (json) {
		j_close(&c, "]");
		j_str(&c, "comparison", NULL);
		j_close(&c, "}");
		put(&c, "\n");
	}
	return c.err;
}

/* ---- wrapping ---- */

/* Where a continued line starts: after "Label:" and its padding when the
 * line has one near its start, else two columns in. */
static size_t hang(const char *s, size_t n)
{
	size_t lead = 0;

	while (lead < n && s[lead] == ' ')
		lead++;
	for (size_t i = lead; i + 1 < n && display_width(s + lead, i - lead) <= 30; i++) {
		if (s[i] == ':' && s[i + 1] == ' ') {
			size_t j = i + 1;

			while (j < n && s[j] == ' ')
				j++;
			return display_width(s, j);
		}
		if (s[i] == ' ' && i > lead && s[i - 1] != ':' && display_width(s + lead, i - lead) > 24)
			break;
	}
	return lead + 2;
}

/* Octets of one UTF-8 sequence starting with byte b. */
static size_t u8len(unsigned char b)
{
	return b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
}

static int wrap_line(struct buf *out, const char *s, size_t n, size_t width)
{
	size_t ind = hang(s, n), col = 0, start = 0, pos = 0, brk = 0;
	int rc = BUF_OK;
	bool first = true;

	if (ind * 2 > width)
		ind = 2;
	while (pos < n && rc == BUF_OK) {
		size_t l = u8len((unsigned char)s[pos]);

		if (pos + l > n)
			l = n - pos;
		if (s[pos] == ' ' && pos > start)
			brk = pos;
		col += display_width(s + pos, l);
		pos += l;
		if (col > width && brk > start) {
			/* break at the last space; drop it and the spaces around it */
			size_t end = brk;

			while (end > start && s[end - 1] == ' ')
				end--;
			if (!first)
				for (size_t i = 0; i < ind && rc == BUF_OK; i++)
					rc = buf_append(out, " ", 1);
			if (rc == BUF_OK)
				rc = buf_append(out, s + start, end - start);
			if (rc == BUF_OK)
				rc = buf_append(out, "\n", 1);
			first = false;
			start = brk;
			while (start < n && s[start] == ' ')
				start++;
			pos = start;
			brk = start;
			col = ind;
		}
	}
	if (rc == BUF_OK && start < n) {
		if (!first)
			for (size_t i = 0; i < ind && rc == BUF_OK; i++)
				rc = buf_append(out, " ", 1);
		if (rc == BUF_OK)
			rc = buf_append(out, s + start, n - start);
	}
	return rc;
}

int client_explain_wrap(struct buf *out, const char *in, size_t n, size_t width)
{
	size_t i = 0;
	int rc = BUF_OK;

	if (width < 20)
		width = 20;
	while (i < n && rc == BUF_OK) {
		const char *nl = memchr(in + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (in + i)) : n - i;

		rc = wrap_line(out, in + i, len, width);
		if (rc == BUF_OK && nl)
			rc = buf_append(out, "\n", 1);
		i += len + (nl ? 1 : 0);
	}
	return rc;
}
