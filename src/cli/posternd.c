/* posternd: argument parsing and wiring only. */
#include <stdio.h>

#include "common/log.h"
#include "server/config.h"
#include "server/server.h"

int main(int argc, char **argv)
{
	struct srv_config cfg;
	char err[1024];
	srv_config_defaults(&cfg);
	int rc = srv_config_load(&cfg, argc, argv, err, sizeof(err));
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "posternd: %s\n", err);
		srv_config_free(&cfg);
		return rc < 0 ? 2 : 0;
	}
	if (cfg.log_debug)
		log_set_level(LOG_DEBUG);
	rc = srv_run(&cfg);
	srv_config_free(&cfg);
	return rc;
}
