/* The reply-code table: the single source of truth for basic reply codes
 * (RFC 5321, 4954, 3207, 1870, 3030, 6531, 7504) and enhanced status codes
 * (RFC 3463 and the IANA "SMTP Enhanced Status Codes" registry).
 * The server formats replies from it, the client annotates transcripts from
 * it, `postern explain` prints from it. Texts are English msgids; po/ holds
 * their translations. */
#ifndef POSTERN_SMTP_CODES_H
#define POSTERN_SMTP_CODES_H

#include <stddef.h>

/* Enhanced status codes as values (subject * 100 + detail); the class digit
 * (2, 4 or 5) comes from the basic code they travel with. */
enum smtp_esc {
	ESC_NONE = -1, /* greeting, EHLO/HELO replies, 3xx: no enhanced code */
	ESC_OTHER_UNDEFINED = 0,             /* X.0.0 */
	ESC_ADDR_OTHER = 100,                /* X.1.0 */
	ESC_ADDR_BAD_DEST_MAILBOX = 101,     /* X.1.1 */
	ESC_ADDR_BAD_DEST_SYSTEM = 102,      /* X.1.2 */
	ESC_ADDR_BAD_DEST_SYNTAX = 103,      /* X.1.3 */
	ESC_ADDR_DEST_AMBIGUOUS = 104,       /* X.1.4 */
	ESC_ADDR_DEST_VALID = 105,           /* X.1.5 */
	ESC_ADDR_DEST_MOVED = 106,           /* X.1.6 */
	ESC_ADDR_BAD_SENDER_SYNTAX = 107,    /* X.1.7 */
	ESC_ADDR_BAD_SENDER_SYSTEM = 108,    /* X.1.8 */
	ESC_MBOX_OTHER = 200,                /* X.2.0 */
	ESC_MBOX_DISABLED = 201,             /* X.2.1 */
	ESC_MBOX_FULL = 202,                 /* X.2.2 */
	ESC_MBOX_MSG_TOO_BIG = 203,          /* X.2.3 */
	ESC_SYS_OTHER = 300,                 /* X.3.0 */
	ESC_SYS_FULL = 301,                  /* X.3.1 */
	ESC_SYS_NOT_ACCEPTING = 302,         /* X.3.2 */
	ESC_SYS_FEATURE_UNSUPPORTED = 303,   /* X.3.3 */
	ESC_SYS_MSG_TOO_BIG = 304,           /* X.3.4 */
	ESC_SYS_INCORRECTLY_CONFIGURED = 305,/* X.3.5 */
	ESC_NET_OTHER = 400,                 /* X.4.0 */
	ESC_NET_NO_ANSWER = 401,             /* X.4.1 */
	ESC_NET_BAD_CONNECTION = 402,        /* X.4.2 */
	ESC_NET_ROUTING_FAILURE = 404,       /* X.4.4 */
	ESC_NET_CONGESTION = 405,            /* X.4.5 */
	ESC_NET_LOOP = 406,                  /* X.4.6 */
	ESC_NET_EXPIRED = 407,               /* X.4.7 */
	ESC_PROTO_OTHER = 500,               /* X.5.0 */
	ESC_PROTO_INVALID_COMMAND = 501,     /* X.5.1 */
	ESC_PROTO_SYNTAX_ERROR = 502,        /* X.5.2 */
	ESC_PROTO_TOO_MANY_RECIPIENTS = 503, /* X.5.3 */
	ESC_PROTO_INVALID_ARGUMENTS = 504,   /* X.5.4 */
	ESC_PROTO_WRONG_VERSION = 505,       /* X.5.5 */
	ESC_PROTO_AUTH_LINE_TOO_LONG = 506,  /* X.5.6, RFC 4954 */
	ESC_MEDIA_OTHER = 600,               /* X.6.0 */
	ESC_MEDIA_NOT_SUPPORTED = 601,       /* X.6.1 */
	ESC_MEDIA_CONVERSION_REQUIRED = 602, /* X.6.2 */
	ESC_MEDIA_CONVERSION_FAILED = 605,   /* X.6.5 */
	ESC_MEDIA_NON_ASCII_ADDRESS = 607,   /* X.6.7, RFC 6531 */
	ESC_SEC_OTHER = 700,                 /* X.7.0 */
	ESC_SEC_DELIVERY_NOT_AUTHORIZED = 701, /* X.7.1 */
	ESC_SEC_EXPANSION_DENIED = 702,      /* X.7.2 */
	ESC_SEC_CONVERSION_NOT_POSSIBLE = 703, /* X.7.3 */
	ESC_SEC_FEATURE_UNSUPPORTED = 704,   /* X.7.4 */
	ESC_SEC_CRYPTO_FAILURE = 705,        /* X.7.5 */
	ESC_SEC_AUTH_CREDENTIALS_INVALID = 708, /* X.7.8, RFC 4954 */
	ESC_SEC_AUTH_MECH_TOO_WEAK = 709,    /* X.7.9, RFC 4954 */
	ESC_SEC_ENCRYPTION_NEEDED = 710,     /* X.7.10, RFC 5248 */
	ESC_SEC_ENCRYPTION_REQUIRED = 711,   /* X.7.11, RFC 4954 */
	ESC_SEC_PASSWORD_TRANSITION = 712,   /* X.7.12, RFC 4954 */
};

