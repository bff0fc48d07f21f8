/* Command parsing (RFC 5321 §4.1): verbs, paths (§4.1.2, RFC 6531 for UTF-8),
 * ESMTP parameters (SIZE RFC 1870, BODY RFC 6152/3030, SMTPUTF8 RFC 6531,
 * AUTH= RFC 4954 §5). Pure: no allocation, results in caller-owned structs. */
#ifndef POSTERN_SMTP_CMD_H
#define POSTERN_SMTP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum smtp_verb {
	SMTP_VERB_UNKNOWN = 0,
	SMTP_VERB_EHLO,
	SMTP_VERB_HELO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELP,
	SMTP_VERB_AUTH,
	SMTP_VERB_STARTTLS,
	/* known verbs that postern does not implement: 502 */
	SMTP_VERB_TURN,
	SMTP_VERB_ETRN,
	SMTP_VERB_ATRN,
	SMTP_VERB_SEND,
	SMTP_VERB_SOML,
	SMTP_VERB_SAML,
	SMTP_VERB_VERB,
	SMTP_VERB_ONEX,
	SMTP_VERB_XCLIENT,
	SMTP_VERB_XFORWARD,
	SMTP_VERB__COUNT
};

struct smtp_cmd {
	enum smtp_verb verb;
	const char *arg; /* after the verb and the single space; not NUL-terminated */
	size_t arg_len;  /* 0 when there is no argument */
};

/* RFC 5321 §4.5.3.1: 64-octet local part, 255-octet domain, 256-octet path. */
#define SMTP_LOCAL_MAX 64
#define SMTP_DOMAIN_MAX 255
#define SMTP_ADDR_MAX 254 /* mailbox inside the 256-octet path "<...>" */

struct smtp_path {
	char addr[SMTP_ADDR_MAX + 1]; /* "local@domain" as sent (source route removed), NUL-terminated; "" for <> */
	size_t len;
	size_t at;      /* index of the '@' separating the domain, or len when there is none */
	bool null;      /* the null path <> (MAIL only) */
	bool utf8;      /* contains octets >= 0x80 (needs SMTPUTF8) */
	bool postmaster; /* <postmaster> without a domain (RFC 5321 §4.5.1) */
};

enum smtp_body { SMTP_BODY_NONE, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME, SMTP_BODY_BINARYMIME };

struct smtp_mail_params {
	bool has_size;
	uint64_t size;
	enum smtp_body body;
	bool smtputf8;
	bool has_auth;
	char auth[SMTP_ADDR_MAX + 1]; /* AUTH= value, xtext-decoded; "<>" allowed */
};

enum smtp_parse_status {
	SMTP_PARSE_OK = 0,
	SMTP_PARSE_SYNTAX,        /* 501 5.5.4: "FROM:" missing, junk, bad parameter syntax */
	SMTP_PARSE_BAD_ADDRESS,   /* 501 5.1.7 (MAIL) / 501 5.1.3 (RCPT): bad path syntax */
	SMTP_PARSE_UNKNOWN_PARAM, /* 555 5.5.4: unknown or unsupported ESMTP parameter */
	SMTP_PARSE_BAD_PARAM,     /* 501 5.5.4: known parameter with a bad or duplicate value */
};

/* Split a command line into verb and argument. Verbs are case-insensitive.
 * Returns false when the line has no verb-shaped start (then cmd->verb is UNKNOWN).
 * Reading: the verb is the leading run of ASCII letters; it must be followed by
 * SP or the end of the line, else it is UNKNOWN ("EHLO:", "NOOP<HT>x"). Extra
 * spaces before and after the argument are dropped (arg is never NULL; it
 * points at the end of the line when arg_len is 0). For UNKNOWN, arg_len is 0. */
bool smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd);
/* The canonical (upper-case) spelling of a verb, "?" for UNKNOWN. */
const char *smtp_verb_name(enum smtp_verb v);

/* "FROM:<path> [params]"; a space after the colon is tolerated.
 * Readings: "FROM:" is case-insensitive and one or more spaces may follow the
 * colon; without the keyword or colon: SYNTAX. Missing brackets or any path
 * error: BAD_ADDRESS. Junk right after '>' or a malformed parameter: SYNTAX.
 * Parameters are taken left to right and the first fault is returned; trailing
 * spaces are tolerated. Limits (RFC 5321 §4.5.3.1): the local part as sent
 * (quotes included) <= 64, the domain <= 255, the whole path from '<' to '>'
 * (source route included) <= 256. SIZE takes 1*20 digits (more, or above
 * UINT64_MAX: BAD_PARAM); AUTH= is decoded from xtext (uppercase hex only) and
 * refused when the decoded value holds control octets or bad UTF-8. The
 * outputs are reset first, so they are defined on every return. */
enum smtp_parse_status smtp_cmd_parse_mail(const char *arg, size_t len, struct smtp_path *from,
					   struct smtp_mail_params *params);
/* "TO:<path> [params]"; no RCPT parameters are supported (any is 555).
 * Reading: a well-formed parameter is UNKNOWN_PARAM, a malformed one SYNTAX.
 * "<postmaster>" (any case, no source route) sets postmaster and addr to the
 * word as sent; "<>" is BAD_ADDRESS. */
enum smtp_parse_status smtp_cmd_parse_rcpt(const char *arg, size_t len, struct smtp_path *to);
/* EHLO/HELO argument: a domain (RFC 5321 Domain, or a U-label domain) or an
 * address literal ([1.2.3.4], [IPv6:...]). Trailing text after a space is ignored
 * only for HELO compatibility when `helo` is true.
 * Reading: there is no `helo` parameter, so all of arg[0..len) must be the
 * domain or literal; a caller wanting old-HELO leniency passes the first word
 * only. One trailing root dot ("mx.example.") is tolerated; empty is false;
 * longer than 255 octets (a literal too) is false. Address literals follow
 * RFC 5321 §4.1.3 here and in paths: "::" stands for at least two groups, so
 * at most 6 groups (4 before an IPv4 tail) may sit beside it. */
bool smtp_cmd_valid_helo(const char *arg, size_t len);
/* BDAT argument: "<size> [LAST]".
 * Reading: RFC 3030 §2 exactly: 1*DIGIT [SP "LAST"] (LAST in any case, one SP);
 * more than 20 digits or above UINT64_MAX: BAD_PARAM; anything else SYNTAX. */
enum smtp_parse_status smtp_cmd_parse_bdat(const char *arg, size_t len, uint64_t *size, bool *last);
/* Whether a BDAT argument starts with a chunk-size that parses (digits,
 * then a space or the end), whatever follows: the octets that follow the
 * command then, refused or not (RFC 3030 §2); the size in *size. */
bool smtp_cmd_bdat_size(const char *arg, size_t len, uint64_t *size);

#endif
