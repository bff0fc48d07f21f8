#include "server/config.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/str.h"
#include "sasl/sasl.h"

void srv_config_defaults(struct srv_config *c)
{
	memset(c, 0, sizeof(*c));
	smtp_config_defaults(&c->smtp);
	if (gethostname(c->hostname, sizeof(c->hostname) - 1) != 0 || !c->hostname[0])
		str_copy(c->hostname, sizeof(c->hostname), "localhost", 9);
	str_copy(c->banner, sizeof(c->banner), "ESMTP postern", 13);
	c->store = STORE_MAILDIR;
	c->maildir = strdup("/var/lib/postern/mail");
	c->max_connections = 1000;
	c->max_connections_per_ip = 50;
	c->command_timeout = 300;
	c->shutdown_timeout = 30;
	c->auth_delay_max = SRV_DEFAULT_AUTH_DELAY_MAX;
	c->tls_handshake_timeout = 10;
	c->auth_cache_ttl = 3600;
}

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

void srv_config_free(struct srv_config *c)
{
	for (int k = 0; k < SRV_LISTEN_KINDS; k++)
		free_list(c->listen[k], &c->nlisten[k]);
	free_list(c->domains, &c->ndomains);
	free(c->maildir);
	free(c->recipients_file);
	free(c->config_file);
	free(c->users_file);
	free(c->auth_mechanisms);
	c->maildir = c->recipients_file = c->config_file = NULL;
	c->users_file = c->auth_mechanisms = NULL;
	free(c->tls_cert);
	free(c->tls_key);
	free(c->user);
	c->tls_cert = c->tls_key = c->user = NULL;
}

