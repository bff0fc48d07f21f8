/* The queue manager: on the main loop, a timer and a wake-up (the queue's
 * flusher calls it when new messages are durable) take due messages from
 * the queue and deliver each on a pool of its own (cpu_pool.c; queue_deliver
 * blocks on the store's I/O), which also runs the syncs, the loads from the
 * index and the journal's upkeep, so none of them waits behind a delivery.
 * At most srv_qmgr_concurrency deliveries run at once: for Maildir half the cores (a
 * delivery without its fsync is CPU work, most of it in the kernel, where
 * it is not preempted: this many of them leave the other cores to the
 * sessions whatever their priority); for LMTP lmtp_concurrency, one connection
 * each, as the LMTP backend keeps open (an LMTP server such as Dovecot
 * runs deliveries in parallel, and most of each is its own work, not
 * ours: Postfix's lmtp(8) also runs up to 20). Maildir deliveries skip their
 * fsyncs: one sync job at a time (queue_sync_delivered: one syncfs) makes
 * every delivery finished before it durable, and the deliveries finished
 * while it runs form the next batch. One log line per recipient and
 * attempt: delivered, deferred or failed (Postfix's status=sent model).
 *
 * A Maildir delivery job takes several due messages, one after the other
 * (QMGR_BATCH_MIN to QMGR_BATCH, spread over the free slots): each hand-off
 * to a pool thread and back costs two wake-ups, more than a Maildir
 * delivery without its fsync. An LMTP job takes one: its delivery waits on
 * the LMTP server, and a message waiting behind another in a job would not
 * go to the next free connection. Maildir deliveries run at a lowered
 * priority, as the password checks do (cpu_pool.c): a session waiting for
 * its reply gets the CPU first, and the queue, which is there to absorb
 * bursts, delivers with what the sessions leave. LMTP deliveries do not:
 * their CPU is small, and lowered they would wait behind the LMTP server's
 * own processes (Dovecot's lmtp), which do most of the work.
 *
 * While they keep up, Maildir deliveries run lower still, at SCHED_IDLE:
 * only on CPU no session wants. A burst is then taken in at the full speed
 * of the sessions (measured: +13-20 % messages accepted a second at 20
 * sessions, bench/RESULTS.md), and delivered right after it. Once a due
 * message has waited QMGR_BEHIND_S, they are back at nice 10 and take
 * their share beside the sessions, so a load that lasts cannot starve them. */
#include <stddef.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "queue/queue.h"
#include "server/internal.h"

#define QMGR_BATCH 16    /* messages per delivery job at most */
#define QMGR_BATCH_MIN 4 /* and at least, when that many are due */
#define QMGR_TICK_MS 1000
#define QMGR_MAINTAIN_S 60
/* A sync waits this long for more deliveries to join its batch: at a low
 * rate each delivery would pay a syncfs, whose writeback competes with the
 * journal's fdatasync that the sessions wait for (bench/RESULTS.md). */
#define QMGR_SYNC_DELAY_MS 20
/* A due message waiting this long: the deliveries are behind, and leave
 * SCHED_IDLE for their nice value. */
#define QMGR_BEHIND_S 10

struct srv_qmgr {
	struct srv_shared *sh;
	uv_loop_t *loop;
	uv_timer_t timer;
	struct srv_wake wake;      /* the flusher: new messages are ready */
	pthread_mutex_t wake_lock; /* the flusher's sends against the close */
	bool wake_closed;
	unsigned inflight;
	unsigned concurrency;     /* srv_qmgr_concurrency: jobs at once */
	unsigned batch_min;       /* messages a job takes at least, when due */
	unsigned batch_max;       /* and at most */
	bool lowered;             /* Maildir: the deliveries' pool runs lowered */
	struct queue_job **jobs;  /* [concurrency * batch_max]: what one take returns */
	struct srv_cpu_pool *pool; /* deliveries, syncs, loads and upkeep */
	struct srv_job_home home;  /* where their done callbacks run */
	bool home_closed;
	bool stopping;
	bool maintaining;
	bool loading;      /* load_job queued or running */
	size_t loaded;     /* what it brought into memory */
	struct srv_cpu_job load_job;
	bool syncing;      /* sync_job queued or running */
	bool sync_armed;   /* sync_timer runs */
	uv_timer_t sync_timer;
	struct srv_cpu_job sync_job;
	uint64_t last_maintain;
	struct srv_cpu_job maintain_job;
};

