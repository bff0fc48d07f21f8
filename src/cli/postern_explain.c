/* `postern explain CODE...`: argument parsing and wiring only; the
 * explanation is built by client/explain from smtp/codes. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_common.h"
#include "cli/postern_cmds.h"
#include "client/explain.h"
#include "common/buf.h"

static void usage(FILE *f)
{
	fputs(_("usage: postern explain [--lang LANG] [--json] CODE...\n"), f);
	fputs(_("  CODE is a reply code (550), an enhanced status code (5.1.1) or both (\"550 5.1.1\").\n"
		"  Two or more codes are compared.\n"), f);
	fputs(_("  --lang LANG  language of the output: en (the default) or th;\n"
		"               without it, LANGUAGE, LC_ALL, LC_MESSAGES and LANG decide\n"), f);
	fputs(_("  --json       print the same facts as one JSON object\n"), f);
	fputs(_("Exit status: 0 explained, 2 a malformed code or a usage error.\n"), f);
}

int postern_explain_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "lang", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *lang = NULL, *chosen;
	const char *bad_opt = NULL;
	bool json = false, help = false;
	int ch;

	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': lang = optarg; break;
		case 'j': json = true; break;
		case 'h': help = true; break;
		default:
			if (!bad_opt)
				bad_opt = argv[optind - 1];
			break;
		}
	}
	/* here a bad option wins over --help */
	int done = cli_options_done("postern explain", lang, &chosen, false, bad_opt, usage, 2);

	if (done >= 0)
		return done;
	if (help) {
		usage(stdout);
		return 0;
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}

	struct client_explain_code codes[CLIENT_EXPLAIN_MAX_CODES];
	size_t n, bad;
	int rc = client_explain_parse_args(argv + optind, (size_t)(argc - optind), codes, &n, &bad);

	if (rc != EXPLAIN_OK) {
		fprintf(stderr, "postern explain: ");
		fprintf(stderr, _(client_explain_strerror(rc)), argv[optind + (int)bad]);
		fputc('\n', stderr);
		return 2;
	}

	struct buf out;
	client_explain_tr tr = postern_translating() ? postern_tr : NULL;

	buf_init(&out, CLIENT_EXPLAIN_MAX_OUTPUT);
	rc = json ? client_explain_json(&out, codes, n, tr, chosen)
		  : client_explain_text(&out, codes, n, tr);
	if (rc != BUF_OK) {
		fprintf(stderr, "postern explain: %s\n", _("out of memory"));
		buf_fini(&out);
		return 1;
	}
	size_t w = fwrite(out.data, 1, out.len, stdout);
	bool ok = w == out.len && fflush(stdout) == 0;

	buf_fini(&out);
	if (!ok) {
		perror("postern explain: stdout");
		return 1;
	}
	return 0;
}
