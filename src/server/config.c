#include "server/config.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/i18n.h"
#include "common/log.h"
#include "common/str.h"
#include "queue/retry.h"
#include "sasl/sasl.h"

static void free_list(char **v, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free(v[i]);
	*n = 0;
}

static const char *const listen_keys[SRV_LISTEN_KINDS] = {
	"listen", "listen_tls", "listen_submission", "listen_submissions",
};

const char *srv_listen_key(enum srv_listen_kind k)
{
	return listen_keys[k];
}

bool srv_listen_implicit_tls(enum srv_listen_kind k)
{
	return k == SRV_LISTEN_TLS || k == SRV_LISTEN_SUBMISSIONS;
}

bool srv_listen_is_submission(enum srv_listen_kind k)
{
	return k == SRV_LISTEN_SUBMISSION || k == SRV_LISTEN_SUBMISSIONS;
}

/* The fields a table entry names (see config_keys.c). */
static void *field(struct srv_config *c, const struct srv_key *k)
{
	return (char *)c + k->offset;
}

static size_t *list_count(struct srv_config *c, const struct srv_key *k)
{
	return (size_t *)(void *)((char *)c + k->count_offset);
}

/* A whole number into a field of 1, 2, 4 or 8 octets (bool, enum, unsigned,
 * size_t, uint64_t); test_config checks that every maximum fits its field. */
static void put_uint(void *p, size_t size, uint64_t v)
{
	uint8_t u8 = (uint8_t)v;
	uint16_t u16 = (uint16_t)v;
	uint32_t u32 = (uint32_t)v;
	switch (size) {
	case 1: memcpy(p, &u8, 1); break;
	case 2: memcpy(p, &u16, 2); break;
	case 4: memcpy(p, &u32, 4); break;
	default: memcpy(p, &v, 8); break;
	}
}

/* CHOICE fields hold the index of the word: these enums must count from 0 */
_Static_assert(STORE_MAILDIR == 0 && STORE_DISCARD == 1 && STORE_LMTP == 2, "store choices");
_Static_assert(SMTP_BARE_NORMALIZE == 0 && SMTP_BARE_REJECT == 1, "bare_newline choices");

void srv_config_free(struct srv_config *c)
{
	const struct srv_key *keys = srv_config_keys;
	for (size_t i = 0; i < srv_config_nkeys; i++) {
		const struct srv_key *k = &keys[i];
		if (k->type == SRV_KEY_STR) {
			char **p = field(c, k);
			free(*p);
			*p = NULL;
		} else if (k->type == SRV_KEY_LIST) {
			free_list(field(c, k), list_count(c, k));
		}
	}
	free(c->config_file);
	c->config_file = NULL;
}

void srv_config_defaults(struct srv_config *c)
{
	memset(c, 0, sizeof(*c));
	smtp_config_defaults(&c->smtp);
	if (gethostname(c->hostname, sizeof(c->hostname) - 1) != 0 || !c->hostname[0])
		str_copy(c->hostname, sizeof(c->hostname), "localhost", 9);
	const struct srv_key *keys = srv_config_keys;
	char why[256];
	for (size_t i = 0; i < srv_config_nkeys; i++)
		/* cannot fail: test_config sets every default */
		if (keys[i].def && srv_config_set(c, keys[i].key, keys[i].def, why, sizeof(why)))
			abort();
}

const struct srv_key *srv_config_key(const char *key)
{
	const struct srv_key *keys = srv_config_keys;
	for (size_t i = 0; i < srv_config_nkeys; i++)
		if (!strcmp(key, keys[i].key) || (keys[i].alias && !strcmp(key, keys[i].alias)))
			return &keys[i];
	return NULL;
}

/* The error names the key and its value, quoted and escaped as in the logs. */
static int fail(char *err, size_t errlen, const char *key, const char *value, const char *why)
{
	char q[300];
	/* TRANSLATORS: key = "value": why it is refused */
	snprintf(err, errlen, _("%s = %s: %s"), key, log_quote(q, sizeof(q), value), why);
	return -1;
}

static int parse_uint(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	if (!*v)
		return -1;
	for (const char *p = v; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	unsigned long long x = strtoull(v, NULL, 10);
	if (errno || x < min || x > max)
		return -1;
	*out = x;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "off"))
		*out = false;
	else
		return -1;
	return 0;
}

