/* The control socket of `postern queue` (postqueue/postsuper's jobs): a
 * unix socket, mode 0600, on the main loop. Each connection sends one
 * command line and gets the answer of queue_control(), then the server
 * closes. Only root and posternd's own user may talk to it: the socket's
 * mode keeps others out, and SO_PEERCRED is checked as well (a mode can be
 * changed by mistake; the check cannot). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "queue/queue.h"
#include "server/internal.h"

#define CONTROL_LINE_MAX 256
#define CONTROL_OUT_MAX ((size_t)64 * 1024 * 1024)
/* after the answer: how long a peer may take to close its end */
#define CONTROL_LINGER_MS 5000

struct srv_control {
	struct srv_shared *sh;
	uv_pipe_t pipe;
	char *path;
};

struct ctl_conn {
	uv_pipe_t pipe;
	uv_timer_t linger;
	int handles;
	struct srv_control *ctl;
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

static void handle_closed(uv_handle_t *h)
{
	struct ctl_conn *cc = h->data;
	if (--cc->handles > 0)
		return;
	buf_fini(&cc->out);
	free(cc);
}

static void conn_close(struct ctl_conn *cc)
{
	if (!uv_is_closing((uv_handle_t *)&cc->pipe)) {
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
	if (uv_write(&cc->wreq, (uv_stream_t *)&cc->pipe, &b, 1, written) != 0)
		conn_close(cc);
}

static void run_work(uv_work_t *w)
{
	struct ctl_conn *cc = w->data;
	if (queue_control(cc->ctl->sh->queue, cc->line, (uint64_t)time(NULL), &cc->out) == 0)
		log_msg(LOG_INFO, "event=control command=\"%.*s\"", (int)strcspn(cc->line, " "),
			cc->line);
}

static void run_done(uv_work_t *w, int status)
{
	struct ctl_conn *cc = w->data;
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
	if (n < 0) { /* EOF or error: after the answer, the end */
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
	if (uv_queue_work(s->loop, &cc->work, run_work, run_done) != 0)
		conn_close(cc);
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
	buf_init(&cc->out, CONTROL_OUT_MAX);
	uv_pipe_init(server->loop, &cc->pipe, 0);
	uv_timer_init(server->loop, &cc->linger);
	cc->pipe.data = cc->linger.data = cc;
	cc->handles = 2;
	if (uv_accept(server, (uv_stream_t *)&cc->pipe) != 0) {
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
	/* a socket left by a previous run (kill -9) */
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)unlink(path);
	uv_pipe_init(loop, &ctl->pipe, 0);
	ctl->pipe.data = ctl;
	sh->control = ctl;
	/* created 0600 from the start: no window with a wider mode */
	mode_t old = umask(0177);
	int rc = uv_pipe_bind(&ctl->pipe, path);
	umask(old);
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
	(void)unlink(ctl->path);
	uv_close((uv_handle_t *)&ctl->pipe, control_closed);
}
