/* The control socket of `postern queue` (postqueue/postsuper's jobs): a
 * unix socket, mode 0600, on the main loop. Each connection sends one
 * command line and gets the answer of queue_control(), then the server
 * closes. Only root and posternd's own user may talk to it: the socket's
 * mode keeps others out, and SO_PEERCRED is checked as well (a mode can be
 * changed by mistake; the check cannot). A few connections at a time, each
 * with a deadline for taking its answer: a client that never reads holds
 * neither memory for long nor the shutdown. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "queue/queue.h"
#include "server/internal.h"

#define CONTROL_LINE_MAX 256
#define CONTROL_OUT_MAX ((size_t)64 * 1024 * 1024)
/* after the answer: how long a peer may take to close its end */
#define CONTROL_LINGER_MS 5000
/* how long a peer may take to read the answer */
#define CONTROL_WRITE_MS 30000
/* connections at once (each may hold an answer of CONTROL_OUT_MAX) */
#define CONTROL_CONNS_MAX 8

struct ctl_conn;

struct srv_control {
	struct srv_shared *sh;
	uv_pipe_t pipe;
	char *path;
	bool bound;              /* the socket at path is ours: removed at stop */
	struct ctl_conn *conns;  /* open connections */
	unsigned nconns;
};

struct ctl_conn {
	uv_pipe_t pipe;
	uv_timer_t linger;
	int handles;
	struct srv_control *ctl; /* NULL once the control socket stopped */
	struct ctl_conn *prev, *next;
	struct queue *queue;
	bool working;            /* the command runs on the pool */
	bool close_wanted;       /* closed once it is done */
	char line[CONTROL_LINE_MAX + 1];
	size_t len;
	bool got_line; /* the rest of the input is read and dropped */
	bool refused;  /* not root nor our user: answered, never run */
	unsigned uid;
	uv_work_t work;
	uv_write_t wreq;
	uv_shutdown_t sreq;
	struct buf out;
};

static void unlink_conn(struct ctl_conn *cc)
{
	struct srv_control *ctl = cc->ctl;
	if (!ctl)
		return;
	if (cc->prev)
		cc->prev->next = cc->next;
	else
		ctl->conns = cc->next;
	if (cc->next)
		cc->next->prev = cc->prev;
	ctl->nconns--;
	cc->ctl = NULL;
}

static void handle_closed(uv_handle_t *h)
{
	struct ctl_conn *cc = h->data;
	if (--cc->handles > 0)
		return;
	buf_fini(&cc->out);
	free(cc);
}

/* Closed now, or once its command is done (the pool thread uses it). */
static void conn_close(struct ctl_conn *cc)
{
	if (cc->working) {
		cc->close_wanted = true;
		uv_read_stop((uv_stream_t *)&cc->pipe);
		return;
	}
	if (!uv_is_closing((uv_handle_t *)&cc->pipe)) {
		unlink_conn(cc);
		uv_close((uv_handle_t *)&cc->pipe, handle_closed);
		uv_close((uv_handle_t *)&cc->linger, handle_closed);
	}
}

static void on_linger(uv_timer_t *t)
{
	conn_close(t->data);
}

/* The answer is out: half-close, and close once the peer has (input it
 * still sends is dropped, so the close is a FIN, never a reset). */
static void shut(uv_shutdown_t *req, int status)
{
	struct ctl_conn *cc = req->data;
	if (status < 0)
		conn_close(cc);
}

static void written(uv_write_t *req, int status)
{
	struct ctl_conn *cc = req->data;
	cc->sreq.data = cc;
	if (status < 0 || uv_shutdown(&cc->sreq, (uv_stream_t *)&cc->pipe, shut) != 0) {
		conn_close(cc);
		return;
	}
	uv_timer_start(&cc->linger, on_linger, CONTROL_LINGER_MS, 0);
}

static void reply(struct ctl_conn *cc)
{
	uv_buf_t b = uv_buf_init(cc->out.data, (unsigned)cc->out.len);
	cc->wreq.data = cc;
	if (uv_write(&cc->wreq, (uv_stream_t *)&cc->pipe, &b, 1, written) != 0) {
		conn_close(cc);
		return;
	}
	/* a peer that does not read its answer is closed (the write is
	 * cancelled): it would hold the memory, and the shutdown */
	uv_timer_start(&cc->linger, on_linger, CONTROL_WRITE_MS, 0);
}

static void run_work(uv_work_t *w)
{
	struct ctl_conn *cc = w->data;
	if (queue_control(cc->queue, cc->line, (uint64_t)time(NULL), &cc->out) == 0) {
		/* which message, for whoever wonders later who deleted it */
		char verb[16], id[64], qid[140];
		size_t vl = strcspn(cc->line, " \r\n");
		const char *a = cc->line + vl + strspn(cc->line + vl, " ");
		snprintf(verb, sizeof(verb), "%.*s", (int)vl, cc->line);
		snprintf(id, sizeof(id), "%.*s", (int)strcspn(a, " \r\n"), a);
		if (id[0])
			log_msg(LOG_INFO, "event=control command=\"%s\" queue_id=%s", verb,
				log_quote(qid, sizeof(qid), id));
		else
			log_msg(LOG_INFO, "event=control command=\"%s\"", verb);
	}
}

