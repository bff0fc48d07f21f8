/* Listening sockets. libuv 1.44 has no UV_TCP_REUSEPORT, so each loop makes
 * its own socket with SO_REUSEPORT and hands it over with uv_tcp_open: the
 * kernel spreads new connections across the loops. The first loop checks
 * that no other process holds the address. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/internal.h"

/* "127.0.0.1:2525", "[::1]:2525", ":2525" (all IPv4 addresses). */
int srv_listen_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *colon, *port;
	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');
		if (!end || end[1] != ':' || (size_t)(end - spec - 1) >= sizeof(host))
			return -1;
		memcpy(host, spec + 1, (size_t)(end - spec - 1));
		host[end - spec - 1] = '\0';
		port = end + 2;
	} else {
		colon = strrchr(spec, ':');
		if (!colon || (size_t)(colon - spec) >= sizeof(host))
			return -1;
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
		port = colon + 1;
	}
	char *endp;
	long p = strtol(port, &endp, 10);
	if (!*port || *endp || p < 0 || p > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (!host[0] || !strcmp(host, "*")) {
		in4->sin_family = AF_INET;
		in4->sin_addr.s_addr = htonl(INADDR_ANY);
		in4->sin_port = htons((uint16_t)p);
		*len = sizeof(*in4);
	} else if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)p);
		*len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*in6);
	} else {
		return -1;
	}
	return 0;
}

/* SO_REUSEPORT lets any socket of the same user join the port, so a second
 * posternd would silently take a share of the connections. Before the first
 * worker binds, a plain bind (no SO_REUSEPORT) tells whether anyone holds the
 * address: Linux refuses it with EADDRINUSE if any socket is bound there. */
static int check_address_free(const char *spec, const struct sockaddr_storage *ss, socklen_t len,
			      char *err, size_t errlen)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "listen = \"%s\": socket: %s", spec, strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)); /* TIME_WAIT is no owner */
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	int rc = bind(fd, (const struct sockaddr *)ss, len);
	int e = errno;
	close(fd);
	if (rc) {
		snprintf(err, errlen, "listen = \"%s\": %s%s", spec, strerror(e),
			 e == EADDRINUSE ? " (is another posternd or mail server running?)" : "");
		return -1;
	}
	return 0;
}

int srv_listen_fd(const char *spec, bool first, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (srv_listen_parse(spec, &ss, &len)) {
		snprintf(err, errlen, "listen = \"%s\": expected ADDRESS:PORT", spec);
		return -1;
	}
	if (first && check_address_free(spec, &ss, len, err, errlen))
		return -1;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "listen = \"%s\": socket: %s", spec, strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 1024)) {
		snprintf(err, errlen, "listen = \"%s\": %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
