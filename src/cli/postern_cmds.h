/* The subcommands of `postern` and what they share: each *_main takes the
 * arguments from its own name on (argv[0] is "explain") and returns the
 * exit status. */
#ifndef POSTERN_CLI_POSTERN_CMDS_H
#define POSTERN_CLI_POSTERN_CMDS_H

#include <stdbool.h>
#include <stddef.h>

#define POSTERN_TEXTDOMAIN "postern"

int postern_explain_main(int argc, char **argv);
int postern_send_main(int argc, char **argv);
int postern_probe_main(int argc, char **argv);
/* "host", "host:port", "[v6]:port" into host and port (dflt when absent);
 * 0, or -1 when malformed. In postern_send.c, shared with probe. */
int postern_split_hostport(const char *arg, char *host, size_t hcap, char *port, size_t pcap,
			   const char *dflt);
/* This host's name for EHLO, "localhost" when it is not a valid domain. */
void postern_helo_name(char *out, size_t cap);
/* in src/cli/postern_passwd.c, built only when that file exists
 * (meson then defines POSTERN_HAVE_PASSWD) */
int postern_passwd_main(int argc, char **argv);

/* Choose the language of messages. lang is --lang, or NULL to follow the
 * environment as gettext does (LANGUAGE, LC_ALL, LC_MESSAGES, LANG).
 * Sets *chosen to the language used ("en", "th"). Returns 0, or -1 when an
 * explicit lang has no catalogue. */
int postern_i18n_init(const char *lang, const char **chosen);
/* The translation of msgid in the chosen language (msgid itself in English). */
const char *postern_tr(const char *msgid);
/* Whether postern_tr translates at all. */
bool postern_translating(void);

#define _(s) postern_tr(s)
/* Marks a msgid for xgettext without translating it here. */
#define N_(s) s

#endif