static int fail(char *err, size_t errlen, const char *key, const char *value, const char *why)
{
	snprintf(err, errlen, "%s = \"%s\": %s", key, value, why);
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

int srv_config_set(struct srv_config *c, const char *key, const char *value, char *err,
		   size_t errlen)
{
	uint64_t u;
	bool b;
#define UINT_KEY(name, min, max, field)                                                   \
	if (!strcmp(key, name)) {                                                          \
		if (parse_uint(value, min, max, &u))                                       \
			return fail(err, errlen, key, value,                               \
				    "expected a whole number from " #min " to " #max);     \
		field = u;                                                                 \
		return 0;                                                                  \
	}
	UINT_KEY("max_message_size", 0, UINT64_C(1) << 40, c->smtp.max_message_size)
	UINT_KEY("max_recipients", SMTP_MIN_MAX_RECIPIENTS, 100000, c->smtp.max_recipients)
	UINT_KEY("max_errors", 1, 1000, c->smtp.max_errors)
	UINT_KEY("line_limit", SMTP_LINE_MIN, 65536, c->smtp.line_limit)
	UINT_KEY("text_line_limit", 0, 1u << 30, c->smtp.text_line_limit)
	UINT_KEY("max_connections", 1, 1000000, c->max_connections)
	UINT_KEY("max_connections_per_ip", 0, 1000000, c->max_connections_per_ip)
	UINT_KEY("command_timeout", 1, 86400, c->command_timeout)
	UINT_KEY("shutdown_timeout", 0, 86400, c->shutdown_timeout)
	UINT_KEY("workers", 0, 256, c->workers)
	UINT_KEY("max_auth_failures", 1, 100, c->smtp.max_auth_failures)
	UINT_KEY("auth_delay_max", 0, 60000, c->auth_delay_max)
	UINT_KEY("tls_handshake_timeout", 1, 3600, c->tls_handshake_timeout)
	UINT_KEY("auth_cache_ttl", 0, 86400, c->auth_cache_ttl)
#undef UINT_KEY
#define BOOL_KEY(name, field)                                                             \
	if (!strcmp(key, name)) {                                                          \
		if (parse_bool(value, &b))                                                 \
			return fail(err, errlen, key, value, "expected yes or no");        \
		field = b;                                                                 \
		return 0;                                                                  \
	}
	BOOL_KEY("cram_md5", c->cram_md5)
	BOOL_KEY("auth_plaintext", c->auth_plaintext)
	BOOL_KEY("require_auth", c->smtp.require_auth)
	BOOL_KEY("require_tls", c->smtp.require_tls)
#undef BOOL_KEY
	if (!strcmp(key, "users")) {
		if (!*value)
			return fail(err, errlen, key, value, "empty path");
		return set_str(&c->users_file, value);
	}
	if (!strcmp(key, "tls_cert") || !strcmp(key, "tls_key") || !strcmp(key, "user")) {
		if (!*value)
			return fail(err, errlen, key, value, "empty value");
		return set_str(!strcmp(key, "tls_cert") ? &c->tls_cert
			       : !strcmp(key, "tls_key") ? &c->tls_key : &c->user, value);
	}
	if (!strcmp(key, "auth_mechanisms")) {
		char why[300];
		/* CRAM-MD5 against cram_md5 is checked once every key is read */
		if (sasl_check_mechanisms(value, true, why, sizeof(why)))
			return fail(err, errlen, key, value, why);
		return set_str(&c->auth_mechanisms, value);
	}
	if (!strcmp(key, "hostname")) {
		if (!*value || !smtp_cmd_valid_helo(value, strlen(value)) ||
		    strlen(value) >= sizeof(c->hostname))
			return fail(err, errlen, key, value, "not a valid host name");
		str_copy(c->hostname, sizeof(c->hostname), value, strlen(value));
		return 0;
	}
	if (!strcmp(key, "banner")) {
		for (const char *p = value; *p; p++)
			if ((unsigned char)*p < 0x20)
				return fail(err, errlen, key, value, "control characters");
		str_copy(c->banner, sizeof(c->banner), value, strlen(value));
		return 0;
	}
	for (int k = 0; k < SRV_LISTEN_KINDS; k++) {
		if (strcmp(key, listen_keys[k]))
			continue;
		if (add_list(c->listen[k], &c->nlisten[k], SRV_MAX_LISTEN, value, false))
			return fail(err, errlen, key, value, "too many listeners");
		return 0;
	}
	if (!strcmp(key, "domains") || !strcmp(key, "domain")) {
		if (add_list(c->domains, &c->ndomains, SRV_MAX_DOMAINS, value, true))
			return fail(err, errlen, key, value, "too many domains");
		return 0;
	}
	if (!strcmp(key, "store")) {
		if (!strcmp(value, "maildir"))
			c->store = STORE_MAILDIR;
		else if (!strcmp(value, "discard"))
			c->store = STORE_DISCARD;
		else
			return fail(err, errlen, key, value, "expected maildir or discard");
		return 0;
	}
	if (!strcmp(key, "maildir")) {
		if (!*value)
			return fail(err, errlen, key, value, "empty path");
		return set_str(&c->maildir, value);
	}
	if (!strcmp(key, "recipients"))
		return set_str(&c->recipients_file, value);
	if (!strcmp(key, "line_endings")) {
		if (!strcmp(value, "strict"))
			c->smtp.lenient_line_endings = false;
		else if (!strcmp(value, "lenient"))
			c->smtp.lenient_line_endings = true;
		else
			return fail(err, errlen, key, value, "expected strict or lenient");
		return 0;
	}
	if (!strcmp(key, "bare_newline")) {
		if (!strcmp(value, "normalize"))
			c->smtp.bare_newline = SMTP_BARE_NORMALIZE;
		else if (!strcmp(value, "reject"))
			c->smtp.bare_newline = SMTP_BARE_REJECT;
		else
			return fail(err, errlen, key, value, "expected normalize or reject");
		return 0;
	}
	if (!strcmp(key, "limit_loopback")) {
		if (parse_bool(value, &b))
			return fail(err, errlen, key, value, "expected yes or no");
		c->limit_loopback = b;
		return 0;
	}
	if (!strcmp(key, "log_level")) {
		if (!strcmp(value, "debug"))
			c->log_debug = true;
		else if (!strcmp(value, "info"))
			c->log_debug = false;
		else
			return fail(err, errlen, key, value, "expected info or debug");
		return 0;
	}
	snprintf(err, errlen, "unknown key \"%s\"", key);
	return -1;
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
		snprintf(x->err, x->errlen, "sections are not used (\"[%s]\")", section);
		x->failed = 1;
		return 0;
	}
	if (srv_config_set(x->c, name, value, x->err, x->errlen)) {
		x->failed = 1;
		return 0;
	}
	return 1;
}

static int load_file(struct srv_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char why[600] = "";
	struct ini_ctx x = { c, why, sizeof(why), 0 };
	int rc = ini_parse_file(f, ini_cb, &x);
	fclose(f);
	if (x.failed) {
		snprintf(err, errlen, "%s: line %d: %s", path, rc, why);
		return -1;
	}
	if (rc) {
		snprintf(err, errlen, "%s: line %d: expected \"key = value\"", path, rc);
		return -1;
	}
	return 0;
}

void srv_config_usage(const char *prog)
{
	printf("usage: %s [options]\n"
	       "  -c, --config FILE            read key = value settings (flags win)\n"
	       "  -l, --listen ADDR:PORT       listen (repeatable; [::1]:25 for IPv6)\n"
	       "  -m, --maildir DIR            Maildir root\n"
	       "      --store maildir|discard  where accepted mail goes\n"
	       "  -H, --hostname NAME          name in the greeting and Received\n"
	       "  -d, --domain DOMAIN          local domain (repeatable)\n"
	       "      --recipients FILE        accept only the addresses listed\n"
	       "      --max-message-size N     octets (SIZE)\n"
	       "      --max-connections N      global connection limit\n"
	       "      --command-timeout S      idle seconds before 421 4.4.2\n"
	       "  -w, --workers N              event loops (default: one per core)\n"
	       "      --line-endings strict|lenient\n"
	       "      --users FILE             users for SMTP AUTH (AUTH is off without it)\n"
	       "      --auth-plaintext         allow PLAIN and LOGIN without TLS\n"
	       "      --listen-tls ADDR:PORT   implicit TLS listener (repeatable; RFC 8314)\n"
	       "      --listen-submission ADDR:PORT   submission listener: AUTH before MAIL,\n"
	       "                               STARTTLS first with a certificate (RFC 6409)\n"
	       "      --listen-submissions ADDR:PORT  submission over implicit TLS (RFC 8314)\n"
	       "      --tls-cert FILE          certificate chain (PEM): enables STARTTLS\n"
	       "      --tls-key FILE           its private key (PEM)\n"
	       "      --require-tls            refuse mail commands before STARTTLS (530)\n"
	       "  -u, --user NAME              drop privileges to NAME after binding\n"
	       "      --debug                  log at debug level\n"
	       "  -h, --help, -V, --version\n",
	       prog);
}

int srv_config_load(struct srv_config *c, int argc, char **argv, char *err, size_t errlen)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "maildir", required_argument, NULL, 'm' },
		{ "store", required_argument, NULL, 1 },
		{ "hostname", required_argument, NULL, 'H' },
		{ "domain", required_argument, NULL, 'd' },
		{ "recipients", required_argument, NULL, 2 },
		{ "max-message-size", required_argument, NULL, 3 },
		{ "max-connections", required_argument, NULL, 4 },
		{ "command-timeout", required_argument, NULL, 5 },
		{ "workers", required_argument, NULL, 'w' },
		{ "line-endings", required_argument, NULL, 6 },
		{ "debug", no_argument, NULL, 7 },
		{ "users", required_argument, NULL, 8 },
		{ "auth-plaintext", no_argument, NULL, 9 },
		{ "listen-tls", required_argument, NULL, 10 },
		{ "tls-cert", required_argument, NULL, 11 },
		{ "tls-key", required_argument, NULL, 12 },
		{ "require-tls", no_argument, NULL, 13 },
		{ "listen-submission", required_argument, NULL, 14 },
		{ "listen-submissions", required_argument, NULL, 15 },
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	/* First pass: only --config, so that flags override the file. */
	optind = 1;
	opterr = 0;
	int o;
	while ((o = getopt_long(argc, argv, "c:l:m:H:d:w:u:hV", opts, NULL)) != -1) {
		if (o == 'c' && set_str(&c->config_file, optarg))
			return -1;
		if (o == 'h') {
			srv_config_usage(argv[0]);
			return 1;
		}
		if (o == 'V') {
			printf("posternd 0.1.0\n");
			return 1;
		}
		if (o == '?') {
			snprintf(err, errlen, "unknown or incomplete option \"%s\"", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument \"%s\"", argv[optind]);
		return -1;
	}
	if (c->config_file && load_file(c, c->config_file, err, errlen))
		return -1;
	/* Flags that repeat replace what the file gave. */
	bool listen_flag[SRV_LISTEN_KINDS] = { false }, domain_flag = false;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:l:m:H:d:w:u:hV", opts, NULL)) != -1) {
		const char *key = NULL;
		char why[512];
		int kind = o == 'l' ? SRV_LISTEN_SMTP : o == 10 ? SRV_LISTEN_TLS
			 : o == 14 ? SRV_LISTEN_SUBMISSION : o == 15 ? SRV_LISTEN_SUBMISSIONS : -1;
		if (kind >= 0) {
			if (!listen_flag[kind])
				free_list(c->listen[kind], &c->nlisten[kind]);
			listen_flag[kind] = true;
			key = listen_keys[kind];
		}
		switch (o) {
		case 'd':
			if (!domain_flag)
				free_list(c->domains, &c->ndomains);
			domain_flag = true;
			key = "domains";
			break;
		case 'm': key = "maildir"; break;
		case 1: key = "store"; break;
		case 'H': key = "hostname"; break;
		case 2: key = "recipients"; break;
		case 3: key = "max_message_size"; break;
		case 4: key = "max_connections"; break;
		case 5: key = "command_timeout"; break;
		case 'w': key = "workers"; break;
		case 6: key = "line_endings"; break;
		case 7: c->log_debug = true; break;
		case 8: key = "users"; break;
		case 9: c->auth_plaintext = true; break;
		case 11: key = "tls_cert"; break;
		case 12: key = "tls_key"; break;
		case 13: c->smtp.require_tls = true; break;
		case 'u': key = "user"; break;
		default: break;
		}
		if (key && srv_config_set(c, key, optarg, why, sizeof(why))) {
			snprintf(err, errlen, "%s", why);
			return -1;
		}
	}
	return srv_config_finish(c, err, errlen);
}

