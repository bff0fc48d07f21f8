/* posternd's runtime: event loops, listeners, connections, delivery. */
#ifndef POSTERN_SERVER_SERVER_H
#define POSTERN_SERVER_SERVER_H

#include "server/config.h"

/* Run until SIGTERM/SIGINT (graceful: 421 4.3.2 to idle sessions, in-flight
 * deliveries finish first). Returns the process exit status. */
int srv_run(struct srv_config *cfg);

#endif