static void run_done(uv_work_t *w, int status)
{
	struct ctl_conn *cc = w->data;
	cc->working = false;
	if (cc->close_wanted) { /* the peer left, or the server stops */
		conn_close(cc);
		return;
	}
	if (cc->out.len == 0)
		buf_append_str(&cc->out, "error: the command did not run\n");
	reply(cc);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	static char discard[4096]; /* the loop's thread only */
	struct ctl_conn *cc = h->data;
	if (cc->got_line) {
		*b = uv_buf_init(discard, sizeof(discard));
		return;
	}
	b->base = cc->line + cc->len;
	b->len = CONTROL_LINE_MAX - cc->len;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct ctl_conn *cc = s->data;
	if (n < 0) { /* EOF or error: after the answer (or while it is made), the end */
		if (cc->got_line) {
			conn_close(cc);
			return;
		}
		cc->got_line = true;
		buf_append_str(&cc->out, "error: no command\n");
		reply(cc);
		return;
	}
	if (cc->got_line)
		return;
	cc->len += (size_t)n;
	cc->line[cc->len] = '\0';
	char *nl = memchr(cc->line, '\n', cc->len);
	if (!nl && cc->len < CONTROL_LINE_MAX)
		return;
	cc->got_line = true;
	if (cc->refused) {
		log_msg(LOG_WARN, "event=control_refused uid=%u", cc->uid);
		buf_append_str(&cc->out, "error: permission denied (root or posternd's user only)\n");
		reply(cc);
		return;
	}
	if (!nl) {
		buf_append_str(&cc->out, "error: command line too long\n");
		reply(cc);
		return;
	}
	*nl = '\0';
	uv_timer_stop(&cc->linger); /* a long list may take its time */
	cc->work.data = cc;
	cc->working = uv_queue_work(s->loop, &cc->work, run_work, run_done) == 0;
	if (!cc->working)
		conn_close(cc);
}

/* Whether something accepts connections on the unix socket at path. */
static bool socket_answers(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun.sun_path))
		return false;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool answers = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 || errno == EAGAIN;
	close(fd);
	return answers;
}

static bool peer_allowed(uv_pipe_t *p, unsigned *uid)
{
	uv_os_fd_t fd;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (uv_fileno((uv_handle_t *)p, &fd) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return false;
	*uid = (unsigned)cred.uid;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void on_connection(uv_stream_t *server, int status)
{
	struct srv_control *ctl = server->data;
	if (status < 0)
		return;
	struct ctl_conn *cc = calloc(1, sizeof(*cc));
	if (!cc)
		return;
	cc->ctl = ctl;
	cc->queue = ctl->sh->queue;
	cc->next = ctl->conns;
	if (ctl->conns)
		ctl->conns->prev = cc;
	ctl->conns = cc;
	ctl->nconns++;
	buf_init(&cc->out, CONTROL_OUT_MAX);
	uv_pipe_init(server->loop, &cc->pipe, 0);
	uv_timer_init(server->loop, &cc->linger);
	cc->pipe.data = cc->linger.data = cc;
	cc->handles = 2;
	if (uv_accept(server, (uv_stream_t *)&cc->pipe) != 0) {
		conn_close(cc);
		return;
	}
	if (ctl->nconns > CONTROL_CONNS_MAX) { /* closed: postern queue says unreachable */
		log_msg(LOG_WARN, "event=control_busy connections=%u", ctl->nconns - 1);
		conn_close(cc);
		return;
	}
	/* checked now, answered once the command is read */
	cc->refused = !peer_allowed(&cc->pipe, &cc->uid);
	uv_timer_start(&cc->linger, on_linger, CONTROL_LINGER_MS, 0);
	uv_read_start((uv_stream_t *)&cc->pipe, alloc_cb, on_read);
}

int srv_control_start(struct srv_shared *sh, uv_loop_t *loop, char *err, size_t errlen)
{
	const char *path = sh->cfg->control;
	struct srv_control *ctl = calloc(1, sizeof(*ctl));
	if (!ctl || !(ctl->path = strdup(path))) {
		free(ctl);
		snprintf(err, errlen, "control: out of memory");
		return -1;
	}
	ctl->sh = sh;
	/* a socket left by a previous run (kill -9) goes; one a running
	 * posternd answers on, or anything else at that path, stays */
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		if (socket_answers(path)) {
			snprintf(err, errlen, "control = \"%s\": another posternd is running on it", path);
			free(ctl->path);
			free(ctl);
			return -1;
		}
		(void)unlink(path);
	}
	uv_pipe_init(loop, &ctl->pipe, 0);
	ctl->pipe.data = ctl;
	sh->control = ctl;
	/* created 0600 from the start: no window with a wider mode */
	mode_t old = umask(0177);
	int rc = uv_pipe_bind(&ctl->pipe, path);
	umask(old);
	ctl->bound = rc == 0;
	if (rc == 0 && chmod(path, 0600) != 0)
		rc = uv_translate_sys_error(errno);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&ctl->pipe, 16, on_connection);
	if (rc != 0) {
		snprintf(err, errlen, "control = \"%s\": %s", path, uv_strerror(rc));
		return -1;
	}
	return 0;
}

static void control_closed(uv_handle_t *h)
{
	struct srv_control *ctl = h->data;
	free(ctl->path);
	free(ctl);
}

void srv_control_stop(struct srv_shared *sh)
{
	struct srv_control *ctl = sh->control;
	if (!ctl)
		return;
	sh->control = NULL;
	if (ctl->bound)
		(void)unlink(ctl->path);
	/* the connections too: one whose command runs closes when it is done */
	while (ctl->conns) {
		struct ctl_conn *cc = ctl->conns;
		unlink_conn(cc);
		conn_close(cc);
	}
	uv_close((uv_handle_t *)&ctl->pipe, control_closed);
}