int srv_config_finish(struct srv_config *c, char *err, size_t errlen)
{
	if (!c->tls_cert != !c->tls_key) {
		snprintf(err, errlen, "tls_cert and tls_key go together: give both or neither");
		return -1;
	}
	c->smtp.tls_available = c->tls_cert != NULL;
	size_t nlisten = 0;
	for (int k = 0; k < SRV_LISTEN_KINDS; k++) {
		nlisten += c->nlisten[k];
		if (c->nlisten[k] && srv_listen_implicit_tls(k) && !c->tls_cert) {
			snprintf(err, errlen, "%s = \"%s\" needs a certificate (tls_cert and tls_key)",
				 listen_keys[k], c->listen[k][0]);
			return -1;
		}
		if (c->nlisten[k] && srv_listen_is_submission(k) && !c->users_file) {
			snprintf(err, errlen, "%s = \"%s\" needs a users file (users = FILE or --users FILE)",
				 listen_keys[k], c->listen[k][0]);
			return -1;
		}
	}
	if (c->smtp.require_tls && !c->tls_cert) {
		snprintf(err, errlen, "require_tls = yes needs a certificate (tls_cert and tls_key)");
		return -1;
	}
	if (nlisten > SRV_MAX_LISTEN) {
		snprintf(err, errlen, "listen, listen_tls, listen_submission, listen_submissions: "
			 "more than %d listeners in all", SRV_MAX_LISTEN);
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
		if (sasl_check_mechanisms(c->auth_mechanisms, c->cram_md5, why, sizeof(why))) {
			snprintf(err, errlen, "auth_mechanisms = \"%s\": %s", c->auth_mechanisms, why);
			return -1;
		}
	}
	if (c->smtp.require_auth && !c->users_file) {
		snprintf(err, errlen, "require_auth = yes needs a users file (users = FILE or --users FILE)");
		return -1;
	}
	return 0;
}
