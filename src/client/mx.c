#include "client/mx.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct mx_query {
	int status;
	bool done;
	struct ares_mx_reply *mx;
};

struct addr_query {
	int status;
	bool done;
	char addr[64];
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the channel until *done or the deadline. */
static void run(ares_channel ch, const bool *done, long long deadline)
{
	while (!*done) {
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		struct pollfd pfd[ARES_GETSOCK_MAXNUM];
		int bits = ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM), n = 0;
		long long left = deadline - now_ms();

		if (left <= 0) {
			ares_cancel(ch);
			return;
		}
		for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			/* ares.h's ARES_GETSOCK_WRITABLE shifts a signed 1 into the
			 * sign bit for the last socket: test the bits unsigned */
			bool rd = ((unsigned)bits >> i) & 1u;
			bool wr = ((unsigned)bits >> (i + ARES_GETSOCK_MAXNUM)) & 1u;

			if (!rd && !wr)
				continue;
			pfd[n].fd = socks[i];
			pfd[n].events = (short)((rd ? POLLIN : 0) | (wr ? POLLOUT : 0));
			n++;
		}
		struct timeval tv, *tvp, max = { left / 1000, (left % 1000) * 1000 };

		tvp = ares_timeout(ch, &max, &tv);
		int wait = (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000);

		if (poll(pfd, (nfds_t)n, wait > 0 ? wait : 1) <= 0) {
			ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (int i = 0; i < n; i++)
			ares_process_fd(ch, pfd[i].revents & (POLLIN | POLLERR | POLLHUP) ? pfd[i].fd : ARES_SOCKET_BAD,
					pfd[i].revents & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD);
	}
}

static void on_mx(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct mx_query *q = arg;

	(void)timeouts;
	q->done = true;
	q->status = status;
	if (status == ARES_SUCCESS)
		q->status = ares_parse_mx_reply(abuf, alen, &q->mx);
}

static void on_host(void *arg, int status, int timeouts, struct hostent *h)
{
	struct addr_query *q = arg;

	(void)timeouts;
	q->done = true;
	q->status = status;
	if (status == ARES_SUCCESS && h && h->h_addr_list[0])
		inet_ntop(h->h_addrtype, h->h_addr_list[0], q->addr, sizeof(q->addr));
	else if (status == ARES_SUCCESS)
		q->status = ARES_ENODATA;
}

/* An address for name: IPv4 first, then IPv6. */
static int resolve(ares_channel ch, const char *name, long long deadline, char *addr, size_t cap)
{
	static const int families[] = { AF_INET, AF_INET6 };
	int status = ARES_ENOTFOUND;

	for (size_t i = 0; i < 2; i++) {
		struct addr_query q = { 0 };

		ares_gethostbyname(ch, name, families[i], on_host, &q);
		run(ch, &q.done, deadline);
		if (!q.done)
			return ARES_ETIMEOUT;
		status = q.status;
		if (status == ARES_SUCCESS) {
			snprintf(addr, cap, "%s", q.addr);
			return ARES_SUCCESS;
		}
	}
	return status;
}

static int by_preference(const void *a, const void *b)
{
	return ((const struct client_mx *)a)->preference - ((const struct client_mx *)b)->preference;
}

int client_mx_lookup(const char *domain, const char *resolver, int timeout_ms,
	struct client_mx *out, size_t *n, char *err, size_t errlen)
{
	ares_channel ch;
	struct ares_options opt = { .timeout = timeout_ms > 0 ? timeout_ms : 5000, .tries = 2 };
	long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 5000);
	int rc = -1;

	*n = 0;
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS ||
	    ares_init_options(&ch, &opt, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) != ARES_SUCCESS) {
		snprintf(err, errlen, "cannot start the DNS resolver (c-ares)");
		return -1;
	}
	if (resolver && ares_set_servers_ports_csv(ch, resolver) != ARES_SUCCESS) {
		snprintf(err, errlen, "--resolver %s: want IP or IP:PORT", resolver);
		goto out;
	}
	struct mx_query q = { 0 };

	ares_query(ch, domain, ns_c_in, ns_t_mx, on_mx, &q);
	run(ch, &q.done, deadline);
	if (!q.done) {
		snprintf(err, errlen, "the MX lookup of %s timed out", domain);
		goto out;
	}
	if (q.status == ARES_SUCCESS) {
		for (struct ares_mx_reply *m = q.mx; m && *n < CLIENT_MX_MAX; m = m->next) {
			/* RFC 7505: "0 ." says the domain takes no mail at all */
			if (m->host[0] == '\0' || strcmp(m->host, ".") == 0) {
				snprintf(err, errlen, "%s publishes a null MX: it accepts no mail (RFC 7505)", domain);
				ares_free_data(q.mx);
				goto out;
			}
			snprintf(out[*n].name, sizeof(out[*n].name), "%s", m->host);
			out[*n].preference = m->priority;
			(*n)++;
		}
		ares_free_data(q.mx);
		qsort(out, *n, sizeof(*out), by_preference);
	} else if (q.status == ARES_ENODATA || q.status == ARES_ENOTFOUND) {
		/* RFC 5321 5.1: no MX, then the domain itself is the exchanger */
		snprintf(out[0].name, sizeof(out[0].name), "%s", domain);
		*n = 1;
	} else {
		snprintf(err, errlen, "the MX lookup of %s failed: %s", domain, ares_strerror(q.status));
		goto out;
	}
	size_t kept = 0;
	int last = ARES_ENOTFOUND;

	for (size_t i = 0; i < *n; i++) {
		last = resolve(ch, out[i].name, deadline, out[i].addr, sizeof(out[i].addr));
		if (last == ARES_SUCCESS)
			out[kept++] = out[i];
	}
	*n = kept;
	if (kept == 0)
		snprintf(err, errlen, "no address for the mail exchangers of %s: %s", domain, ares_strerror(last));
	else
		rc = 0;
out:
	ares_destroy(ch);
	ares_library_cleanup();
	return rc;
}
