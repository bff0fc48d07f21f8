/* Command parsing: see cmd.h for the contract. The grammar is RFC 5321
 * §4.1.2 and §4.1.3, widened by RFC 6531 §3.3 for UTF-8. */
#include "smtp/cmd.h"

#include "common/str.h"

#include <string.h>

/* Indexed by enum smtp_verb. */
static const char *const verb_names[SMTP_VERB__COUNT] = {
	[SMTP_VERB_UNKNOWN] = "?",
	[SMTP_VERB_EHLO] = "EHLO",
	[SMTP_VERB_HELO] = "HELO",
	[SMTP_VERB_MAIL] = "MAIL",
	[SMTP_VERB_RCPT] = "RCPT",
	[SMTP_VERB_DATA] = "DATA",
	[SMTP_VERB_BDAT] = "BDAT",
	[SMTP_VERB_RSET] = "RSET",
	[SMTP_VERB_NOOP] = "NOOP",
	[SMTP_VERB_QUIT] = "QUIT",
	[SMTP_VERB_VRFY] = "VRFY",
	[SMTP_VERB_EXPN] = "EXPN",
	[SMTP_VERB_HELP] = "HELP",
	[SMTP_VERB_AUTH] = "AUTH",
	[SMTP_VERB_STARTTLS] = "STARTTLS",
	[SMTP_VERB_TURN] = "TURN",
	[SMTP_VERB_ETRN] = "ETRN",
	[SMTP_VERB_ATRN] = "ATRN",
	[SMTP_VERB_SEND] = "SEND",
	[SMTP_VERB_SOML] = "SOML",
	[SMTP_VERB_SAML] = "SAML",
	[SMTP_VERB_VERB] = "VERB",
	[SMTP_VERB_ONEX] = "ONEX",
	[SMTP_VERB_XCLIENT] = "XCLIENT",
	[SMTP_VERB_XFORWARD] = "XFORWARD",
};

const char *smtp_verb_name(enum smtp_verb v)
{
	if ((unsigned)v >= SMTP_VERB__COUNT)
		return "?";
	return verb_names[v];
}

static bool is_alpha(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static bool is_alnum(unsigned char c) { return is_alpha(c) || is_digit(c); }
static bool is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

bool smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd)
{
	cmd->verb = SMTP_VERB_UNKNOWN;
	cmd->arg = line + len;
	cmd->arg_len = 0;

	size_t i = 0;
	while (i < len && is_alpha((unsigned char)line[i]))
		i++;
	if (i == 0)
		return false;
	/* RFC 5321 §4.1.1: the verb is followed by SP or the end of the line;
	 * "EHLO:" or "NOOP<HT>" is not a known verb. */
	if (i < len && line[i] != ' ')
		return true;

	for (int v = SMTP_VERB_UNKNOWN + 1; v < SMTP_VERB__COUNT; v++) {
		if (str_ieq(line, i, verb_names[v])) {
			cmd->verb = (enum smtp_verb)v;
			break;
		}
	}
	if (cmd->verb == SMTP_VERB_UNKNOWN)
		return true;

	/* Tolerate extra spaces around the argument. */
	size_t end = len;
	while (i < end && line[i] == ' ')
		i++;
	while (end > i && line[end - 1] == ' ')
		end--;
	cmd->arg = line + i;
	cmd->arg_len = end - i;
	return true;
}

/* ---- a cursor over the argument ---- */

struct cur {
	const unsigned char *p;
	size_t n;
	size_t i;
};

static bool cur_end(const struct cur *c) { return c->i >= c->n; }
static int cur_peek(const struct cur *c) { return c->i < c->n ? c->p[c->i] : -1; }

static bool cur_eat(struct cur *c, unsigned char ch)
{
	if (cur_peek(c) != ch)
		return false;
	c->i++;
	return true;
}

/* Length of the well-formed UTF-8 sequence (RFC 3629 §4: no overlongs, no
 * surrogates, nothing above U+10FFFF) starting at p[0] >= 0x80, or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;

	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k < need; k++)
		if (p[k] < 0x80 || p[k] > 0xbf)
			return 0;
	return need;
}

/* If the cursor is at a UTF-8 sequence, step over it and say so. */
static bool cur_utf8(struct cur *c, bool *utf8)
{
	if (cur_end(c) || c->p[c->i] < 0x80)
		return false;
	size_t k = utf8_seq(c->p + c->i, c->n - c->i);
	if (k == 0)
		return false;
	c->i += k;
	*utf8 = true;
	return true;
}

