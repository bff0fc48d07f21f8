/* The file descriptor budget. Each connection holds a socket, and a
 * spill file while it receives a large message; out of
 * descriptors, libuv accepts and drops waiting connections without a word
 * (its EMFILE trick), so clients would see resets and the log nothing.
 * At start the soft limit is raised to the hard one (as Go and nginx do)
 * and max_connections is lowered to what fits, so an excess client gets
 * "421 4.7.0" instead. */
#include <stdio.h>
#include <sys/resource.h>

#include "common/log.h"
#include "queue/queue.h"
#include "server/internal.h"

/* A delivery from the queue holds at most three descriptors: its spill
 * file, the file it writes or its LMTP connection (an idle one waits in
 * the pool instead), and a directory it syncs. */
#define FDS_PER_DELIVERY 3

/* Descriptors posternd needs besides its connections: the queue's
 * journal and index, the queue manager's wake-up, per loop its epoll,
 * async, two wake-ups (wake.c) and listeners; per delivery thread (the
 * deliveries at once, a sync, a load and the upkeep: qmgr.c) what a
 * delivery holds; 48 for stdio, the Maildir root, the users and
 * certificate files read on SIGHUP and the libraries' own. */
static unsigned fds_reserved(const struct srv_config *cfg)
{
	size_t listeners = 0;
	for (int k = 0; k < SRV_LISTEN_KINDS; k++)
		listeners += cfg->nlisten[k];
	return 48 + QUEUE_FDS + 1 + cfg->workers * (unsigned)(6 + listeners) +
	       FDS_PER_DELIVERY * SRV_QMGR_THREADS(cfg);
}

/* A connection holds its socket and, while it receives a message larger
 * than QUEUE_INLINE_MAX, that message's spill file. */
#define FDS_PER_CONNECTION 2

/* 0, or -1 with why in err: the limit cannot hold posternd's own
 * descriptors and one connection (its deliveries would fail for want of
 * them, over and over). */
int srv_fd_budget(struct srv_config *cfg, char *err, size_t errlen)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit raised = { rl.rlim_max, rl.rlim_max };
		if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
			rl.rlim_cur = rl.rlim_max;
	}
	unsigned reserved = fds_reserved(cfg);
	if (rl.rlim_cur == RLIM_INFINITY)
		return 0;
	if (rl.rlim_cur < reserved + FDS_PER_CONNECTION) {
		snprintf(err, errlen, "the open files limit (%llu) is below what posternd needs for "
			 "itself and one connection (%u): raise it (ulimit -n, LimitNOFILE=)",
			 (unsigned long long)rl.rlim_cur, reserved + FDS_PER_CONNECTION);
		return -1;
	}
	rlim_t room = (rl.rlim_cur - reserved) / FDS_PER_CONNECTION;
	if (room >= cfg->max_connections)
		return 0;
	log_msg(LOG_WARN,
		"event=fd_limit open_files=%llu max_connections=%u lowered_to=%llu "
		"hint=\"raise the open files limit (ulimit -n, LimitNOFILE=) to serve more\"",
		(unsigned long long)rl.rlim_cur, cfg->max_connections, (unsigned long long)room);
	cfg->max_connections = (unsigned)room;
	return 0;
}
