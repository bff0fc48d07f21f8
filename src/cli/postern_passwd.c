/* postern passwd: manage the users file of posternd's SMTP AUTH.
 *
 *   postern passwd add|set NAME [--file F] [--stdin] [--cram-md5]
 *                               [--scheme yescrypt|sha512-crypt|bcrypt]
 *                               [--iterations N]
 *   postern passwd del NAME [--file F]
 *   postern passwd list [NAME] [--file F]
 *
 * The password is read from the terminal without echo (twice), or from one
 * line of standard input with --stdin. Every hash form is written (crypt,
 * SCRAM-SHA-256, SCRAM-SHA-1, and the CRAM-MD5 secret with --cram-md5); the
 * file is replaced atomically, mode 0600 (creds_file_edit). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/postern_cmds.h"
#include "cli/tty.h"
#include "creds/creds.h"

#define PASSWD_DEFAULT_FILE "/etc/postern/users"

static void usage(FILE *f)
{
	fputs(_("usage: postern passwd add|set NAME [--file FILE] [--stdin] [--cram-md5]\n"
		"                       [--scheme yescrypt|sha512-crypt|bcrypt] [--iterations N]\n"
		"       postern passwd del NAME [--file FILE]\n"
		"       postern passwd list [NAME] [--file FILE]\n"), f);
	fprintf(f, _("  --file FILE     the users file (default %s, or $POSTERN_USERS)\n"),
		PASSWD_DEFAULT_FILE);
	fputs(_("  --stdin         read the password from one line of standard input\n"
		"  --cram-md5      also store the secret CRAM-MD5 needs (the password itself)\n"
		"  --scheme S      the crypt(3) hash: yescrypt (default), sha512-crypt, bcrypt\n"
		"  --iterations N  SCRAM iteration count (default 4096)\n"), f);
}

/* One line on standard error after the program's name; fmt is translated. */
__attribute__((format(printf, 1, 2))) static void passwd_say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("postern passwd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Read the password twice from the terminal, without echo. */
static int read_tty_password(const char *name, char *pw, size_t cap)
{
	switch (cli_tty_open()) {
	case CLI_TTY_OK:
		break;
	case CLI_TTY_NONE:
		passwd_say(_("no terminal to read the password from (use --stdin)"));
		return -1;
	case CLI_TTY_GETATTR:
		passwd_say(_("/dev/tty: %s (use --stdin)"), strerror(errno));
		return -1;
	case CLI_TTY_SETATTR:
		passwd_say("/dev/tty: %s", strerror(errno));
		return -1;
	}
	char again[CREDS_PASSWORD_MAX + 2];
	int rc = -1;
	if (cli_tty_ask(pw, cap, _("Password for %s: "), name) == 1 &&
	    cli_tty_ask(again, sizeof(again), "%s", _("Retype password: ")) == 1) {
		if (strcmp(pw, again) == 0)
			rc = 0;
		else
			passwd_say(_("the passwords differ"));
	} else {
		passwd_say(_("no password read"));
	}
	creds_wipe(again, sizeof(again));
	cli_tty_close();
	return rc;
}

static const char *scheme_of(const char *hash)
{
	if (!hash[0])
		return "no-hash";
	if (hash[0] == '!' || hash[0] == '*')
		return "locked";
	if (!strncmp(hash, "$y$", 3))
		return "yescrypt";
	if (!strncmp(hash, "$gy$", 4))
		return "gost-yescrypt";
	if (!strncmp(hash, "$6$", 3))
		return "sha512-crypt";
	if (!strncmp(hash, "$5$", 3))
		return "sha256-crypt";
	if (!strncmp(hash, "$2", 2))
		return "bcrypt";
	return "crypt";
}

static void print_user(const struct creds_user *u)
{
	printf("%s\t%s%s%s%s\n", u->name, scheme_of(u->hash),
	       u->scram[CREDS_SCRAM_SHA256].iter ? " scram-sha-256" : "",
	       u->scram[CREDS_SCRAM_SHA1].iter ? " scram-sha-1" : "", u->cram_md5 ? " cram-md5" : "");
}

static int do_list(const char *file, const char *name)
{
	char err[1024];
	struct creds_db *db = creds_db_load(file, err, sizeof(err));
	if (!db) {
		passwd_say("%s", err);
		return 1;
	}
	int rc = 0;
	if (name) {
		const struct creds_user *u = creds_db_find(db, name);
		if (u)
			print_user(u);
		else {
			passwd_say(_("%s: no user \"%s\""), file, name);
			rc = 1;
		}
	} else {
		for (size_t i = 0; i < creds_db_count(db); i++)
			print_user(creds_db_user(db, i));
	}
	creds_db_unref(db);
	return rc;
}

static int passwd_run(const char *file, const char *cmd, const char *name, bool from_stdin,
		      const struct creds_entry_opts *eo);

int postern_passwd_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "stdin", no_argument, NULL, 's' },
		{ "cram-md5", no_argument, NULL, 'c' },
		{ "scheme", required_argument, NULL, 'S' },
		{ "iterations", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *lang;
	postern_i18n_init(NULL, &lang);
	const char *file = getenv("POSTERN_USERS");
	if (!file || !*file)
		file = PASSWD_DEFAULT_FILE;
	bool from_stdin = false;
	struct creds_entry_opts eo = { .scheme = CREDS_YESCRYPT, .iter = 0, .cram_md5 = false };
	optind = 1;
	opterr = 0;
	int o;
	while ((o = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		switch (o) {
		case 'f':
			file = optarg;
			break;
		case 's':
			from_stdin = true;
			break;
		case 'c':
			eo.cram_md5 = true;
			break;
		case 'S':
			if (!strcmp(optarg, "yescrypt"))
				eo.scheme = CREDS_YESCRYPT;
			else if (!strcmp(optarg, "sha512-crypt"))
				eo.scheme = CREDS_SHA512CRYPT;
			else if (!strcmp(optarg, "bcrypt"))
				eo.scheme = CREDS_BCRYPT;
			else {
				passwd_say(_("--scheme \"%s\": expected yescrypt, sha512-crypt or bcrypt"),
					   optarg);
				return 2;
			}
			break;
		case 'i': {
			char *end;
			errno = 0;
			unsigned long n = strtoul(optarg, &end, 10);
			if (errno || *end || n < 4096 || n > CREDS_SCRAM_ITER_MAX) {
				passwd_say(_("--iterations \"%s\": expected 4096 to %d (RFC 7677, section 4)"),
					   optarg, CREDS_SCRAM_ITER_MAX);
				return 2;
			}
			eo.iter = (unsigned)n;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			passwd_say(_("unknown or incomplete option \"%s\""), argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	int nargs = argc - optind;
	const char *cmd = nargs > 0 ? argv[optind] : NULL;
	const char *given = nargs > 1 ? argv[optind + 1] : NULL;
	if (!cmd || nargs > 2) {
		usage(stderr);
		return 2;
	}
	/* names are kept SASLprep'ed (RFC 4013), as clients and posternd
	 * prepare them before a lookup: a decomposed "ü" finds a composed one */
	char *name = NULL;
	if (given && creds_saslprep(given, &name)) {
		passwd_say(_("bad user name (not UTF-8, or characters SASLprep (RFC 4013) prohibits)"));
		return 2;
	}
	int rc = passwd_run(file, cmd, name, from_stdin, &eo);
	free(name);
	return rc;
}

/* One command on the prepared name (NULL: none given). */
static int passwd_run(const char *file, const char *cmd, const char *name, bool from_stdin,
		      const struct creds_entry_opts *eo)
{
	if (!strcmp(cmd, "list"))
		return do_list(file, name);
	enum creds_edit op;
	if (!strcmp(cmd, "add"))
		op = CREDS_EDIT_ADD;
	else if (!strcmp(cmd, "set"))
		op = CREDS_EDIT_SET;
	else if (!strcmp(cmd, "del"))
		op = CREDS_EDIT_DEL;
	else {
		passwd_say(_("unknown command \"%s\""), cmd);
		usage(stderr);
		return 2;
	}
	if (!name) {
		passwd_say(_("%s needs a user NAME"), cmd);
		return 2;
	}
	if (!creds_valid_name(name, strlen(name))) {
		passwd_say(_("bad user name (1 to %d octets, no control characters, no ':')"),
			   CREDS_NAME_MAX);
		return 2;
	}
	char err[1024];
	char *line = NULL;
	if (op != CREDS_EDIT_DEL) {
		char pw[CREDS_PASSWORD_MAX + 2];
		int rc = from_stdin ? (cli_read_line(STDIN_FILENO, pw, sizeof(pw)) == 1 ? 0 : -1)
				    : read_tty_password(name, pw, sizeof(pw));
		if (rc != 0) {
			if (from_stdin)
				passwd_say(_("no password on standard input (or longer than %d octets)"),
					   CREDS_PASSWORD_MAX);
			creds_wipe(pw, sizeof(pw));
			return 1;
		}
		if (creds_saslprep_has_unassigned(pw))
			passwd_say(_("note: the password has characters Unicode 3.2 did not assign (such "
				     "as emoji); posternd and postern send take it with every mechanism, "
				     "but strict SCRAM clients (GNU SASL's gsasl) refuse it"));
		rc = creds_entry_make(name, pw, eo, &line, err, sizeof(err));
		creds_wipe(pw, sizeof(pw));
		if (rc != 0) {
			passwd_say("%s", err);
			return 1;
		}
	}
	int rc = creds_file_edit(file, op, name, line, err, sizeof(err));
	if (line) {
		creds_wipe(line, strlen(line));
		free(line);
	}
	if (rc != 0) {
		passwd_say("%s", err);
		return 1;
	}
	/* whole sentences, not a verb slotted in: word order differs by language */
	passwd_say(op == CREDS_EDIT_ADD   ? _("%s: user \"%s\" added")
		   : op == CREDS_EDIT_SET ? _("%s: user \"%s\" updated")
					  : _("%s: user \"%s\" deleted"),
		   file, name);
	return 0;
}
