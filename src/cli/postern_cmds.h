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
int postern_queue_main(int argc, char **argv);
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
