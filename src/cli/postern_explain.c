/* `postern explain CODE...`, `postern explain -` and `postern explain --all`:
 * argument parsing and wiring only; the explanation is built by
 * client/explain from smtp/codes, a pasted transcript is read by
 * client/paste. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/cli_common.h"
#include "cli/postern_cmds.h"
#include "client/explain.h"
#include "client/paste.h"
#include "common/buf.h"

static void usage(FILE *f)
{
	fputs(_("usage: postern explain [--lang LANG] [--json] CODE...\n"
		"       postern explain [--lang LANG] [--json] -     (a transcript or log on stdin)\n"
		"       postern explain [--lang LANG] [--json] --all\n"), f);
	fputs(_("  CODE is a reply code (550), an enhanced status code (5.1.1 or X.1.1),\n"
		"  both (\"550 5.1.1\"), or a whole reply line (\"535-5.7.8 Username ...\").\n"
		"  Two or more codes are compared. With -, or with no CODE and a pipe on\n"
		"  stdin, every reply in the text (postern send -v, swaks, S:/C: lines,\n"
		"  Postfix logs) is explained in order.\n"), f);
	fputs(_("  --lang LANG  language of the output: en (the default) or th;\n"
		"               without it, LANGUAGE, LC_ALL, LC_MESSAGES and LANG decide\n"), f);
	fputs(_("  --json       print the same facts as one JSON object (schema 1)\n"), f);
	fputs(_("  --all        explain every code of the table\n"), f);
	fputs(_("Exit status: 0 every code is defined, 1 a well-formed code that is not\n"
		"defined or an impossible combination, 2 input that is not a code, or a usage error.\n"), f);
}

/* Columns to wrap to: the terminal's, or 80 when stdout is not one. */
static size_t out_width(void)
{
	struct winsize ws;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* Write out (wrapped to the terminal when text); 0, or 1 on a write error. */
static int emit(const struct buf *out, bool json)
{
	struct buf wrapped;
	const struct buf *b = out;
	int rc = 0;

	buf_init(&wrapped, CLIENT_EXPLAIN_MAX_OUTPUT * 2);
	if (!json) {
		if (client_explain_wrap(&wrapped, out->data, out->len, out_width()) != BUF_OK) {
			fprintf(stderr, "postern explain: %s\n", _("out of memory"));
			buf_fini(&wrapped);
			return 1;
		}
		b = &wrapped;
	}
	if (fwrite(b->data, 1, b->len, stdout) != b->len) {
		perror("postern explain: stdout");
		rc = 1;
	}
	buf_fini(&wrapped);
	return rc;
}

struct paste_run {
	client_explain_tr tr;
	bool json;
	int status;  /* the worst exit status so far */
	int err;     /* a buf error, or a write error (1) */
};

static int paste_one(void *arg, const struct client_explain_code *c)
{
	struct paste_run *r = arg;
	struct buf out;
	static bool first = true;

	buf_init(&out, CLIENT_EXPLAIN_MAX_OUTPUT);
	/* text: one card per reply, a blank line between them */
	r->err = r->json || first ? BUF_OK : buf_append(&out, "\n", 1);
	if (r->err == BUF_OK)
		r->err = r->json ? client_explain_json_item(&out, c, r->tr, first)
				 : client_explain_text(&out, c, 1, r->tr);
	if (r->err == BUF_OK && emit(&out, r->json) != 0)
		r->err = 1;
	buf_fini(&out);
	first = false;
	if (client_explain_exit_status(c, 1) > r->status)
		r->status = client_explain_exit_status(c, 1);
	return r->err;
}

/* `postern explain -`: every reply in what comes on stdin, in order. */
static int explain_stdin(client_explain_tr tr, bool json, const char *lang, bool asked)
{
	struct buf in, out;
	char chunk[8192];
	size_t n, found = 0;
	struct paste_run r = { .tr = tr, .json = json };

	buf_init(&in, CLIENT_PASTE_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		/* past the limit, the rest is not read: say so rather than guess */
		if (buf_append(&in, chunk, n) != BUF_OK) {
			fprintf(stderr, "postern explain: ");
			fprintf(stderr, _("the input is longer than %u octets; explain a part of it"),
				CLIENT_PASTE_MAX);
			fputc('\n', stderr);
			buf_fini(&in);
			return 2;
		}
	}
	if (ferror(stdin)) {
		perror("postern explain: stdin");
		buf_fini(&in);
		return 2;
	}
	if (in.len == 0 && !asked) {
		/* `postern explain` alone, from a script with nothing on stdin */
		buf_fini(&in);
		usage(stderr);
		return 2;
	}
	buf_init(&out, 256);
	if (json && (client_explain_json_open(&out, lang) != BUF_OK || emit(&out, true) != 0)) {
		buf_fini(&out);
		buf_fini(&in);
		return 1;
	}
	int rc = client_paste_scan(in.data ? in.data : "", in.len, paste_one, &r, &found);

	buf_fini(&in);
	if (json && rc == 0) {
		buf_clear(&out);
		if (client_explain_json_close(&out) != BUF_OK || emit(&out, true) != 0)
			rc = 1;
	}
	buf_fini(&out);
	if (rc != 0)
		return 1;
	if (found == 0) {
		fprintf(stderr, "postern explain: %s\n",
			_("no reply code found in the input: paste reply lines such as \"550 5.1.1 User unknown\""));
		return 2;
	}
	return r.status;
}

int postern_explain_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "lang", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *lang = NULL, *chosen;
	const char *bad_opt = NULL;
	bool json = false, help = false, all = false;
	int ch;

	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': lang = optarg; break;
		case 'j': json = true; break;
		case 'a': all = true; break;
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
	client_explain_tr tr = postern_translating() ? postern_tr : NULL;
	bool dash = optind == argc - 1 && strcmp(argv[optind], "-") == 0;
	bool from_stdin = dash || (optind >= argc && !all && !isatty(STDIN_FILENO));

	if (all && optind < argc) {
		usage(stderr);
		return 2;
	}
	if (from_stdin)
		return explain_stdin(tr, json, chosen, dash);
	if (optind >= argc && !all) {
		usage(stderr);
		return 2;
	}

	struct client_explain_code *codes = calloc(CLIENT_EXPLAIN_MAX_CODES, sizeof(*codes));
	size_t n = 0, bad;
	int rc = EXPLAIN_OK;

	if (!codes) {
		fprintf(stderr, "postern explain: %s\n", _("out of memory"));
		return 1;
	}
	if (!all)
		rc = client_explain_parse_args(argv + optind, (size_t)(argc - optind), codes, &n, &bad);
	if (rc != EXPLAIN_OK) {
		fprintf(stderr, "postern explain: ");
		fprintf(stderr, _(client_explain_strerror(rc)), argv[optind + (int)bad]);
		fputc('\n', stderr);
		free(codes);
		return 2;
	}

	struct buf out;

	buf_init(&out, CLIENT_EXPLAIN_MAX_OUTPUT);
	if (all)
		rc = json ? client_explain_all_json(&out, tr, chosen) : client_explain_all_text(&out, tr);
	else
		rc = json ? client_explain_json(&out, codes, n, tr, chosen)
			  : client_explain_text(&out, codes, n, tr);
	int status = all ? EXPLAIN_EXIT_DEFINED : client_explain_exit_status(codes, n);

	free(codes);
	if (rc != BUF_OK) {
		fprintf(stderr, "postern explain: %s\n", _("out of memory"));
		buf_fini(&out);
		return 1;
	}
	int wrc = emit(&out, json);

	buf_fini(&out);
	if (wrc != 0 || fflush(stdout) != 0)
		return 1;
	return status;
}
