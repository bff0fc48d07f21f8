/* The server argument of `postern send` and `probe`: "host", "host:port",
 * "[v6]", "[v6]:port", or a bare IPv6 address (no port then). */
#ifndef POSTERN_CLIENT_HOSTPORT_H
#define POSTERN_CLIENT_HOSTPORT_H

#include <stddef.h>

/* Split arg into host (without brackets) and port (dflt when absent; else
 * 1 to 65535 in decimal). 0, or -1 when malformed or a part does not fit
 * its buffer (hcap, pcap include the NUL). */
int client_hostport_split(const char *arg, char *host, size_t hcap, char *port, size_t pcap,
			  const char *dflt);

#endif