/* ---- RFC 5321 §4.1.2 local part ---- */

static bool is_atext(unsigned char c)
{
	/* RFC 5322 §3.2.3 atext (ASCII part) */
	return is_alnum(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Atom = 1*atext; RFC 6531 adds UTF8-non-ascii to atext. */
static bool parse_atom(struct cur *c, bool *utf8)
{
	size_t start = c->i;
	for (;;) {
		if (!cur_end(c) && is_atext(c->p[c->i]))
			c->i++;
		else if (!cur_utf8(c, utf8))
			break;
	}
	return c->i > start;
}

/* Dot-string = Atom *("." Atom) */
static bool parse_dot_string(struct cur *c, bool *utf8)
{
	if (!parse_atom(c, utf8))
		return false;
	while (cur_eat(c, '.'))
		if (!parse_atom(c, utf8))
			return false;
	return true;
}

/* Quoted-string = DQUOTE *QcontentSMTP DQUOTE
 * qtextSMTP = %d32-33 / %d35-91 / %d93-126 (+ UTF8-non-ascii, RFC 6531)
 * quoted-pairSMTP = %d92 %d32-126 */
static bool parse_quoted_string(struct cur *c, bool *utf8)
{
	if (!cur_eat(c, '"'))
		return false;
	for (;;) {
		int ch = cur_peek(c);
		if (ch < 0)
			return false;
		if (ch == '"') {
			c->i++;
			return true;
		}
		if (ch == '\\') {
			c->i++;
			ch = cur_peek(c);
			if (ch < 32 || ch > 126)
				return false;
			c->i++;
		} else if (ch >= 32 && ch <= 126) {
			c->i++;
		} else if (!cur_utf8(c, utf8)) {
			return false;
		}
	}
}

/* ---- RFC 5321 §4.1.2 Domain ---- */

/* sub-domain = Let-dig [Ldh-str]: letters, digits and inner hyphens. RFC
 * 6531 allows a U-label; we accept well-formed UTF-8 where a letter may
 * stand and leave IDNA2008 validity to whoever resolves the name. */
static bool parse_sub_domain(struct cur *c, bool *utf8)
{
	size_t start = c->i;
	bool last_hyphen = false;
	for (;;) {
		int ch = cur_peek(c);
		if (ch >= 0 && (is_alnum((unsigned char)ch) || ch == '-')) {
			if (ch == '-' && c->i == start)
				return false;
			last_hyphen = ch == '-';
			c->i++;
		} else if (cur_utf8(c, utf8)) {
			last_hyphen = false;
		} else {
			break;
		}
	}
	return c->i > start && !last_hyphen;
}

/* Domain = sub-domain *("." sub-domain) */
static bool parse_domain(struct cur *c, bool *utf8)
{
	if (!parse_sub_domain(c, utf8))
		return false;
	while (cur_eat(c, '.'))
		if (!parse_sub_domain(c, utf8))
			return false;
	return true;
}

/* ---- RFC 5321 §4.1.3 address literals ---- */

/* IPv4-address-literal = Snum 3("." Snum); Snum = 1*3DIGIT, 0-255 */
static bool parse_ipv4(const unsigned char *s, size_t n)
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= n || s[i] != '.')
				return false;
			i++;
		}
		unsigned v = 0;
		size_t digits = 0;
		while (i < n && is_digit(s[i]) && digits < 3) {
			v = v * 10 + (unsigned)(s[i] - '0');
			i++;
			digits++;
		}
		if (digits == 0 || v > 255)
			return false;
	}
	return i == n;
}

/* Colon-separated 1*4HEXDIG groups; s may be empty (0 groups). When v4_tail
 * is allowed the last element may be an IPv4 address instead. */
