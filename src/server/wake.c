/* Waking an event loop from another thread: an eventfd watched by the
 * loop's uv_poll_t, written at most once until the loop has seen it.
 *
 * Not uv_async_t: libuv 1.44 (Debian 12) makes the receiving loop spin
 * while a sender is between the two atomic steps of uv_async_send, that
 * is inside its write to the loop's eventfd (uv__async_spin: 997 pauses,
 * then sched_yield, over and over). A sender preempted there holds the loop
 * spinning; during the acceptance benchmark that spin was ~2 % of the
 * machine's CPU on the event loops, whose wake-ups come from the queue's
 * flusher once per flush. Here the loop never waits for a sender. */
#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "server/internal.h"

static void on_readable(uv_poll_t *p, int status, int events)
{
	struct srv_wake *w = p->data;
	(void)status;
	(void)events;
	uint64_t n;
	ssize_t r = read(w->fd, &n, sizeof(n)); /* EAGAIN: a wake-up already read */
	(void)r;
	/* before the callback looks at its list: a send from now on writes
	 * again, so nothing pushed after the look is left unseen */
	atomic_store(&w->pending, false);
	w->cb(w);
}

int srv_wake_init(uv_loop_t *loop, struct srv_wake *w, void (*cb)(struct srv_wake *), void *data)
{
	w->cb = cb;
	w->data = data;
	atomic_init(&w->pending, false);
	w->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->fd < 0)
		return -1;
	if (uv_poll_init(loop, &w->poll, w->fd) != 0) {
		close(w->fd);
		w->fd = -1;
		return -1;
	}
	w->poll.data = w;
	uv_poll_start(&w->poll, UV_READABLE, on_readable);
	return 0;
}

void srv_wake_send(struct srv_wake *w)
{
	if (atomic_exchange(&w->pending, true))
		return; /* written already, not yet seen */
	uint64_t one = 1;
	while (write(w->fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

void srv_wake_close(struct srv_wake *w, uv_close_cb closed)
{
	uv_close((uv_handle_t *)&w->poll, closed);
}

void srv_wake_fini(struct srv_wake *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}