/* The queue manager whose member job is */
#define QMGR_OF(job, member) ((struct srv_qmgr *)((char *)(job) - offsetof(struct srv_qmgr, member)))

struct qmgr_job {
	struct srv_cpu_job job; /* first: a pool job is a qmgr_job */
	struct srv_qmgr *m;
	size_t n;
	struct queue_job *msgs[]; /* [n], delivered in this order */
};

static void report(void *arg, const struct queue_report *r)
{
	static const char *const names[] = {"delivered", "deferred", "failed"};
	char to[600], qto[1300], target[700], qtarget[1500], text[600], qtext[1300];
	if (r->rcpt)
		snprintf(to, sizeof(to), "<%s>", r->rcpt);
	else /* its address is in the record that could not be read */
		snprintf(to, sizeof(to), "recipient %u", r->rcpt_no);
	snprintf(target, sizeof(target), "%s", r->target);
	snprintf(text, sizeof(text), "%s", r->text);
	log_msg(r->outcome == QUEUE_DELIVERED ? LOG_INFO : LOG_WARN,
		"event=%s queue_id=%s to=%s target=%s delay=%llus %s=%s", names[r->outcome], r->id,
		log_quote(qto, sizeof(qto), to), log_quote(qtarget, sizeof(qtarget), target),
		(unsigned long long)r->delay, r->outcome == QUEUE_DELIVERED ? "reply" : "error",
		log_quote(qtext, sizeof(qtext), text));
}

static void submit(struct srv_qmgr *m, struct srv_cpu_job *job,
		   void (*work)(struct srv_cpu_job *), void (*done)(struct srv_cpu_job *))
{
	job->home = &m->home;
	job->work = work;
	job->done = done;
	srv_cpu_pool_submit(m->pool, job);
}

static void closed(uv_handle_t *h)
{
	(void)h;
}

/* Stopping, and no job out: the main loop may end. */
static void close_home_if_idle(struct srv_qmgr *m)
{
	if (m->stopping && !m->home_closed && m->home.jobs == 0) {
		m->home_closed = true;
		srv_wake_close(&m->home.wake, closed);
		uv_close((uv_handle_t *)&m->timer, closed); /* the shutdown's deadline */
	}
}

/* Stopping, shutdown_timeout later: deliveries still waiting on an LMTP
 * server give up (their messages stay queued), as a stop must not wait
 * lmtp_data_done_timeout for a server that says nothing. */
static void on_shutdown_deadline(uv_timer_t *t)
{
	struct srv_qmgr *m = t->data;
	if (m->home.jobs == 0)
		return;
	log_msg(LOG_WARN, "event=shutdown_deliveries_given_up deliveries=%u timeout=%us", m->inflight,
		m->sh->cfg->shutdown_timeout);
	store_cancel(m->sh->store);
}

static void deliver_work(struct srv_cpu_job *job)
{
	struct qmgr_job *j = (struct qmgr_job *)job;
	struct srv_shared *sh = j->m->sh;
	/* a job of several messages (Maildir: each takes well under a
	 * millisecond) writes its lines at its end, in one write; an LMTP job's
	 * one message may wait minutes, and its lines must not */
	if (j->n > 1)
		log_hold();
	for (size_t i = 0; i < j->n; i++)
		queue_deliver(sh->queue, j->msgs[i], sh->store, (uint64_t)time(NULL), report, NULL);
	if (j->n > 1)
		log_release();
}

static void tick(struct srv_qmgr *m);

/* The queue ran empty: give the journal's space back now. */
static void maintain_if_empty(struct srv_qmgr *m)
{
	if (m->inflight == 0 && !m->syncing && queue_size(m->sh->queue) == 0)
		m->last_maintain = 0;
}

static void sync_work(struct srv_cpu_job *job)
{
	struct srv_qmgr *m = QMGR_OF(job, sync_job);
	(void)queue_sync_delivered(m->sh->queue, m->sh->store);
}