static bool ipv6_groups(const unsigned char *s, size_t n, bool v4_tail, size_t *groups, bool *v4)
{
	*groups = 0;
	*v4 = false;
	if (n == 0)
		return true;
	size_t i = 0;
	for (;;) {
		size_t start = i;
		while (i < n && s[i] != ':')
			i++;
		const unsigned char *el = s + start;
		size_t el_len = i - start;
		if (memchr(el, '.', el_len) != NULL) {
			if (!v4_tail || i != n || !parse_ipv4(el, el_len))
				return false;
			*v4 = true;
			return true;
		}
		if (el_len == 0 || el_len > 4)
			return false;
		for (size_t k = 0; k < el_len; k++)
			if (!is_hex(el[k]))
				return false;
		(*groups)++;
		if (i == n)
			return true;
		i++; /* the ':' */
		if (i == n)
			return false; /* trailing single colon */
	}
}

/* IPv6-addr = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp. RFC 5321
 * §4.1.3: "::" stands for at least two zero groups, so beside it there are at
 * most 6 groups (4 with an IPv4 tail). */
static bool parse_ipv6(const unsigned char *s, size_t n)
{
	size_t dc = n;
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] == ':' && s[i + 1] == ':') {
			dc = i;
			break;
		}
	}
	size_t g, g2;
	bool v4, v4b;
	if (dc == n) {
		if (!ipv6_groups(s, n, true, &g, &v4))
			return false;
		return g == (v4 ? 6u : 8u);
	}
	if (!ipv6_groups(s, dc, false, &g, &v4))
		return false;
	if (!ipv6_groups(s + dc + 2, n - dc - 2, true, &g2, &v4b))
		return false;
	return g + g2 <= (v4b ? 4u : 6u);
}

/* address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
 *                         General-address-literal ) "]" */
static bool parse_address_literal(struct cur *c)
{
	if (!cur_eat(c, '['))
		return false;
	size_t start = c->i;
	/* dcontent = %d33-90 / %d94-126 */
	while (!cur_end(c) && c->p[c->i] >= 33 && c->p[c->i] <= 126 && c->p[c->i] != '[' &&
	       c->p[c->i] != '\\' && c->p[c->i] != ']')
		c->i++;
	size_t end = c->i;
	if (!cur_eat(c, ']') || end == start)
		return false;

	const unsigned char *s = c->p + start;
	size_t n = end - start;
	if (parse_ipv4(s, n))
		return true;
	const unsigned char *colon = memchr(s, ':', n);
	if (colon == NULL)
		return false;
	size_t tag = (size_t)(colon - s);
	if (str_ieq((const char *)s, tag, "IPv6"))
		return parse_ipv6(colon + 1, n - tag - 1);
	/* General-address-literal = Standardized-tag ":" 1*dcontent, with
	 * Standardized-tag = Ldh-str (ends in a letter or digit). */
	if (tag == 0 || !is_alnum(s[tag - 1]) || tag + 1 == n)
		return false;
	for (size_t k = 0; k < tag; k++)
		if (!is_alnum(s[k]) && s[k] != '-')
			return false;
	return true;
}

/* ---- paths ---- */

static void path_clear(struct smtp_path *path)
{
	path->addr[0] = '\0';
	path->len = 0;
	path->at = 0;
	path->null = false;
	path->utf8 = false;
	path->postmaster = false;
}

/* Path = "<" [ A-d-l ":" ] Mailbox ">"; Reverse-path adds "<>", and RCPT
 * adds "<Postmaster>" (RFC 5321 §4.1.1.3). Returns OK or BAD_ADDRESS. */
static enum smtp_parse_status parse_path(struct cur *c, struct smtp_path *path, bool is_mail)
{
	size_t path_start = c->i;
	bool utf8 = false;

	if (!cur_eat(c, '<'))
		return SMTP_PARSE_BAD_ADDRESS;
	if (cur_eat(c, '>')) {
		if (!is_mail)
			return SMTP_PARSE_BAD_ADDRESS;
		path->null = true;
		return SMTP_PARSE_OK;
	}
	if (!is_mail && c->n - c->i >= 11 &&
	    str_ieq((const char *)c->p + c->i, 11, "postmaster>")) {
		path->len = str_copy(path->addr, sizeof path->addr, (const char *)c->p + c->i, 10);
		path->at = path->len;
		path->postmaster = true;
		c->i += 11;
		return SMTP_PARSE_OK;
	}