/* One basic reply code (e.g. 334). Its usual enhanced codes are not listed
 * here: they are derived from the enhanced table (smtp_code_pair_listed), so
 * the two directions cannot disagree. */
struct smtp_basic_code {
	int code;
	const char *name;    /* short name, e.g. "Authentication challenge" */
	const char *meaning; /* one line in our own words */
	const char *when;    /* when a client sees it */
	const char *fix;     /* what to do about it */
	const char *rfc;     /* defining document(s), e.g. "RFC 4954" */
};

/* One enhanced status code X.subject.detail (the class X is separate). */
struct smtp_enh_code {
	int subject;
	int detail;
	const char *name;     /* the registry's title, e.g. "Syntax error" */
	const char *meaning;  /* one line in our own words */
	const char *when;     /* when a client meets it */
	const char *fix;      /* what to do about it */
	/* The IANA registry's "associated basic status code" column, as
	 * space-separated codes; "4xx" and "5xx" stand for the registry's "any
	 * 4XX" / "5XX" (and "Any" is "2xx 4xx 5xx"); "" where it says "Not given". */
	const char *registry;
	/* Basic codes common servers send it with beyond the registry's list
	 * (e.g. Postfix's 554 5.7.1 "Relay access denied"). */
	const char *practice;
	/* The classes it can carry: "2" reports a success only, "45" a failure
	 * only, "245" either. Any other class is an impossible combination. */
	const char *classes;
	const char *rfc;
};

/* How a basic code and an enhanced code relate. */
enum smtp_pair {
	SMTP_PAIR_REGISTRY,   /* the registry lists the basic code for it */
	SMTP_PAIR_PRACTICE,   /* not in the registry, but common in practice */
	SMTP_PAIR_UNLISTED,   /* possible, but neither listed nor common */
	SMTP_PAIR_IMPOSSIBLE, /* class digits differ, a 3xx, or a class it cannot carry */
};

/* How the basic code and the enhanced code cls.e relate (e may be NULL for
 * an undefined enhanced code: then only the digits are compared). */
enum smtp_pair smtp_code_pair(int basic, int cls, const struct smtp_enh_code *e);
/* Whether the enhanced code can carry class cls (2, 4 or 5) at all. */
int smtp_code_class_possible(const struct smtp_enh_code *e, int cls);
/* The enhanced codes that list this basic code by number (registry or
 * practice, not the "4xx" wildcards), in table order; returns how many
 * there are, and stores at most max of them. */
size_t smtp_code_enh_for_basic(int basic, const struct smtp_enh_code **out, size_t max);
/* Whether the space-separated list holds the basic code by number
 * (exact) or, unless exact, by a "Dxx" wildcard. */
int smtp_code_list_has(const char *list, int basic, int exact);

/* What a well-known provider or server really sends with a code, what it
 * means there and the fix that works there, with a public page that says
 * so. */
struct smtp_code_seen {
	int basic;            /* the basic code it comes with, or 0 */
	int subject, detail;  /* its enhanced code X.subject.detail, or -1, -1 */
	const char *who;      /* "Gmail", "Postfix" (a name: not translated) */
	const char *reply;    /* the reply as they send it (not translated) */
	const char *meaning;  /* what they mean by it */
	const char *fix;      /* the fix that works there */
	const char *source;   /* a public documentation URL */
};

size_t smtp_code_seen_count(void);
const struct smtp_code_seen *smtp_code_seen_at(size_t i);

/* Meaning of a class digit (2,3,4,5) of a basic code, or NULL. */
const char *smtp_code_class_name(int digit);
/* Meaning of the second digit of a basic code (0..5), or NULL. */
const char *smtp_code_category_name(int digit);
/* Meaning of an enhanced class (2, 4, 5), or NULL. */
const char *smtp_enh_class_name(int cls);
/* Meaning of an enhanced subject (0..7), or NULL. */
const char *smtp_enh_subject_name(int subject);

const struct smtp_basic_code *smtp_code_basic(int code);
const struct smtp_enh_code *smtp_code_enhanced(int subject, int detail);
static inline const struct smtp_enh_code *smtp_code_esc(enum smtp_esc e)
{
	return e == ESC_NONE ? NULL : smtp_code_enhanced((int)e / 100, (int)e % 100);
}

/* Iteration over the whole table (for explain --all, tests, translations). */
size_t smtp_code_basic_count(void);
const struct smtp_basic_code *smtp_code_basic_at(size_t i);
size_t smtp_code_enhanced_count(void);
const struct smtp_enh_code *smtp_code_enhanced_at(size_t i);

#endif