static int set_str(char **dst, const char *v)
{
	char *p = strdup(v);
	if (!p)
		return -1;
	free(*dst);
	*dst = p;
	return 0;
}

/* Lists (listen, domains) accept several values separated by spaces or
 * commas, and grow when the key is given again. */
static int add_list(char **v, size_t *n, size_t max, const char *value, bool lower)
{
	char tmp[1024];
	str_copy(tmp, sizeof(tmp), value, strlen(value));
	for (char *save = NULL, *tok = strtok_r(tmp, " ,\t", &save); tok;
	     tok = strtok_r(NULL, " ,\t", &save)) {
		if (*n >= max)
			return -1;
		if (lower)
			for (char *p = tok; *p; p++)
				*p = str_ascii_lower(*p);
		bool dup = false;
		for (size_t i = 0; i < *n; i++)
			dup = dup || !strcmp(v[i], tok);
		if (dup)
			continue;
		if (!(v[(*n)++] = strdup(tok)))
			return -1;
	}
	return 0;
}

/* "maildir or discard", "strict, lenient or ..." */
static void choice_list(const struct srv_key *k, const char *sep, const char *last, char *out,
			size_t outlen)
{
	size_t n = 0, o = 0;
	while (n < SRV_KEY_CHOICES && k->choices[n])
		n++;
	out[0] = '\0';
	for (size_t i = 0; i < n && o < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%s%s", i == 0 ? "" : i + 1 == n ? last : sep,
				      k->choices[i]);
}

static int set_value(struct srv_config *c, const struct srv_key *k, const char *value,
		     char *err, size_t errlen)
{
	char why[300];
	void *p = field(c, k);
	switch (k->type) {
	case SRV_KEY_UINT: {
		uint64_t u;
		if (parse_uint(value, k->min, k->max, &u)) {
			snprintf(why, sizeof(why), _("expected a whole number from %llu to %llu"),
				 (unsigned long long)k->min, (unsigned long long)k->max);
			return fail(err, errlen, k->key, value, why);
		}
		put_uint(p, k->size, u);
		return 0;
	}
	case SRV_KEY_BOOL: {
		bool b;
		if (parse_bool(value, &b))
			return fail(err, errlen, k->key, value, _("expected yes or no"));
		put_uint(p, k->size, b);
		return 0;
	}
	case SRV_KEY_CHOICE:
		for (size_t i = 0; i < SRV_KEY_CHOICES && k->choices[i]; i++) {
			if (!strcmp(value, k->choices[i])) {
				put_uint(p, k->size, i);
				return 0;
			}
		}
		char words[200];
		choice_list(k, ", ", _(" or "), words, sizeof(words));
		snprintf(why, sizeof(why), _("expected %s"), words);
		return fail(err, errlen, k->key, value, why);
	case SRV_KEY_STR:
	case SRV_KEY_TEXT:
		if (!*value)
			return fail(err, errlen, k->key, value, _("empty value"));
		if (k->type == SRV_KEY_TEXT && strlen(value) >= k->size) {
			snprintf(why, sizeof(why), _("longer than %zu octets"), k->size - 1);
			return fail(err, errlen, k->key, value, why);
		}
		if (k->check && k->check(value, why, sizeof(why)))
			return fail(err, errlen, k->key, value, why);
		if (k->type == SRV_KEY_TEXT) {
			str_copy(p, k->size, value, strlen(value));
			return 0;
		}
		if (set_str(p, value)) {
			snprintf(err, errlen, _("%s: out of memory"), k->key);
			return -1;
		}
		return 0;
	case SRV_KEY_LIST:
		if (add_list(p, list_count(c, k), k->size / sizeof(char *), value, k->lower)) {
			snprintf(why, sizeof(why), _("more than %zu values, or out of memory"),
				 k->size / sizeof(char *));
			return fail(err, errlen, k->key, value, why);
		}
		return 0;
	}
	return -1;
}

int srv_config_set(struct srv_config *c, const char *key, const char *value, char *err,
		   size_t errlen)
{
	const struct srv_key *k = srv_config_key(key);
	if (!k) {
		char q[300];
		snprintf(err, errlen, _("unknown key %s"), log_quote(q, sizeof(q), key));
		return -1;
	}
	return set_value(c, k, value, err, errlen);
}

