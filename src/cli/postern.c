/* postern: the client. Argument parsing and wiring only; each subcommand
 * lives in its own postern_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli/postern_cmds.h"

#ifndef POSTERN_VERSION
#define POSTERN_VERSION "unknown"
#endif

struct postern_cmd {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *summary; /* msgid */
};

static const struct postern_cmd cmds[] = {
	{ "explain", postern_explain_main, N_("explain SMTP reply codes and enhanced status codes") },
	{ "send", postern_send_main, N_("send a message, explaining every reply") },
	{ "probe", postern_probe_main, N_("report what a server offers and check how it behaves") },
	{ "queue", postern_queue_main, N_("list and manage a running posternd's queue") },
#ifdef POSTERN_HAVE_PASSWD
	{ "passwd", postern_passwd_main, N_("manage the users file") },
#endif
};

/* ---- dispatch ---- */

static void usage(FILE *f)
{
	fputs(_("usage: postern COMMAND [ARGUMENTS]\n"), f);
	fputs(_("commands:\n"), f);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, _(cmds[i].summary));
	fputs(_("Run \"postern COMMAND --help\" for the options of a command.\n"), f);
}

int main(int argc, char **argv)
{
	const char *lang;

	if (argc >= 2) {
		for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			if (strcmp(argv[1], cmds[i].name) == 0)
				return cmds[i].main(argc - 1, argv + 1);
		if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
			printf("postern %s\n", POSTERN_VERSION);
			return 0;
		}
	}
	postern_i18n_init(NULL, &lang);
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2) {
		fprintf(stderr, "postern: ");
		fprintf(stderr, _("unknown command \"%s\"\n"), argv[1]);
	}
	usage(stderr);
	return 2;
}