	/* A-d-l = At-domain *( "," At-domain ); the source route is obsolete
	 * (RFC 5321 §4.1.2, appendix C): accepted and dropped. */
	if (cur_peek(c) == '@') {
		bool route_utf8 = false;
		do {
			if (!cur_eat(c, '@') || !parse_domain(c, &route_utf8))
				return SMTP_PARSE_BAD_ADDRESS;
		} while (cur_eat(c, ','));
		if (!cur_eat(c, ':'))
			return SMTP_PARSE_BAD_ADDRESS;
	}

	/* Mailbox = Local-part "@" ( Domain / address-literal ) */
	size_t local = c->i;
	bool ok = cur_peek(c) == '"' ? parse_quoted_string(c, &utf8) : parse_dot_string(c, &utf8);
	if (!ok)
		return SMTP_PARSE_BAD_ADDRESS;
	size_t at = c->i;
	if (!cur_eat(c, '@'))
		return SMTP_PARSE_BAD_ADDRESS;
	ok = cur_peek(c) == '[' ? parse_address_literal(c) : parse_domain(c, &utf8);
	if (!ok)
		return SMTP_PARSE_BAD_ADDRESS;
	size_t end = c->i;
	if (!cur_eat(c, '>'))
		return SMTP_PARSE_BAD_ADDRESS;

	/* RFC 5321 §4.5.3.1.1-3; the path limit counts the source route too. */
	if (at - local > SMTP_LOCAL_MAX || end - at - 1 > SMTP_DOMAIN_MAX ||
	    end - local > SMTP_ADDR_MAX || c->i - path_start > SMTP_ADDR_MAX + 2)
		return SMTP_PARSE_BAD_ADDRESS;

	path->len = str_copy(path->addr, sizeof path->addr, (const char *)c->p + local, end - local);
	path->at = at - local;
	path->utf8 = utf8;
	return SMTP_PARSE_OK;
}

/* ---- ESMTP parameters (RFC 5321 §4.1.2 Mail-parameters) ---- */

struct param {
	const unsigned char *kw;
	size_t kw_len;
	const unsigned char *val; /* NULL when there is no "=value" */
	size_t val_len;
};

/* Skip the spaces before the next parameter and read it. Returns OK with
 * kw_len 0 at the end of the argument, SYNTAX on a malformed parameter.
 * esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
 * esmtp-value = 1*(%d33-60 / %d62-126 / UTF8-non-ascii) */
static enum smtp_parse_status next_param(struct cur *c, struct param *pm)
{
	memset(pm, 0, sizeof *pm);
	while (cur_eat(c, ' '))
		;
	if (cur_end(c))
		return SMTP_PARSE_OK;

	pm->kw = c->p + c->i;
	if (!is_alnum(c->p[c->i]))
		return SMTP_PARSE_SYNTAX;
	while (!cur_end(c) && (is_alnum(c->p[c->i]) || c->p[c->i] == '-'))
		c->i++;
	pm->kw_len = (size_t)(c->p + c->i - pm->kw);

	if (cur_eat(c, '=')) {
		bool utf8 = false;
		pm->val = c->p + c->i;
		for (;;) {
			int ch = cur_peek(c);
			if (ch >= 33 && ch <= 126 && ch != '=')
				c->i++;
			else if (!cur_utf8(c, &utf8))
				break;
		}
		pm->val_len = (size_t)(c->p + c->i - pm->val);
		if (pm->val_len == 0)
			return SMTP_PARSE_SYNTAX;
	}
	if (!cur_end(c) && c->p[c->i] != ' ')
		return SMTP_PARSE_SYNTAX;
	return SMTP_PARSE_OK;
}

/* 1*20DIGIT into a uint64_t (RFC 1870 size-value, RFC 3030 chunk-size).
 * Returns OK, SYNTAX (not digits) or BAD_PARAM (too many digits, overflow). */
static enum smtp_parse_status parse_number(const unsigned char *s, size_t n, uint64_t *out)
{
	*out = 0;
	if (n == 0)
		return SMTP_PARSE_SYNTAX;
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return SMTP_PARSE_SYNTAX;
	if (n > 20)
		return SMTP_PARSE_BAD_PARAM;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return SMTP_PARSE_BAD_PARAM;
		v = v * 10 + d;
	}
	*out = v;
	return SMTP_PARSE_OK;
}