struct ini_ctx {
	struct srv_config *c;
	char *err;
	size_t errlen;
	int failed;
};

/* Debian's libinih passes no line number: returning 0 makes ini_parse_file
 * return the line of the first error, which load_file() reports. */
static int ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *x = user;
	if (x->failed)
		return 0;
	if (section && *section) {
		snprintf(x->err, x->errlen, _("sections are not used (\"[%s]\")"), section);
		x->failed = 1;
		return 0;
	}
	if (srv_config_set(x->c, name, value, x->err, x->errlen)) {
		x->failed = 1;
		return 0;
	}
	return 1;
}

int srv_config_read(struct srv_config *c, FILE *f, const char *name, char *err, size_t errlen)
{
	char why[600] = "";
	struct ini_ctx x = { c, why, sizeof(why), 0 };
	int rc = ini_parse_file(f, ini_cb, &x);
	if (x.failed) {
		snprintf(err, errlen, _("%s: line %d: %s"), name, rc, why);
		return -1;
	}
	if (rc) {
		snprintf(err, errlen, _("%s: line %d: expected \"key = value\""), name, rc);
		return -1;
	}
	return 0;
}

static int load_file(struct srv_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	int rc = srv_config_read(c, f, path, err, errlen);
	fclose(f);
	return rc;
}

/* The argument of a flag in --help and of a key in the sample: "N",
 * "maildir|discard". */
static void arg_name(const struct srv_key *k, char *out, size_t outlen)
{
	if (k->type == SRV_KEY_CHOICE)
		choice_list(k, "|", "|", out, outlen);
	else
		snprintf(out, outlen, "%s", k->arg ? k->arg : "VALUE");
}

/* Flags that are not keys */
static const struct {
	char short_flag;
	const char *flag, *arg, *help;
} other_flags[] = {
	{ 'c', "config", "FILE", N_("read key = value settings (flags win)") },
	{ 0, "print-config-sample", NULL, N_("print a commented config file with every key") },
	{ 'h', "help", NULL, N_("this text") },
	{ 'V', "version", NULL, N_("print the version") },
};

static void usage_line(FILE *out, char short_flag, const char *flag, const char *arg,
		       const char *help)
{
	char left[80];
	int n = snprintf(left, sizeof(left), "  %c%c%s--%s%s%s", short_flag ? '-' : ' ',
			 short_flag ? short_flag : ' ', short_flag ? ", " : "  ", flag,
			 arg ? " " : "", arg ? arg : "");
	if (n < 32)
		fprintf(out, "%-32s%s\n", left, help);
	else
		fprintf(out, "%s\n%32s%s\n", left, "", help);
}

void srv_config_usage(FILE *out, const char *prog)
{
	fprintf(out, _("usage: %s [options]\n"), prog);
	for (size_t i = 0; i < sizeof(other_flags) / sizeof(other_flags[0]); i++)
		usage_line(out, other_flags[i].short_flag, other_flags[i].flag, other_flags[i].arg,
			   _(other_flags[i].help));
	const struct srv_key *keys = srv_config_keys;
	for (size_t i = 0; i < srv_config_nkeys; i++) {
		const struct srv_key *k = &keys[i];
		char arg[100];
		arg_name(k, arg, sizeof(arg));
		if (k->flag)
			usage_line(out, k->short_flag, k->flag, k->flag_sets ? NULL : arg, _(k->help));
	}
	fprintf(out, _("Every setting is also a config key: see --print-config-sample.\n"));
}

