/* Option handling that `postern send`, `probe` and `explain` share. */
#ifndef POSTERN_CLI_CLI_COMMON_H
#define POSTERN_CLI_CLI_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The options send and probe share, as getopt_long returns them. */
struct cli_net_opts {
	const char *cafile; /* --cafile F */
	bool verify;        /* false with --insecure or --tls-verify no */
	long timeout;       /* --timeout SEC, 1 to 3600 */
	const char *helo;   /* --helo NAME */
	const char *lang;   /* --lang LANG */
	bool help;          /* --help, -h */
	const char *bad;    /* the first bad option, or NULL */
};
#define CLI_NET_OPTS_INIT { .verify = true, .timeout = 30 }
/* Their entries in a struct option table. */
#define CLI_NET_LONGOPTS \
	{ "timeout", required_argument, NULL, 'o' }, \
	{ "cafile", required_argument, NULL, 'c' }, \
	{ "insecure", no_argument, NULL, 'k' }, \
	{ "tls-verify", required_argument, NULL, 'V' }, \
	{ "helo", required_argument, NULL, 'H' }, \
	{ "lang", required_argument, NULL, 'l' }, \
	{ "help", no_argument, NULL, 'h' }
/* Take ch, an option getopt_long returned that the program does not handle
 * itself: one of CLI_NET_LONGOPTS, else a bad option (current is how the
 * user wrote it, argv[optind - 1]). Only the first bad option is kept. */
void cli_net_option(struct cli_net_opts *o, int ch, const char *arg, const char *current);

/* The end of option parsing: choose the language (--lang, else the
 * environment) and set *chosen, then answer --help on stdout, then refuse
 * the first bad option with the usage on stderr. Messages start with prog
 * ("postern send"). Returns the exit status (0 after --help, usage_status
 * on an error), or -1 to go on. */
int cli_options_done(const char *prog, const char *lang, const char **chosen, bool help,
		     const char *bad, void (*usage)(FILE *f), int usage_status);

/* This host's name for EHLO, "localhost" when it is not a valid domain. */
void cli_helo_name(char *out, size_t cap);

#endif