static int hex_value(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 3461 §4: xtext = *( xchar / hexchar ), xchar = %d33-126 except "+"
 * and "=", hexchar = "+" 2(DIGIT / "A"-"F"). The decoded AUTH= value must
 * not hold control octets: it ends up in logs and trace headers. */
static bool xtext_decode(const unsigned char *s, size_t n, char *out, size_t out_size)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = s[i];
		if (ch == '+') {
			if (n - i < 3)
				return false;
			int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			ch = (unsigned char)(hi * 16 + lo);
			i += 2;
			if (ch < 0x20 || ch == 0x7f)
				return false;
		} else if (ch < 33 || ch > 126 || ch == '=') {
			return false;
		}
		if (o + 1 >= out_size)
			return false;
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	/* Decoded octets >= 0x80 must still be well-formed UTF-8. */
	for (size_t i = 0; i < o;) {
		unsigned char ch = (unsigned char)out[i];
		if (ch < 0x80) {
			i++;
			continue;
		}
		size_t k = utf8_seq((const unsigned char *)out + i, o - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

static bool kw_is(const struct param *pm, const char *word)
{
	return str_ieq((const char *)pm->kw, pm->kw_len, word);
}

static bool val_is(const struct param *pm, const char *word)
{
	return str_ieq((const char *)pm->val, pm->val_len, word);
}

static enum smtp_parse_status mail_param(const struct param *pm, struct smtp_mail_params *params)
{
	if (kw_is(pm, "SIZE")) {
		/* RFC 1870 §6 */
		if (params->has_size || pm->val == NULL)
			return SMTP_PARSE_BAD_PARAM;
		enum smtp_parse_status st = parse_number(pm->val, pm->val_len, &params->size);
		/* size-value is 1*20DIGIT: a value past what 64 bits hold is
		 * only more than any limit (552 at the SIZE check, not 501) */
		if (st == SMTP_PARSE_BAD_PARAM && pm->val_len <= 20) {
			params->size = UINT64_MAX;
			st = SMTP_PARSE_OK;
		}
		if (st != SMTP_PARSE_OK)
			return SMTP_PARSE_BAD_PARAM;
		params->has_size = true;
		return SMTP_PARSE_OK;
	}
	if (kw_is(pm, "BODY")) {
		/* RFC 6152 §2, RFC 3030 §3 */
		if (params->body != SMTP_BODY_NONE || pm->val == NULL)
			return SMTP_PARSE_BAD_PARAM;
		if (val_is(pm, "7BIT"))
			params->body = SMTP_BODY_7BIT;
		else if (val_is(pm, "8BITMIME"))
			params->body = SMTP_BODY_8BITMIME;
		else if (val_is(pm, "BINARYMIME"))
			params->body = SMTP_BODY_BINARYMIME;
		else
			return SMTP_PARSE_BAD_PARAM;
		return SMTP_PARSE_OK;
	}
	if (kw_is(pm, "SMTPUTF8")) {
		/* RFC 6531 §3.4: no value */
		if (params->smtputf8 || pm->val != NULL)
			return SMTP_PARSE_BAD_PARAM;
		params->smtputf8 = true;
		return SMTP_PARSE_OK;
	}
	if (kw_is(pm, "AUTH")) {
		/* RFC 4954 §5: AUTH=<> or AUTH=xtext(addr-spec) */
		if (params->has_auth || pm->val == NULL)
			return SMTP_PARSE_BAD_PARAM;
		if (!xtext_decode(pm->val, pm->val_len, params->auth, sizeof params->auth)) {
			params->auth[0] = '\0';
			return SMTP_PARSE_BAD_PARAM;
		}
		params->has_auth = true;
		return SMTP_PARSE_OK;
	}
	return SMTP_PARSE_UNKNOWN_PARAM;
}

/* "FROM:" / "TO:" (case-insensitive), then any spaces, then the path. */
static enum smtp_parse_status path_arg(struct cur *c, const char *keyword,
				       struct smtp_path *path, bool is_mail)
{
	size_t kl = strlen(keyword);
	if (!str_iprefix((const char *)c->p, c->n, keyword))
		return SMTP_PARSE_SYNTAX;
	c->i = kl;
	/* RFC 5321 forbids the space, but common clients send "FROM: <a@b>". */
	while (cur_eat(c, ' '))
		;
	enum smtp_parse_status st = parse_path(c, path, is_mail);
	if (st != SMTP_PARSE_OK)
		return st;
	if (!cur_end(c) && c->p[c->i] != ' ')
		return SMTP_PARSE_SYNTAX;
	return SMTP_PARSE_OK;
}

enum smtp_parse_status smtp_cmd_parse_mail(const char *arg, size_t len, struct smtp_path *from,
					   struct smtp_mail_params *params)
{
	struct cur c = { (const unsigned char *)arg, len, 0 };
	path_clear(from);
	memset(params, 0, sizeof *params);

	enum smtp_parse_status st = path_arg(&c, "FROM:", from, true);
	if (st != SMTP_PARSE_OK)
		return st;
	for (;;) {
		struct param pm;
		st = next_param(&c, &pm);
		if (st != SMTP_PARSE_OK)
			return st;
		if (pm.kw_len == 0)
			return SMTP_PARSE_OK;
		st = mail_param(&pm, params);
		if (st != SMTP_PARSE_OK)
			return st;
	}
}

enum smtp_parse_status smtp_cmd_parse_rcpt(const char *arg, size_t len, struct smtp_path *to)
{
	struct cur c = { (const unsigned char *)arg, len, 0 };
	path_clear(to);

	enum smtp_parse_status st = path_arg(&c, "TO:", to, false);
	if (st != SMTP_PARSE_OK)
		return st;
	struct param pm;
	st = next_param(&c, &pm);
	if (st != SMTP_PARSE_OK)
		return st;
	/* We advertise no RCPT parameters (no DSN): any one is 555. */
	return pm.kw_len == 0 ? SMTP_PARSE_OK : SMTP_PARSE_UNKNOWN_PARAM;
}

bool smtp_cmd_valid_helo(const char *arg, size_t len)
{
	struct cur c = { (const unsigned char *)arg, len, 0 };
	if (len == 0)
		return false;
	/* RFC 5321 §4.5.3.1.2: 255 octets, for a name or a literal alike. */
	if (arg[0] == '[')
		return len <= SMTP_DOMAIN_MAX && parse_address_literal(&c) && cur_end(&c);
	/* A fully-qualified name written with its root dot ("mx.example.").
	 * Only one dot, and not a lone ".". */
	if (len > 1 && arg[len - 1] == '.')
		c.n--;
	bool utf8 = false;
	return c.n <= SMTP_DOMAIN_MAX && parse_domain(&c, &utf8) && cur_end(&c);
}

/* The leading chunk-size: its length in arg (0: none), the value in *size. */
static size_t bdat_size_token(const char *arg, size_t len, uint64_t *size,
			      enum smtp_parse_status *st)
{
	const unsigned char *s = (const unsigned char *)arg;
	size_t i = 0;
	while (i < len && is_digit(s[i]))
		i++;
	*st = SMTP_PARSE_SYNTAX;
	if (i == 0 || (i < len && s[i] != ' '))
		return 0;
	/* chunk-size = 1*DIGIT (no 20-digit cap, unlike SIZE in RFC 1870):
	 * leading zeros are allowed, so only the value can overflow */
	size_t z = 0;
	while (z + 1 < i && s[z] == '0')
		z++;
	*st = parse_number(s + z, i - z, size);
	return *st == SMTP_PARSE_OK ? i : 0;
}

enum smtp_parse_status smtp_cmd_parse_bdat(const char *arg, size_t len, uint64_t *size, bool *last)
{
	*size = 0;
	*last = false;
	/* RFC 3030 §2: bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] */
	enum smtp_parse_status st;
	uint64_t value = 0;
	size_t i = bdat_size_token(arg, len, &value, &st);
	if (i == 0)
		return st;
	bool is_last = false;
	if (i < len) {
		if (!str_ieq(arg + i, len - i, " LAST"))
			return SMTP_PARSE_SYNTAX;
		is_last = true;
	}
	*size = value;
	*last = is_last;
	return SMTP_PARSE_OK;
}

bool smtp_cmd_bdat_size(const char *arg, size_t len, uint64_t *size)
{
	enum smtp_parse_status st;
	*size = 0;
	return bdat_size_token(arg, len, size, &st) > 0;
}