void srv_config_sample(FILE *out)
{
	fprintf(out, "# posternd.conf: every key with its default (posternd --print-config-sample).\n"
		     "# \"key = value\" lines; \"#\" and \";\" start comments; a flag given to\n"
		     "# posternd wins over the file. Remove the \"#\" before a key to change it.\n");
	const struct srv_key *keys = srv_config_keys;
	for (size_t i = 0; i < srv_config_nkeys; i++) {
		const struct srv_key *k = &keys[i];
		char arg[100];
		arg_name(k, arg, sizeof(arg));
		fprintf(out, "\n# %s\n", k->help);
		if (k->flag && k->short_flag)
			fprintf(out, "# flag: -%c, --%s", k->short_flag, k->flag);
		else if (k->flag)
			fprintf(out, "# flag: --%s", k->flag);
		if (k->flag && k->flag_sets)
			fprintf(out, " (sets %s)", k->flag_sets);
		if (k->alias)
			fprintf(out, "%salso spelled: %s", k->flag ? "; " : "# ", k->alias);
		if (k->flag || k->alias)
			fprintf(out, "\n");
		if (k->type == SRV_KEY_UINT)
			fprintf(out, "# %llu to %llu\n", (unsigned long long)k->min,
				(unsigned long long)k->max);
		else if (k->type != SRV_KEY_STR && k->type != SRV_KEY_TEXT)
			fprintf(out, "# %s%s\n", arg,
				k->type == SRV_KEY_LIST ? ", several separated by spaces or commas" : "");
		if (k->def)
			fprintf(out, "#%s = %s\n", k->key, k->def);
		else
			fprintf(out, "# default: %s\n#%s = %s\n", k->def_doc ? k->def_doc : "none",
				k->key, arg);
	}
}

enum { OPT_PRINT_SAMPLE = 0x100, OPT_KEY = 0x200 };

