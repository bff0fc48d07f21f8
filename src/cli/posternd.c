/* posternd: argument parsing and wiring only. */
#include <locale.h>
#include <stdio.h>

#include "common/i18n.h"
#include "common/log.h"
#include "server/config.h"
#include "server/server.h"

int main(int argc, char **argv)
{
	struct srv_config cfg;
	char err[1024];
	const char *lang;
	/* --help and the one-line start errors are for a person at a terminal:
	 * they follow LANG/LANGUAGE as postern does */
	postern_i18n_init(NULL, &lang);
	srv_config_defaults(&cfg);
	int rc = srv_config_load(&cfg, argc, argv, err, sizeof(err));
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "posternd: %s\n", err);
		srv_config_free(&cfg);
		return rc < 0 ? 2 : 0;
	}
	/* the daemon itself runs in the C locale: its logs (logfmt) and its
	 * replies stay English and machine-readable, and no locale changes how
	 * it formats or compares anything */
	setlocale(LC_ALL, "C");
	if (cfg.log_debug)
		log_set_level(LOG_DEBUG);
	rc = srv_run(&cfg);
	srv_config_free(&cfg);
	return rc;
}
