/* libFuzzer target for command parsing (src/smtp/cmd.c). The input is one
 * command line (without CRLF). It is split into verb and argument, and the
 * whole input and the argument are given to every argument parser. Results
 * are checked for internal consistency and against each other: a parsed
 * mailbox must parse again to itself, and its domain must be a valid
 * EHLO argument. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "smtp/cmd.h"

#define check(x) \
	do { \
		if (!(x)) \
			abort(); \
	} while (0)

static bool contains(const uint8_t *hay, size_t n, const char *needle, size_t m)
{
	if (m == 0)
		return true;
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return true;
	return false;
}

static void check_path(const struct smtp_path *p, const uint8_t *in, size_t n, bool ok)
{
	check(p->len < sizeof p->addr);
	check(p->addr[p->len] == '\0');
	check(strlen(p->addr) == p->len);
	check(p->at <= p->len);
	if (!ok)
		return;
	check(p->len <= SMTP_ADDR_MAX);
	check(contains(in, n, p->addr, p->len));
	if (p->null) {
		check(p->len == 0 && !p->postmaster && !p->utf8);
		return;
	}
	if (p->postmaster) {
		check(str_ieq(p->addr, p->len, "postmaster") && p->at == p->len);
		return;
	}
	check(p->at < p->len && p->addr[p->at] == '@');
	check(p->at >= 1 && p->at <= SMTP_LOCAL_MAX);
	check(p->len - p->at - 1 <= SMTP_DOMAIN_MAX);
	bool high = false;
	for (size_t i = 0; i < p->len; i++) {
		unsigned char c = (unsigned char)p->addr[i];
		check(c >= 0x20 && c != 0x7f);
		if (c >= 0x80)
			high = true;
	}
	check(high == p->utf8);
	/* the domain of a mailbox is a valid EHLO argument */
	check(smtp_cmd_valid_helo(p->addr + p->at + 1, p->len - p->at - 1));
}

/* A stored mailbox (source route already dropped) parses to itself. */
static void check_roundtrip(const struct smtp_path *p)
{
	char arg[SMTP_ADDR_MAX + 16];
	memcpy(arg, "TO:<", 4);
	memcpy(arg + 4, p->addr, p->len);
	arg[4 + p->len] = '>';
	struct smtp_path again;
	check(smtp_cmd_parse_rcpt(arg, p->len + 5, &again) == SMTP_PARSE_OK);
	check(again.len == p->len && memcmp(again.addr, p->addr, p->len) == 0);
	check(again.at == p->at && again.utf8 == p->utf8 && again.postmaster == p->postmaster);
}

static void run_args(const uint8_t *a, size_t n)
{
	const char *s = (const char *)a;

	struct smtp_path from;
	struct smtp_mail_params mp;
	memset(&from, 0xa5, sizeof from);
	memset(&mp, 0xa5, sizeof mp);
	enum smtp_parse_status st = smtp_cmd_parse_mail(s, n, &from, &mp);
	check(st <= SMTP_PARSE_BAD_PARAM);
	check_path(&from, a, n, st == SMTP_PARSE_OK);
	check(!from.postmaster);
	check(strlen(mp.auth) < sizeof mp.auth);
	if (st == SMTP_PARSE_OK) {
		check(mp.body <= SMTP_BODY_BINARYMIME);
		if (!mp.has_auth)
			check(mp.auth[0] == '\0');
		if (!from.null)
			check_roundtrip(&from);
		check(str_iprefix(s, n, "FROM:"));
	}

	struct smtp_path to;
	memset(&to, 0xa5, sizeof to);
	st = smtp_cmd_parse_rcpt(s, n, &to);
	check(st <= SMTP_PARSE_BAD_PARAM && st != SMTP_PARSE_BAD_PARAM);
	check_path(&to, a, n, st == SMTP_PARSE_OK);
	if (st == SMTP_PARSE_OK) {
		check(!to.null);
		check_roundtrip(&to);
	}

	if (smtp_cmd_valid_helo(s, n)) {
		check(n > 0 && n <= SMTP_DOMAIN_MAX + 1);
		for (size_t i = 0; i < n; i++)
			check(a[i] > 0x20 && a[i] != 0x7f);
	}

	uint64_t size = 7;
	bool last = true;
	uint64_t chunk = 9;
	bool sized = smtp_cmd_bdat_size(s, n, &chunk);
	st = smtp_cmd_parse_bdat(s, n, &size, &last);
	/* a whole BDAT argument has the size its octets are skipped by */
	if (st == SMTP_PARSE_OK)
		check(sized && chunk == size);
	if (sized)
		check(n > 0 && a[0] >= '0' && a[0] <= '9');
	if (st == SMTP_PARSE_OK) {
		size_t digits = 0;
		uint64_t v = 0;
		while (digits < n && a[digits] >= '0' && a[digits] <= '9')
			v = v * 10 + (uint64_t)(a[digits++] - '0');
		/* chunk-size is 1*DIGIT: leading zeros may make it longer than 20 */
		check(digits >= 1 && v == size);
		check(last == (digits < n));
		check(digits == n || (n - digits == 5 && str_ieq(s + digits, 5, " LAST")));
	} else {
		check(st == SMTP_PARSE_SYNTAX || st == SMTP_PARSE_BAD_PARAM);
		check(size == 0 && !last);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	struct smtp_cmd cmd;
	bool shaped = smtp_cmd_parse(line, size, &cmd);
	check(cmd.verb < SMTP_VERB__COUNT);
	check(cmd.arg != NULL && cmd.arg >= line && cmd.arg_len <= size);
	check(cmd.arg + cmd.arg_len <= line + size);
	check(smtp_verb_name(cmd.verb) != NULL);
	if (!shaped)
		check(cmd.verb == SMTP_VERB_UNKNOWN);
	if (cmd.verb == SMTP_VERB_UNKNOWN) {
		check(cmd.arg_len == 0);
	} else {
		const char *name = smtp_verb_name(cmd.verb);
		size_t vl = strlen(name);
		check(size >= vl && str_ieq(line, vl, name));
		check(size == vl || line[vl] == ' ');
		if (cmd.arg_len > 0)
			check(cmd.arg[0] != ' ' && cmd.arg[cmd.arg_len - 1] != ' ');
	}

	run_args(data, size);
	if (cmd.verb != SMTP_VERB_UNKNOWN)
		run_args((const uint8_t *)cmd.arg, cmd.arg_len);
	return 0;
}