int srv_config_load(struct srv_config *c, int argc, char **argv, char *err, size_t errlen)
{
	const struct srv_key *keys = srv_config_keys;
	size_t nkeys = srv_config_nkeys;
	size_t nother = sizeof(other_flags) / sizeof(other_flags[0]);
	struct option *opts = calloc(nkeys + nother + 1, sizeof(*opts));
	char *shorts = calloc(2 * (nkeys + nother) + 1, 1);
	bool *seen = calloc(nkeys + 1, sizeof(*seen));
	int rc = -1;
	if (!opts || !shorts || !seen) {
		snprintf(err, errlen, _("out of memory"));
		goto out;
	}
	size_t no = 0, ns = 0;
	for (size_t i = 0; i < nother; i++) {
		int val = other_flags[i].short_flag ? other_flags[i].short_flag : OPT_PRINT_SAMPLE;
		opts[no++] = (struct option){ other_flags[i].flag,
					      other_flags[i].arg ? required_argument : no_argument,
					      NULL, val };
		if (other_flags[i].short_flag) {
			shorts[ns++] = other_flags[i].short_flag;
			if (other_flags[i].arg)
				shorts[ns++] = ':';
		}
	}
	for (size_t i = 0; i < nkeys; i++) {
		if (!keys[i].flag)
			continue;
		opts[no++] = (struct option){ keys[i].flag,
					      keys[i].flag_sets ? no_argument : required_argument,
					      NULL, OPT_KEY + (int)i };
		if (keys[i].short_flag) {
			shorts[ns++] = keys[i].short_flag;
			if (!keys[i].flag_sets)
				shorts[ns++] = ':';
		}
	}
	/* First pass: only --config, so that flags override the file. */
	optind = 1;
	opterr = 0;
	int o;
	while ((o = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		if (o == 'c' && set_str(&c->config_file, optarg)) {
			snprintf(err, errlen, _("out of memory"));
			goto out;
		}
		if (o == 'h' || o == 'V' || o == OPT_PRINT_SAMPLE) {
			if (o == 'h')
				srv_config_usage(stdout, argv[0]);
			else if (o == 'V')
				printf("posternd %s\n", POSTERN_VERSION);
			else
				srv_config_sample(stdout);
			rc = 1;
			goto out;
		}
		if (o == '?') {
			snprintf(err, errlen, _("unknown or incomplete option \"%s\""), argv[optind - 1]);
			goto out;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, _("unexpected argument \"%s\""), argv[optind]);
		goto out;
	}
	if (c->config_file && load_file(c, c->config_file, err, errlen))
		goto out;
	optind = 1;
	while ((o = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		const struct srv_key *k = NULL;
		if (o >= OPT_KEY)
			k = &keys[o - OPT_KEY];
		for (size_t i = 0; !k && o != 'c' && i < nkeys; i++)
			if (keys[i].short_flag == o)
				k = &keys[i];
		if (!k)
			continue;
		/* a list flag replaces what the file gave, and grows when repeated */
		if (k->type == SRV_KEY_LIST && !seen[k - keys])
			free_list(field(c, k), list_count(c, k));
		seen[k - keys] = true;
		if (set_value(c, k, k->flag_sets ? k->flag_sets : optarg, err, errlen))
			goto out;
	}
	rc = srv_config_finish(c, err, errlen);
out:
	free(opts);
	free(shorts);
	free(seen);
	return rc;
}

int srv_config_finish(struct srv_config *c, char *err, size_t errlen)
{
	/* the queue's schedule: the keys' checks accepted both strings */
	uint64_t lifetime;
	char reason[300];
	if (queue_retry_parse(&c->retry, c->retry_schedule, reason, sizeof(reason)))
		return fail(err, errlen, "retry_schedule", c->retry_schedule, reason);
	if (queue_duration_parse(c->max_queue_lifetime, &lifetime)) {
		/* the key's own check words the reason */
		(void)srv_config_key("max_queue_lifetime")
			->check(c->max_queue_lifetime, reason, sizeof(reason));
		return fail(err, errlen, "max_queue_lifetime", c->max_queue_lifetime, reason);
	}
	c->retry.max_lifetime = lifetime;
	if (!c->tls_cert != !c->tls_key) {
		snprintf(err, errlen, _("tls_cert and tls_key go together: give both or neither"));
		return -1;
	}
	c->smtp.tls_available = c->tls_cert != NULL;
	size_t nlisten = 0;
	for (int k = 0; k < SRV_LISTEN_KINDS; k++) {
		nlisten += c->nlisten[k];
		if (c->nlisten[k] && srv_listen_implicit_tls(k) && !c->tls_cert) {
			snprintf(err, errlen, _("%s = \"%s\" needs a certificate (tls_cert and tls_key)"),
				 listen_keys[k], c->listen[k][0]);
			return -1;
		}
		if (c->nlisten[k] && srv_listen_is_submission(k) && !c->users_file) {
			snprintf(err, errlen, _("%s = \"%s\" needs a users file (users = FILE or --users FILE)"),
				 listen_keys[k], c->listen[k][0]);
			return -1;
		}
	}
	if (c->store == STORE_LMTP && !c->lmtp) {
		snprintf(err, errlen, _("store = lmtp needs an LMTP server (lmtp = HOST:PORT or unix:/path)"));
		return -1;
	}
	if (c->smtp.require_tls && !c->tls_cert) {
		snprintf(err, errlen, _("require_tls = yes needs a certificate (tls_cert and tls_key)"));
		return -1;
	}
	if (nlisten > SRV_MAX_LISTEN) {
		snprintf(err, errlen, _("listen, listen_tls, listen_submission, listen_submissions: "
			 "more than %d listeners in all"), SRV_MAX_LISTEN);
		return -1;
	}
	/* no listener of any kind given: the default plain one */
	if (nlisten == 0 && add_list(c->listen[SRV_LISTEN_SMTP], &c->nlisten[SRV_LISTEN_SMTP],
				     SRV_MAX_LISTEN, "127.0.0.1:2525", false))
		return -1;
	if (c->ndomains == 0) {
		/* default: localhost and our own name */
		if (add_list(c->domains, &c->ndomains, SRV_MAX_DOMAINS, "localhost", true) ||
		    add_list(c->domains, &c->ndomains, SRV_MAX_DOMAINS, c->hostname, true))
			return -1;
	}
	if (c->workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		c->workers = n > 0 ? (unsigned)n : 1;
	}
	c->smtp.hostname = c->hostname;
	c->smtp.banner = c->banner;
	/* RFC 6409 §4.3: a submission server refuses MAIL before AUTH (530
	 * 5.7.0); with a certificate, as Postfix's submission service, it wants
	 * TLS first, so that no password crosses the network in the clear */
	c->submission = c->smtp;
	c->submission.require_auth = true;
	c->submission.require_tls = c->tls_cert != NULL;
	if (c->auth_mechanisms) {
		char why[300];
		if (sasl_check_mechanisms(c->auth_mechanisms, c->cram_md5, why, sizeof(why)))
			return fail(err, errlen, "auth_mechanisms", c->auth_mechanisms, why);
	}
	if (c->smtp.require_auth && !c->users_file) {
		snprintf(err, errlen, _("require_auth = yes needs a users file (users = FILE or --users FILE)"));
		return -1;
	}
	return 0;
}