static void sync_done(struct srv_cpu_job *job)
{
	struct srv_qmgr *m = QMGR_OF(job, sync_job);
	m->syncing = false;
	maintain_if_empty(m); /* the synced entries were the last ones */
	tick(m); /* the next batch, and entries released */
	close_home_if_idle(m);
}

static void run_sync(struct srv_qmgr *m)
{
	m->syncing = true;
	submit(m, &m->sync_job, sync_work, sync_done);
}

static void on_sync_timer(uv_timer_t *t)
{
	struct srv_qmgr *m = t->data;
	m->sync_armed = false;
	if (!m->syncing)
		run_sync(m);
}

static void start_sync(struct srv_qmgr *m)
{
	if (m->syncing || m->sync_armed || !queue_unsynced(m->sh->queue))
		return;
	if (m->stopping) { /* the timer is closed: the last batch goes now */
		run_sync(m);
		return;
	}
	m->sync_armed = true;
	uv_timer_start(&m->sync_timer, on_sync_timer, QMGR_SYNC_DELAY_MS, 0);
}

static void deliver_done(struct srv_cpu_job *job)
{
	struct qmgr_job *j = (struct qmgr_job *)job;
	struct srv_qmgr *m = j->m;
	free(j);
	m->inflight--;
	maintain_if_empty(m);
	tick(m);
	close_home_if_idle(m);
}

static void maintain_work(struct srv_cpu_job *job)
{
	queue_maintain(QMGR_OF(job, maintain_job)->sh->queue);
}

static void maintain_done(struct srv_cpu_job *job)
{
	struct srv_qmgr *m = QMGR_OF(job, maintain_job);
	m->maintaining = false;
	close_home_if_idle(m);
}

/* Messages of the queue's on-disk index that came due are read back on
 * the pool (file I/O), then taken by the next tick. */
static void load_work(struct srv_cpu_job *job)
{
	struct srv_qmgr *m = QMGR_OF(job, load_job);
	m->loaded = queue_load_due(m->sh->queue, (uint64_t)time(NULL));
}

static void load_done(struct srv_cpu_job *job)
{
	struct srv_qmgr *m = QMGR_OF(job, load_job);
	m->loading = false;
	if (m->loaded)
		tick(m);
	close_home_if_idle(m);
}

static void start_job(struct srv_qmgr *m, struct queue_job **msgs, size_t n)
{
	struct qmgr_job *j = calloc(1, sizeof(*j) + n * sizeof(j->msgs[0]));
	if (!j) { /* they stay active until a restart: say so */
		log_msg(LOG_ERROR, "event=qmgr_out_of_memory");
		return;
	}
	j->m = m;
	j->n = n;
	memcpy(j->msgs, msgs, n * sizeof(msgs[0]));
	m->inflight++;
	submit(m, &j->job, deliver_work, deliver_done);
}

static void tick(struct srv_qmgr *m)
{
	start_sync(m); /* also while stopping: the last deliveries' records */
	if (m->stopping)
		return;
	uint64_t now = (uint64_t)time(NULL);
	if (m->lowered) {
		uint64_t since = queue_waiting_since(m->sh->queue);
		srv_cpu_pool_set_idle(m->pool, since == UINT64_MAX || now < since + QMGR_BEHIND_S);
	}
	while (m->inflight < m->concurrency) {
		size_t slots = m->concurrency - m->inflight;
		struct queue_job **jobs = m->jobs; /* taken now, each started below */
		size_t n = queue_take_due(m->sh->queue, now, jobs, slots * m->batch_max);
		if (n == 0)
			break;
		size_t njobs = (n + m->batch_min - 1) / m->batch_min;
		if (njobs > slots)
			njobs = slots;
		for (size_t i = 0, first = 0; i < njobs; i++) {
			size_t k = n / njobs + (i < n % njobs);
			start_job(m, jobs + first, k);
			first += k;
		}
	}
	if (!m->loading && m->inflight < m->concurrency && queue_load_wanted(m->sh->queue, now)) {
		m->loading = true;
		submit(m, &m->load_job, load_work, load_done);
	}
	if (!m->maintaining && now - m->last_maintain >= QMGR_MAINTAIN_S) {
		m->last_maintain = now;
		m->maintaining = true;
		submit(m, &m->maintain_job, maintain_work, maintain_done);
	}
}

