/* The subcommands of `postern` and what they share: each *_main takes the
 * arguments from its own name on (argv[0] is "explain") and returns the
 * exit status. */
#ifndef POSTERN_CLI_POSTERN_CMDS_H
#define POSTERN_CLI_POSTERN_CMDS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/i18n.h"

int postern_explain_main(int argc, char **argv);
int postern_send_main(int argc, char **argv);
int postern_probe_main(int argc, char **argv);
int postern_queue_main(int argc, char **argv);
/* in src/cli/postern_passwd.c, built only when that file exists
 * (meson then defines POSTERN_HAVE_PASSWD) */
int postern_passwd_main(int argc, char **argv);

#endif
