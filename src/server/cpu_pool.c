/* Thread pools apart from libuv's: one for password checks, one for the
 * queue manager's deliveries (qmgr.c).
 *
 * libuv has one pool per process (UV_THREADPOOL_SIZE threads, one FIFO
 * queue) for every uv_queue_work of every loop. When password checks
 * (yescrypt: tens of milliseconds of CPU each) went there too, an AUTH
 * flood queued hundreds of them, and every Maildir commit behind them
 * waited seconds for its 250. Lowering the checking threads' priority does
 * not help a job that is still in the queue. So checks get their own queue
 * and their own threads; libuv's pool keeps the commits (which wait on the
 * disk) and the TLS handshake steps (a millisecond each). A flood of checks
 * then costs logins time, bounded by auth_checks_max (auth.c refuses
 * more), and never costs deliveries their place in a queue. Its share of
 * the CPU is bounded too: by default half the cores run checks (a check is
 * pure CPU: more threads than that would only take cores from the loops),
 * at a lowered priority, so the loops keep the CPU first.
 *
 * A job's done callback runs on the loop that submitted it: the finishing
 * thread puts it on that loop's done list (its srv_job_home) and wakes it
 * with srv_wake_send: libuv's own pool reports through uv_async_send, whose
 * receiving loop spins while a sender is inside it (wake.c).
 * A job still queued can be taken back (a client that hung up). */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "server/internal.h"

struct srv_cpu_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct srv_cpu_job *head, *tail; /* queued, oldest first */
	bool stopping;
	bool lowered;
	atomic_bool idle; /* lowered further: SCHED_IDLE (srv_cpu_pool_set_idle) */
	bool can_idle;    /* and back: never to SCHED_IDLE if there is no way back */
	char name[16];
	unsigned nthreads;
	pthread_t threads[];
};

static void *pool_thread(void *arg)
{
	struct srv_cpu_pool *p = arg;
	(void)pthread_setname_np(pthread_self(), p->name); /* for top -H and perf */
	if (p->lowered)
		srv_pool_thread_cpu_bound();
	bool idle = false; /* this thread's policy: SCHED_IDLE, or SCHED_OTHER at its nice */
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->head && !p->stopping)
			pthread_cond_wait(&p->wake, &p->lock);
		if (!p->head)
			break; /* stopping, and nothing left */
		struct srv_cpu_job *job = p->head;
		p->head = job->next;
		if (p->head)
			p->head->prev = NULL;
		else
			p->tail = NULL;
		job->queued = false;
		pthread_mutex_unlock(&p->lock);

		/* between jobs: a job runs whole under one policy; the nice value
		 * stays set under SCHED_OTHER; failing costs only the gain */
		if (p->lowered && atomic_load(&p->idle) != idle) {
			struct sched_param sp = {0};
			if (sched_setscheduler(0, idle ? SCHED_OTHER : SCHED_IDLE, &sp) == 0)
				idle = !idle;
		}
		job->work(job);

		struct srv_job_home *home = job->home;
		pthread_mutex_lock(&home->lock);
		job->prev = NULL;
		job->next = home->done;
		home->done = job;
		pthread_mutex_unlock(&home->lock);
		srv_wake_send(&home->wake);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct srv_cpu_pool *srv_cpu_pool_new(unsigned threads, const char *name, bool lowered)
{
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 1 ? (unsigned)n / 2 : 1;
	}
	struct srv_cpu_pool *p = calloc(1, sizeof(*p) + threads * sizeof(pthread_t));
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	p->lowered = lowered;
	p->can_idle = lowered && srv_pool_can_return_from_idle();
	atomic_init(&p->idle, false);
	snprintf(p->name, sizeof(p->name), "%s", name);
	for (; p->nthreads < threads; p->nthreads++)
		if (pthread_create(&p->threads[p->nthreads], NULL, pool_thread, p))
			break;
	if (p->nthreads == 0) {
		srv_cpu_pool_free(p);
		return NULL;
	}
	return p;
}

void srv_cpu_pool_free(struct srv_cpu_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void srv_cpu_pool_set_idle(struct srv_cpu_pool *p, bool idle)
{
	atomic_store(&p->idle, idle && p->can_idle);
}

void srv_cpu_pool_submit(struct srv_cpu_pool *p, struct srv_cpu_job *job)
{
	job->home->jobs++;
	pthread_mutex_lock(&p->lock);
	job->next = NULL;
	job->prev = p->tail;
	if (p->tail)
		p->tail->next = job;
	else
		p->head = job;
	p->tail = job;
	job->queued = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

bool srv_cpu_pool_cancel(struct srv_cpu_pool *p, struct srv_cpu_job *job)
{
	pthread_mutex_lock(&p->lock);
	bool taken = job->queued;
	if (taken) {
		if (job->prev)
			job->prev->next = job->next;
		else
			p->head = job->next;
		if (job->next)
			job->next->prev = job->prev;
		else
			p->tail = job->prev;
		job->prev = job->next = NULL;
		job->queued = false;
	}
	pthread_mutex_unlock(&p->lock);
	if (taken)
		job->home->jobs--;
	return taken;
}

/* On the loop: run the done callbacks of its finished jobs, oldest first. */
static void on_jobs_done(struct srv_wake *wake)
{
	struct srv_job_home *home = wake->data;
	pthread_mutex_lock(&home->lock);
	struct srv_cpu_job *list = home->done;
	home->done = NULL;
	pthread_mutex_unlock(&home->lock);
	struct srv_cpu_job *fifo = NULL; /* the list is newest first */
	while (list) {
		struct srv_cpu_job *next = list->next;
		list->next = fifo;
		fifo = list;
		list = next;
	}
	while (fifo) {
		struct srv_cpu_job *next = fifo->next;
		home->jobs--;
		fifo->done(fifo);
		fifo = next;
	}
}

int srv_job_home_init(uv_loop_t *loop, struct srv_job_home *h)
{
	pthread_mutex_init(&h->lock, NULL);
	return srv_wake_init(loop, &h->wake, on_jobs_done, h);
}

void srv_job_home_fini(struct srv_job_home *h)
{
	srv_wake_fini(&h->wake);
	pthread_mutex_destroy(&h->lock);
}
