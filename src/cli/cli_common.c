/* Option handling that `postern send`, `probe` and `explain` share, and
 * the default EHLO name. */
#include "cli/cli_common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/postern_cmds.h"
#include "smtp/cmd.h"

/* --timeout SEC: whole seconds, 1 to 3600. 0, or -1 when malformed. */
static int parse_timeout(const char *arg, long *sec)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || v < 1 || v > 3600)
		return -1;
	*sec = v;
	return 0;
}

/* --tls-verify yes|no into *verify. 0, or -1 for anything else. */
static int parse_tls_verify(const char *arg, bool *verify)
{
	if (strcmp(arg, "no") == 0)
		*verify = false;
	else if (strcmp(arg, "yes") != 0)
		return -1;
	return 0;
}

void cli_net_option(struct cli_net_opts *o, int ch, const char *arg, const char *current)
{
	const char *bad = NULL;

	switch (ch) {
	case 'o':
		if (parse_timeout(arg, &o->timeout) != 0)
			bad = "--timeout";
		break;
	case 'c': o->cafile = arg; break;
	case 'k': o->verify = false; break;
	case 'V':
		if (parse_tls_verify(arg, &o->verify) != 0)
			bad = "--tls-verify";
		break;
	case 'H': o->helo = arg; break;
	case 'l': o->lang = arg; break;
	case 'h': o->help = true; break;
	default: bad = current; break;
	}
	if (bad && !o->bad)
		o->bad = bad;
}

int cli_options_done(const char *prog, const char *lang, const char **chosen, bool help,
		     const char *bad, void (*usage)(FILE *f), int usage_status)
{
	if (postern_i18n_init(lang, chosen) != 0) {
		postern_i18n_init(NULL, chosen);
		fprintf(stderr, "%s: ", prog);
		fprintf(stderr, _("no translation for language \"%s\"\n"), lang);
		return usage_status;
	}
	if (help) {
		usage(stdout);
		return 0;
	}
	if (bad) {
		fprintf(stderr, "%s: ", prog);
		fprintf(stderr, _("bad option \"%s\"\n"), bad);
		usage(stderr);
		return usage_status;
	}
	return -1;
}

void cli_helo_name(char *out, size_t cap)
{
	char h[256];

	if (gethostname(h, sizeof(h)) == 0 && (h[sizeof(h) - 1] = '\0', h[0]) &&
	    smtp_cmd_valid_helo(h, strlen(h)) && strlen(h) < cap)
		snprintf(out, cap, "%s", h);
	else
		snprintf(out, cap, "localhost");
}