static void on_timer(uv_timer_t *t)
{
	tick(t->data);
}

static void on_wake(struct srv_wake *w)
{
	tick(w->data);
}


unsigned srv_qmgr_concurrency(const struct srv_config *cfg)
{
	if (cfg->store == STORE_LMTP)
		return cfg->lmtp_concurrency;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	return cores > 1 ? (unsigned)(cores / 2) : 1;
}

int srv_qmgr_start(struct srv_shared *sh, uv_loop_t *loop)
{
	struct srv_qmgr *m = calloc(1, sizeof(*m));
	if (!m)
		return -1;
	bool lmtp = sh->cfg->store == STORE_LMTP;
	m->batch_min = lmtp ? 1 : QMGR_BATCH_MIN;
	m->batch_max = lmtp ? 1 : QMGR_BATCH;
	m->concurrency = srv_qmgr_concurrency(sh->cfg);
	m->wake.fd = m->home.wake.fd = -1; /* srv_wake_fini may come first */
	m->lowered = !lmtp; /* a Maildir delivery is CPU work: at a lowered priority */
	bool home = false;
	if (m->concurrency == 0 ||
	    !(m->jobs = calloc((size_t)m->concurrency * m->batch_max, sizeof(*m->jobs))) ||
	    !(m->pool = srv_cpu_pool_new(SRV_QMGR_THREADS(sh->cfg), "queue-deliver", m->lowered)) ||
	    !(home = true) || srv_job_home_init(loop, &m->home) != 0 ||
	    srv_wake_init(loop, &m->wake, on_wake, m) != 0) {
		int e = errno;
		srv_cpu_pool_free(m->pool);
		if (m->home.wake.fd >= 0) { /* its poll handle is the loop's */
			srv_wake_close(&m->home.wake, closed);
			uv_run(loop, UV_RUN_NOWAIT);
		}
		if (home)
			srv_job_home_fini(&m->home);
		errno = e;
		free(m->jobs);
		free(m);
		return -1;
	}
	m->sh = sh;
	m->loop = loop;
	m->last_maintain = (uint64_t)time(NULL);
	uv_timer_init(loop, &m->timer);
	m->timer.data = m;
	uv_timer_init(loop, &m->sync_timer);
	m->sync_timer.data = m;
	pthread_mutex_init(&m->wake_lock, NULL);
	sh->qmgr = m;
	uv_timer_start(&m->timer, on_timer, 0, QMGR_TICK_MS);
	return 0;
}

/* The queue's on_ready callback (set before queue_open). */
void srv_qmgr_ready(void *arg)
{
	struct srv_shared *sh = arg;
	struct srv_qmgr *m = sh->qmgr;
	if (!m)
		return; /* recovered messages: the first tick finds them */
	pthread_mutex_lock(&m->wake_lock);
	if (!m->wake_closed)
		srv_wake_send(&m->wake);
	pthread_mutex_unlock(&m->wake_lock);
}

void srv_qmgr_stop(struct srv_shared *sh)
{
	struct srv_qmgr *m = sh->qmgr;
	if (!m || m->stopping)
		return;
	m->stopping = true;
	pthread_mutex_lock(&m->wake_lock);
	m->wake_closed = true;
	pthread_mutex_unlock(&m->wake_lock);
	uv_timer_start(&m->timer, on_shutdown_deadline, (uint64_t)m->sh->cfg->shutdown_timeout * 1000, 0);
	uv_close((uv_handle_t *)&m->sync_timer, closed);
	m->sync_armed = false;
	start_sync(m); /* what the timer would have started */
	srv_wake_close(&m->wake, closed);
	close_home_if_idle(m); /* or when the last job is done */
}

void srv_qmgr_free(struct srv_shared *sh)
{
	if (sh->qmgr) {
		srv_wake_fini(&sh->qmgr->wake); /* no send after wake_closed */
		srv_cpu_pool_free(sh->qmgr->pool); /* every job is done: the loop ran until then */
		srv_job_home_fini(&sh->qmgr->home);
		pthread_mutex_destroy(&sh->qmgr->wake_lock);
		free(sh->qmgr->jobs);
	}
	free(sh->qmgr);
	sh->qmgr = NULL;
}
