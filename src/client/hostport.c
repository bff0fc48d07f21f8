/* HOST[:PORT] splitting for the client commands. */
#include "client/hostport.h"

#include <stdio.h>
#include <string.h>

static int copy_part(const char *s, size_t n, char *out, size_t cap)
{
	if (n == 0 || n >= cap)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static int valid_port(const char *p)
{
	size_t n = strlen(p);
	unsigned v = 0;

	if (n == 0 || n > 5 || strspn(p, "0123456789") != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(p[i] - '0');
	return v >= 1 && v <= 65535;
}

int client_hostport_split(const char *arg, char *host, size_t hcap, char *port, size_t pcap,
			  const char *dflt)
{
	const char *p = NULL; /* the port, when given */

	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (!close || (close[1] && close[1] != ':'))
			return -1;
		if (copy_part(arg + 1, (size_t)(close - arg - 1), host, hcap) < 0)
			return -1;
		if (close[1] == ':')
			p = close + 2;
	} else {
		const char *colon = strrchr(arg, ':');

		if (colon && strchr(arg, ':') != colon)
			colon = NULL; /* a bare IPv6 address */
		if (copy_part(arg, colon ? (size_t)(colon - arg) : strlen(arg), host, hcap) < 0)
			return -1;
		if (colon)
			p = colon + 1;
	}
	if (!p)
		p = dflt;
	else if (!valid_port(p))
		return -1;
	return copy_part(p, strlen(p), port, pcap);
}
