/*
 * net.c — listeners and connections on libevent: accept, TLS, line
 * splitting, send queues, flood control, idle/ping timeouts, graceful close.
 *
 * Memory is a feature here (target: <= 4 KiB per idle connection): a
 * struct conn holds no buffers; lines are read in place from the
 * bufferevent's input and drained; one periodic tick serves every
 * connection's timers; nothing is freed inside its own callback chain (a
 * deferred reaper does it).
 *
 * Deliberately not here: IRC (the only protocol text is the "Server full"
 * refusal), certificates (tls.c), configuration parsing (config.c).
 */
#include "core/net.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "core/config.h"
#include "core/tls.h"

#define NET_TICK_MS        500  /* period of the timer walk */
#define NET_COALESCE_CONNS 32   /* fan-out: a flush to this many conns may make the next wait */
#define NET_COALESCE_BYTES 2048 /* what a write under fan-out load should carry (~10 lines) */
#define NET_FLUSH_MS       5000 /* longest flush of a closing connection */
/*
 * A plain conn's output buffer (from the pool). 16 KiB: in 400 rooms of 5 a
 * connection gets ~5 KB a turn, and a 4 KiB buffer split it into two writes
 * (small-rooms throughput -25%); a fan-out turn rarely fills 16 KiB.
 */
#define NET_OBUF_SIZE       16384
#define NET_OBUF_POOL       256         /* free output buffers the net keeps */
#define NET_SPLIT_CONNS     128         /* a flush to this many conns is shared with the helper */
#define NET_HANDSHAKE_MS    10000       /* longest TLS handshake */
#define NET_SHUTDOWN_MS     5000        /* longest net_shutdown() */
#define NET_ACCEPT_PAUSE_MS 500         /* listeners rest after EMFILE/ENFILE */
#define NET_BACKLOG         1024        /* listen(2) backlog */
#define NET_HELD_MAX        (64 * 1024) /* held input that is a flood */
#define NET_READ_HIGH       (NET_HELD_MAX + 8192) /* input bytes before reads pause */
#define NET_FULL_MSG        "ERROR :Server full\r\n"

struct net_listener {
	struct net *net;           /* owner */
	struct evconnlistener *el; /* libevent listener, NULL when unused */
	bool tls;                  /* handshake before lines */
};

struct net {
	struct event_base *base;                          /* the loop (not owned) */
	struct net_limits lim;                            /* current limits */
	struct net_listener listeners[CONFIG_MAX_LISTEN]; /* listening sockets */
	int n_listeners;                                  /* listeners in use */
	SSL_CTX *ssl_ctx;                                 /* for new TLS conns, or NULL */
	net_accept_cb accept_cb;                          /* who gets new connections */
	void *accept_arg;                                 /* its argument */
	struct event *tick;                               /* periodic timer walk */
	struct event *reaper;                             /* frees CLOSED conns */
	struct event *resume;                             /* re-enables paused listeners */
	struct event *flush;                              /* writes the dirty conns' output */
	struct conn *dirty;                               /* plain conns with output to write */
	bool flush_pending;                               /* the flush event is active or added */
	int coalesce_wait_us;                             /* the next flush's wait, or 0 */
	char **pool;                                      /* free NET_OBUF_SIZE output buffers */
	size_t n_pool;                                    /* how many */
	struct flush_job *jobs;                           /* the flush's writes */
	size_t jobs_cap;                                  /* room in jobs */
	struct net_helper *helper;                        /* writes half of a big flush, or NULL */
	struct conn *head;                                /* every live connection */
	size_t n_conns;                                   /* admitted connections */
	bool shutting_down;                               /* net_shutdown() was called */
	int64_t shutdown_deadline;                        /* when shutdown stops waiting */
};

struct conn {
	struct conn *prev;            /* in net->head list */
	struct conn *next;            /* in net->head list */
	struct net *net;              /* owner */
	struct bufferevent *bev;      /* socket (or TLS) with its two buffers */
	const struct conn_handler *h; /* upper layer's callbacks (never NULL) */
	void *ud;                     /* upper layer's data */
	char *reason;                 /* why it ends (owned), NULL while open */
	uint64_t id;                  /* for logs */
	int64_t last_input_ms;        /* monotonic time of the last bytes in */
	int64_t flood_ms;             /* penalty clock */
	int64_t deadline_ms;          /* end of handshake or of flush */
	int64_t flushed_us;           /* when the flush last wrote it (monotonic µs) */
	uint32_t scanned;             /* held input bytes whose lines are counted */
	uint32_t n_pending;           /* complete lines within those bytes */
	uint8_t state;                /* enum conn_state */
	bool tls;                     /* TLS connection */
	bool discarding;              /* dropping a too-long line up to its LF */
	bool idle_sent;               /* handler->idle ran since the last input */
	bool held;                    /* input held back by flood control */
	bool paused;                  /* input held back by the upper layer */
	bool rejected;                /* over max_clients: not admitted */
	bool dirty;                   /* on net->dirty, waiting for the flush */
	bool backlog;                 /* output left after a flush: libevent writes it */
	char *out;                    /* plain, no backlog: output of this turn, or NULL */
	size_t out_len;               /* bytes in out (at most NET_OBUF_SIZE) */
	struct conn *next_dirty;      /* in net->dirty */
	char peer[INET6_ADDRSTRLEN];  /* peer address as text */
};

/* One write of a flush: filled in by the loop, done by it or by the helper. */
struct flush_job {
	struct conn *c; /* whose output (c->out, c->out_len) */
	int fd;         /* its socket */
	ssize_t n;      /* write(2)'s result */
	int err;        /* its errno when n < 0 */
};

/*
 * The flush helper: a thread that does the write(2) calls of half of a
 * large flush while the loop does the other half, then hands the results
 * back. It touches nothing but the jobs it is given (the connections'
 * buffers are not changed meanwhile: the loop waits); libevent and the
 * connections stay the loop's.
 */
struct net_helper {
	pthread_t thread;     /* the helper */
	pthread_mutex_t mu;   /* guards the rest */
	pthread_cond_t go;    /* work given, or stop */
	pthread_cond_t done;  /* the work is done */
	struct flush_job *lo; /* first job to write */
	struct flush_job *hi; /* past the last */
	bool working;         /* jobs given and not done */
	bool stop;            /* net_free: end the thread */
};

static const struct conn_handler null_handler = {0};
static uint64_t next_conn_id = 1;

static const char *const state_names[] = {"HANDSHAKE", "OPEN", "CLOSING", "CLOSED"};

static void conn_process(struct conn *c);
static void conn_mark_dirty(struct conn *c);

/* --- state and closing ----------------------------------------------------- */

static bool state_ok(enum conn_state from, enum conn_state to)
{
	if (to == CONN_CLOSED)
		return from != CONN_CLOSED;
	if (from == CONN_HANDSHAKE)
		return to == CONN_OPEN;
	return from == CONN_OPEN && to == CONN_CLOSING;
}

/* A plain conn's bufferevent output is empty but while it has a backlog. */
static size_t conn_outlen(const struct conn *c)
{
	size_t len = c->out_len;

	if (c->tls || c->backlog)
		len += evbuffer_get_length(bufferevent_get_output(c->bev));
	return len;
}

/* Give c's output buffer back to the pool (freed when the pool is full). */
static void conn_out_release(struct conn *c)
{
	struct net *n = c->net;

	if (c->out == NULL)
		return;
	if (n->n_pool < NET_OBUF_POOL)
		n->pool[n->n_pool++] = c->out;
	else
		free(c->out);
	c->out = NULL;
	c->out_len = 0;
}

/* Append to c's output buffer (one from the pool); the caller checked that it fits. */
static void conn_out_add(struct conn *c, const char *data, size_t len)
{
	struct net *n = c->net;

	if (c->out == NULL)
		c->out = n->n_pool ? n->pool[--n->n_pool] : xmalloc(NET_OBUF_SIZE);
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
}

void conn_set_state(struct conn *c, enum conn_state s)
{
	assert(state_ok(c->state, s));
	log_debug("net", "conn %" PRIu64 ": %s -> %s", c->id, state_names[c->state],
	          state_names[s]);
	c->state = (uint8_t)s;
	if (s == CONN_CLOSING) {
		bufferevent_disable(c->bev, EV_READ);
		c->deadline_ms = time_mono_ms() + NET_FLUSH_MS;
		if (conn_outlen(c) == 0)
			conn_set_state(c, CONN_CLOSED);
		else
			conn_mark_dirty(c); /* plain: flush now; TLS: its write event */
	} else if (s == CONN_CLOSED) {
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		event_active(c->net->reaper, EV_TIMEOUT, 0);
	}
}

enum conn_state conn_state(const struct conn *c)
{
	return (enum conn_state)c->state;
}

static void conn_set_reason(struct conn *c, const char *reason)
{
	if (c->reason == NULL)
		c->reason = xstrdup(reason ? reason : "Connection closed");
}

void conn_close(struct conn *c, const char *reason)
{
	if (c->state == CONN_CLOSING || c->state == CONN_CLOSED)
		return;
	conn_set_reason(c, reason);
	conn_set_state(c, c->state == CONN_HANDSHAKE ? CONN_CLOSED : CONN_CLOSING);
}

/* A close the core decides: the upper layer may say goodbye first. */
static void conn_close_notify(struct conn *c, const char *reason)
{
	if (c->state == CONN_OPEN && c->h && c->h->closing)
		c->h->closing(c, c->ud, reason);
	conn_close(c, reason);
}

/* Close at once: queued output is discarded. */
static void conn_drop(struct conn *c, const char *reason)
{
	if (c->state == CONN_CLOSED)
		return;
	conn_set_reason(c, reason);
	conn_out_release(c);
	evbuffer_drain(bufferevent_get_output(c->bev), conn_outlen(c));
	conn_set_state(c, CONN_CLOSED);
}

/*
 * Unread input at close(2) makes the kernel send RST and throw away what is
 * still queued for the peer; read what is waiting first (bounded).
 */
static void conn_drain_socket(struct conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	char buf[4096];

	if (c->tls || fd < 0)
		return;
	shutdown(fd, SHUT_WR);
	for (int i = 0; i < 16; i++)
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			break;
}

/* Call closed (once), unlink and free. */
static void conn_free(struct conn *c)
{
	struct net *n = c->net;

	conn_set_reason(c, NULL);
	if (c->state != CONN_CLOSED)
		c->state = CONN_CLOSED;
	if (!c->rejected && c->h->closed)
		c->h->closed(c, c->ud, c->reason);
	log_debug("net", "conn %" PRIu64 ": closed (%s)", c->id, c->reason);
	if (c->prev)
		c->prev->next = c->next;
	else
		n->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (!c->rejected)
		n->n_conns--;
	if (c->dirty) {
		struct conn **pp = &n->dirty;

		while (*pp != c)
			pp = &(*pp)->next_dirty;
		*pp = c->next_dirty;
	}
	conn_drain_socket(c);
	conn_out_release(c);
	bufferevent_free(c->bev);
	free(c->reason);
	free(c);
}

static void net_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net *n = arg;
	struct conn *next;

	for (struct conn *c = n->head; c != NULL; c = next) {
		next = c->next;
		if (c->state == CONN_CLOSED)
			conn_free(c);
	}
	if (n->shutting_down && n->head == NULL)
		event_base_loopexit(n->base, NULL);
}

/* --- input: lines, too-long lines, flood control --------------------------- */

static void conn_drain_in(struct conn *c, struct evbuffer *in, size_t len)
{
	evbuffer_drain(in, len);
	if (c->scanned >= len && c->n_pending > 0) {
		c->scanned -= (uint32_t)len;
		c->n_pending--;
	} else {
		c->scanned = 0;
		c->n_pending = 0;
	}
}

static void conn_too_long(struct conn *c)
{
	if (c->h->too_long)
		c->h->too_long(c, c->ud);
}

/* No LF in the input: start (or go on) discarding an over-long line. */
static void conn_partial(struct conn *c, struct evbuffer *in)
{
	size_t len = evbuffer_get_length(in);

	if (c->discarding) {
		conn_drain_in(c, in, len);
		return;
	}
	/* A full-length line may still be waiting for its CR LF. */
	if (len > NET_MAX_LINE + 1) {
		c->discarding = true;
		conn_drain_in(c, in, len);
		conn_too_long(c);
	}
}

/* Hand the line ending with the LF at pos to the handler, then drain it. */
static void conn_line(struct conn *c, struct evbuffer *in, size_t pos)
{
	size_t len = pos;
	char *line;

	if (len > NET_MAX_LINE + 1) {
		conn_drain_in(c, in, pos + 1);
		conn_too_long(c);
		return;
	}
	line = (char *)evbuffer_pullup(in, (ev_ssize_t)pos + 1);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > NET_MAX_LINE) {
		conn_drain_in(c, in, pos + 1);
		conn_too_long(c);
		return;
	}
	line[len] = '\0';
	if (c->h->line)
		c->h->line(c, c->ud, line, len);
	conn_drain_in(c, in, pos + 1);
}

static int64_t flood_cost(const struct net *n)
{
	int64_t cost = 1000 / n->lim.flood_rate;

	return cost > 0 ? cost : 1;
}

/* Whether the next line must wait; charges the penalty clock if not. */
static bool flood_hold(struct conn *c)
{
	const struct net_limits *lim = &c->net->lim;
	int64_t now, cost;

	if (lim->flood_rate <= 0)
		return false;
	now = time_mono_ms();
	cost = flood_cost(c->net);
	if (c->flood_ms < now)
		c->flood_ms = now;
	c->held = c->flood_ms - now >= (int64_t)lim->flood_burst * cost;
	if (!c->held)
		c->flood_ms += cost;
	return c->held;
}

/* Input is held: count the waiting lines and disconnect a real flood. */
static void flood_check(struct conn *c, struct evbuffer *in)
{
	const struct net_limits *lim = &c->net->lim;
	size_t len = evbuffer_get_length(in);
	struct evbuffer_ptr p;
	int64_t ahead;

	while (c->scanned < len && evbuffer_ptr_set(in, &p, c->scanned, EVBUFFER_PTR_SET) == 0) {
		p = evbuffer_search(in, "\n", 1, &p);
		if (p.pos < 0)
			break;
		c->n_pending++;
		c->scanned = (uint32_t)p.pos + 1;
	}
	ahead = c->flood_ms - time_mono_ms() + (int64_t)c->n_pending * flood_cost(c->net);
	if (len > NET_HELD_MAX ||
	    (lim->flood_kill_seconds > 0 && ahead > (int64_t)lim->flood_kill_seconds * 1000)) {
		log_debug("net", "conn %" PRIu64 ": excess flood (%zu bytes held)", c->id, len);
		conn_close_notify(c, "Excess Flood");
	}
}

static void conn_process(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	while (c->state == CONN_OPEN) {
		size_t eol_len = 0;
		struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);

		if (p.pos < 0) {
			conn_partial(c, in);
			break;
		}
		if (c->discarding) {
			c->discarding = false;
			conn_drain_in(c, in, (size_t)p.pos + 1);
			continue;
		}
		if (c->paused)
			break;
		if (flood_hold(c)) {
			flood_check(c, in);
			break;
		}
		conn_line(c, in, (size_t)p.pos);
	}
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	c->last_input_ms = time_mono_ms();
	c->idle_sent = false;
	conn_process(c);
}

void conn_pause(struct conn *c)
{
	c->paused = true;
}

void conn_resume(struct conn *c)
{
	if (!c->paused)
		return;
	c->paused = false;
	/* Lines already buffered are handed over from the loop, not from here. */
	if (c->state == CONN_OPEN)
		bufferevent_trigger(c->bev, EV_READ,
		                    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/* --- output ------------------------------------------------------------------ */

/*
 * Plain connections write directly: output queued during a loop turn is
 * copied into one flat buffer per connection (taken from a pool of
 * NET_OBUF_SIZE buffers and given back after the flush, so an idle
 * connection holds none) and written with one write(2) at the end of the
 * turn (the flush event), or at once when the buffer is full. Only what
 * the socket could not take goes to the bufferevent's output, and
 * libevent's write event (two epoll_ctl calls per burst) writes that
 * backlog; while it lasts, new output follows it there. A fan-out to a
 * hundred members thus costs a memcpy per member, not evbuffer chains
 * allocated and freed each turn. TLS connections leave the writing to
 * their bufferevent.
 *
 * Under fan-out load one message reaches a hundred connections and each
 * write carries one line: the kernel's send path is most of the CPU. When
 * a flush wrote to NET_COALESCE_CONNS connections or more, soon after the
 * one before it, the next one waits (a timer) so that each write carries
 * the lines of several messages: net_coalesce_wait_us() sizes the wait from
 * the rate the flush saw, at most coalesce_us. A flush below that goes back
 * to the end of the turn, so a quiet server adds no latency.
 */
static void conn_mark_dirty(struct conn *c)
{
	struct net *n = c->net;

	if (c->tls || c->dirty || c->backlog)
		return;
	c->dirty = true;
	c->next_dirty = n->dirty;
	n->dirty = c;
	if (n->flush_pending)
		return;
	n->flush_pending = true;
	if (n->coalesce_wait_us > 0) {
		struct timeval tv = {0, n->coalesce_wait_us};

		event_add(n->flush, &tv);
	} else {
		event_active(n->flush, 0, 0);
	}
}

/*
 * After a write(2) of data that returned n (errno err): what the socket did
 * not take goes to the bufferevent's output, and libevent writes it (the
 * backlog); a write error drops the connection. conn_send_now writes now.
 */
static void conn_wrote(struct conn *c, const char *data, size_t len, ssize_t n, int err)
{
	if (n < 0 && err != EAGAIN && err != EINTR) {
		char reason[128];

		snprintf(reason, sizeof(reason), "Write error: %s", strerror(err));
		conn_drop(c, reason);
		return;
	}
	if (n < 0)
		n = 0;
	if ((size_t)n == len)
		return;
	if (evbuffer_add(bufferevent_get_output(c->bev), data + n, len - (size_t)n) != 0) {
		conn_drop(c, "Write error: out of buffer");
		return;
	}
	c->backlog = true;
	bufferevent_enable(c->bev, EV_WRITE);
}

static void conn_send_now(struct conn *c, const char *data, size_t len)
{
	ssize_t n = write(bufferevent_getfd(c->bev), data, len);

	conn_wrote(c, data, len, n, errno);
}

/* After the flush wrote c's buffer (job j): the rest, the buffer back, a close. */
static void conn_flushed(struct conn *c, const struct flush_job *j)
{
	if (c->state == CONN_CLOSED)
		return;
	if (c->out_len > 0) {
		size_t len = c->out_len;

		c->out_len = 0;
		conn_wrote(c, c->out, len, j->n, j->err);
	}
	conn_out_release(c);
	if (!c->backlog && c->state == CONN_CLOSING)
		conn_set_state(c, CONN_CLOSED);
}

/*
 * Queue output of a plain connection without a backlog. A full buffer is
 * written at once, mid-turn: under load each write then carries
 * NET_OBUF_SIZE bytes, and no connection holds more than one buffer.
 */
static void conn_queue(struct conn *c, const char *data, size_t len)
{
	if (c->out_len + len > NET_OBUF_SIZE && c->out_len > 0) {
		size_t queued = c->out_len;

		c->out_len = 0;
		conn_send_now(c, c->out, queued);
		if (c->state == CONN_CLOSED)
			return;
	}
	if (c->backlog) {
		if (bufferevent_write(c->bev, data, len) != 0)
			conn_drop(c, "Write error: out of buffer");
	} else if (len > NET_OBUF_SIZE) {
		conn_send_now(c, data, len);
	} else {
		conn_out_add(c, data, len);
	}
}

static void jobs_write(struct flush_job *j, struct flush_job *end)
{
	for (; j < end; j++) {
		j->n = j->c->out_len ? write(j->fd, j->c->out, j->c->out_len) : 0;
		j->err = j->n < 0 ? errno : 0;
	}
}

static void *helper_main(void *arg)
{
	struct net_helper *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->working && !h->stop)
			pthread_cond_wait(&h->go, &h->mu);
		if (h->stop)
			break;
		pthread_mutex_unlock(&h->mu);
		jobs_write(h->lo, h->hi);
		pthread_mutex_lock(&h->mu);
		h->working = false;
		pthread_cond_signal(&h->done);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* The helper thread, started on the first large flush; NULL if it cannot be. */
static struct net_helper *net_helper(struct net *n)
{
	struct net_helper *h;

	if (n->helper)
		return n->helper;
	h = xcalloc(1, sizeof(*h));
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->go, NULL);
	pthread_cond_init(&h->done, NULL);
	if (pthread_create(&h->thread, NULL, helper_main, h) != 0) {
		log_warn("net", "cannot start the flush helper thread: flushing alone");
		pthread_cond_destroy(&h->done);
		pthread_cond_destroy(&h->go);
		pthread_mutex_destroy(&h->mu);
		free(h);
		return NULL;
	}
	pthread_setname_np(h->thread, "net-flush");
	n->helper = h;
	return h;
}

static void net_helper_stop(struct net *n)
{
	struct net_helper *h = n->helper;

	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	pthread_cond_signal(&h->go);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	pthread_cond_destroy(&h->done);
	pthread_cond_destroy(&h->go);
	pthread_mutex_destroy(&h->mu);
	free(h);
	n->helper = NULL;
}

/*
 * Write jobs [0, cnt): a flush to NET_SPLIT_CONNS connections or more gives
 * its second half to the helper thread, so that the kernel's send path (most
 * of a delivery's cost) runs on two cores; the loop waits for it.
 */
static void net_write_jobs(struct net *n, size_t cnt)
{
	struct net_helper *h = cnt >= NET_SPLIT_CONNS ? net_helper(n) : NULL;
	size_t half = cnt / 2;

	if (h == NULL) {
		jobs_write(n->jobs, n->jobs + cnt);
		return;
	}
	pthread_mutex_lock(&h->mu);
	h->lo = n->jobs + half;
	h->hi = n->jobs + cnt;
	h->working = true;
	pthread_cond_signal(&h->go);
	pthread_mutex_unlock(&h->mu);
	jobs_write(n->jobs, n->jobs + half);
	pthread_mutex_lock(&h->mu);
	while (h->working)
		pthread_cond_wait(&h->done, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

int net_coalesce_wait_us(int64_t interval_us, size_t bytes, size_t conns, int cap_us)
{
	uint64_t want;

	if (cap_us <= 0 || conns < NET_COALESCE_CONNS || bytes == 0 || interval_us <= 0)
		return 0; /* no sustained fan-out: the end of the turn */
	/* at bytes / interval_us, NET_COALESCE_BYTES come in this long */
	want = (uint64_t)interval_us * NET_COALESCE_BYTES / bytes;
	if (want > 2 * (uint64_t)cap_us)
		return 0; /* too slow: a write would carry a line or two, not worth a wait */
	return want < (uint64_t)cap_us ? (int)want : cap_us;
}

static void net_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net *n = arg;
	size_t cnt = 0, steady = 0, bytes = 0;
	int64_t now = time_mono_ns() / 1000, interval = 0;

	(void)fd;
	(void)what;
	n->flush_pending = false;
	while (n->dirty) {
		struct conn *c = n->dirty;

		n->dirty = c->next_dirty;
		c->dirty = false;
		if (cnt == n->jobs_cap) {
			n->jobs_cap = n->jobs_cap ? n->jobs_cap * 2 : 256;
			n->jobs = xrealloc(n->jobs, n->jobs_cap * sizeof(*n->jobs));
		}
		n->jobs[cnt++] = (struct flush_job){c, bufferevent_getfd(c->bev), 0, 0};
		/* the rate of a connection written to recently (not the first line after quiet) */
		if (now - c->flushed_us <= 2 * (int64_t)n->lim.coalesce_us) {
			steady++;
			interval += now - c->flushed_us;
			bytes += c->out_len;
		}
		c->flushed_us = now;
	}
	net_write_jobs(n, cnt);
	for (size_t i = 0; i < cnt; i++)
		conn_flushed(n->jobs[i].c, &n->jobs[i]);
	n->coalesce_wait_us = net_coalesce_wait_us(interval, bytes, steady, n->lim.coalesce_us);
}

void conn_write(struct conn *c, const char *data, size_t len)
{
	if (c->state == CONN_CLOSED || c->state == CONN_HANDSHAKE)
		return;
	if (c->net->lim.sendq > 0 && conn_outlen(c) + len > (size_t)c->net->lim.sendq) {
		log_debug("net", "conn %" PRIu64 ": sendq exceeded (%zu queued)", c->id,
		          conn_outlen(c));
		conn_drop(c, "SendQ exceeded");
		return;
	}
	if (!c->tls && !c->backlog) {
		conn_queue(c, data, len);
		if (c->state == CONN_CLOSED)
			return;
	} else if (bufferevent_write(c->bev, data, len) != 0) {
		conn_drop(c, "Write error: out of buffer");
		return;
	}
	conn_mark_dirty(c);
}

/* The output buffer went empty: a closing connection is done. */
static void conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (!c->tls && c->backlog && conn_outlen(c) == 0) {
		c->backlog = false;
		bufferevent_disable(c->bev, EV_WRITE);
	}
	if (c->state == CONN_CLOSING && conn_outlen(c) == 0)
		conn_set_state(c, CONN_CLOSED);
}

/* --- events: TLS handshake done, EOF, errors ------------------------------- */

/* The handshake is done, or a plain socket is accepted: admit or refuse. */
static void conn_admit(struct conn *c)
{
	struct net *n = c->net;

	if (c->rejected) {
		log_info("net", "conn %" PRIu64 ": refused, server full", c->id);
		conn_write(c, NET_FULL_MSG, sizeof(NET_FULL_MSG) - 1);
		conn_close(c, "Server full");
		return;
	}
	if (n->accept_cb)
		n->accept_cb(c, n->accept_arg);
	if (c->state == CONN_OPEN)
		bufferevent_enable(c->bev, EV_READ);
}

/* "TLS error: ..." from the bufferevent's OpenSSL errors, if there were any. */
static bool conn_tls_error(struct conn *c, char *buf, size_t len)
{
	unsigned long e, last = 0;

	while ((e = bufferevent_get_openssl_error(c->bev)) != 0)
		last = e;
	ERR_clear_error();
	if (last == 0)
		return false;
	snprintf(buf, len, "TLS error: %s", ERR_reason_error_string(last));
	return true;
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char reason[160];
	int err = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_CONNECTED) {
		log_debug("net", "conn %" PRIu64 ": TLS handshake done", c->id);
		conn_set_state(c, CONN_OPEN);
		conn_admit(c);
		return;
	}
	if (conn_tls_error(c, reason, sizeof(reason))) {
		if (c->state == CONN_HANDSHAKE)
			log_debug("net", "conn %" PRIu64 ": TLS handshake failed (%s)", c->id,
			          reason);
	} else if ((what & BEV_EVENT_ERROR) && err != 0) {
		snprintf(reason, sizeof(reason), "%s error: %s",
		         (what & BEV_EVENT_WRITING) ? "Write" : "Read", strerror(err));
	} else {
		str_copy(reason, "Connection closed", sizeof(reason));
	}
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR))
		conn_close(c, reason);
	else
		conn_drop(c, reason);
}

/* --- accepting ------------------------------------------------------------ */

static struct bufferevent *conn_bev_new(struct net *n, evutil_socket_t fd, bool tls)
{
	struct bufferevent *bev;
	SSL *ssl;

	if (!tls)
		return bufferevent_socket_new(n->base, fd, BEV_OPT_CLOSE_ON_FREE);
	ssl = n->ssl_ctx ? SSL_new(n->ssl_ctx) : NULL;
	if (ssl == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(n->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                     BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

static void conn_peer_text(struct conn *c, const struct sockaddr *sa)
{
	const void *addr = NULL;

	if (sa->sa_family == AF_INET)
		addr = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		addr = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (addr == NULL || inet_ntop(sa->sa_family, addr, c->peer, sizeof(c->peer)) == NULL)
		str_copy(c->peer, "unknown", sizeof(c->peer));
}

static void net_on_accept(struct evconnlistener *el, evutil_socket_t fd, struct sockaddr *sa,
                          int salen, void *arg)
{
	struct net_listener *ls = arg;
	struct net *n = ls->net;
	struct bufferevent *bev;
	struct conn *c;
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	bev = conn_bev_new(n, fd, ls->tls);
	if (bev == NULL) {
		log_warn("net", "cannot set up an accepted connection");
		evutil_closesocket(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->net = n;
	c->bev = bev;
	c->h = &null_handler;
	c->id = next_conn_id++;
	c->tls = ls->tls;
	c->state = ls->tls ? CONN_HANDSHAKE : CONN_OPEN;
	c->last_input_ms = time_mono_ms();
	c->deadline_ms = c->last_input_ms + NET_HANDSHAKE_MS;
	c->rejected = n->lim.max_clients > 0 && n->n_conns >= (size_t)n->lim.max_clients;
	if (!c->rejected)
		n->n_conns++;
	conn_peer_text(c, sa);
	c->next = n->head;
	if (n->head)
		n->head->prev = c;
	n->head = c;
	log_debug("net", "conn %" PRIu64 ": accepted from %s%s", c->id, c->peer,
	          c->tls ? " (TLS)" : "");
	bufferevent_setcb(bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(bev, EV_READ, 0, NET_READ_HIGH);
	if (!c->tls)
		bufferevent_disable(bev, EV_WRITE); /* written by conn_flush */
	if (!c->tls)
		conn_admit(c);
}

/* Accept failed: on a lack of descriptors, rest the listeners a moment. */
static void net_listen_error_cb(struct evconnlistener *el, void *arg)
{
	struct net_listener *ls = arg;
	struct net *n = ls->net;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {0, NET_ACCEPT_PAUSE_MS * 1000};

	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
		log_warn("net", "accept: %s", strerror(err));
		return;
	}
	log_warn("net", "accept: %s; pausing listeners for %d ms", strerror(err),
	         NET_ACCEPT_PAUSE_MS);
	for (int i = 0; i < n->n_listeners; i++)
		evconnlistener_disable(n->listeners[i].el);
	evtimer_add(n->resume, &tv);
}

static void net_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net *n = arg;

	for (int i = 0; i < n->n_listeners; i++)
		evconnlistener_enable(n->listeners[i].el);
}

/* --- the periodic tick ------------------------------------------------------ */

static void conn_idle_check(struct conn *c, int64_t now)
{
	const struct net_limits *lim = &c->net->lim;
	int64_t quiet = now - c->last_input_ms;
	char reason[64];

	if (lim->ping_interval <= 0)
		return;
	if (!c->idle_sent) {
		if (quiet >= (int64_t)lim->ping_interval * 1000) {
			c->idle_sent = true;
			if (c->h->idle)
				c->h->idle(c, c->ud);
		}
		return;
	}
	if (quiet >= ((int64_t)lim->ping_interval + lim->ping_timeout) * 1000) {
		snprintf(reason, sizeof(reason), "Ping timeout: %" PRId64 " seconds", quiet / 1000);
		conn_close_notify(c, reason);
	}
}

static void conn_tick(struct conn *c, int64_t now)
{
	switch ((enum conn_state)c->state) {
	case CONN_HANDSHAKE:
		if (now >= c->deadline_ms) {
			log_debug("net", "conn %" PRIu64 ": TLS handshake timeout", c->id);
			conn_drop(c, "TLS handshake timeout");
		}
		break;
	case CONN_OPEN:
		if (c->held)
			conn_process(c);
		if (c->state == CONN_OPEN)
			conn_idle_check(c, now);
		break;
	case CONN_CLOSING:
		if (now >= c->deadline_ms || conn_outlen(c) == 0)
			conn_drop(c, NULL);
		break;
	case CONN_CLOSED:
		break;
	}
}

static void net_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net *n = arg;
	int64_t now = time_mono_ms();

	for (struct conn *c = n->head; c != NULL; c = c->next)
		conn_tick(c, now);
	if (n->shutting_down && now >= n->shutdown_deadline) {
		for (struct conn *c = n->head; c != NULL; c = c->next)
			conn_drop(c, NULL);
		event_base_loopexit(n->base, NULL);
	}
}

/* --- the network core ------------------------------------------------------- */

struct net *net_new(struct event_base *base, const struct net_limits *lim)
{
	struct net *n = xcalloc(1, sizeof(*n));
	struct timeval tv = {NET_TICK_MS / 1000, (NET_TICK_MS % 1000) * 1000};

	n->base = base;
	n->lim = *lim;
	n->tick = event_new(base, -1, EV_PERSIST, net_tick_cb, n);
	n->reaper = event_new(base, -1, 0, net_reap_cb, n);
	n->flush = event_new(base, -1, 0, net_flush_cb, n);
	n->pool = xcalloc(NET_OBUF_POOL, sizeof(*n->pool));
	n->resume = evtimer_new(base, net_resume_cb, n);
	if (n->tick == NULL || n->reaper == NULL || n->resume == NULL || n->flush == NULL) {
		log_error("net", "cannot create timer events");
		abort();
	}
	event_add(n->tick, &tv);
	return n;
}

static void net_close_listeners(struct net *n)
{
	for (int i = 0; i < n->n_listeners; i++)
		evconnlistener_free(n->listeners[i].el);
	n->n_listeners = 0;
}

void net_free(struct net *n)
{
	if (n == NULL)
		return;
	net_close_listeners(n);
	while (n->head != NULL) {
		conn_set_reason(n->head, "Server shutting down");
		conn_free(n->head);
	}
	event_free(n->tick);
	event_free(n->reaper);
	event_free(n->resume);
	event_free(n->flush);
	net_helper_stop(n);
	free(n->jobs);
	while (n->n_pool > 0)
		free(n->pool[--n->n_pool]);
	free(n->pool);
	SSL_CTX_free(n->ssl_ctx);
	free(n);
}

void net_set_limits(struct net *n, const struct net_limits *lim)
{
	n->lim = *lim;
}

int net_tls_load(struct net *n, const char *cert_path, const char *key_path, char *err,
                 size_t errlen)
{
	SSL_CTX *ctx = tls_ctx_load(cert_path, key_path, err, errlen);

	if (ctx == NULL)
		return -1;
	/* Each SSL holds a reference: existing connections keep the old pair. */
	SSL_CTX_free(n->ssl_ctx);
	n->ssl_ctx = ctx;
	return 0;
}

int net_listen(struct net *n, const struct config_listen *l, char *err, size_t errlen)
{
	struct evutil_addrinfo hints = {0}, *ai = NULL;
	struct net_listener *ls;
	char port[8];
	int rc;

	if (l->tls && n->ssl_ctx == NULL) {
		snprintf(err, errlen, "%s:%u: TLS listener without a certificate", l->addr,
		         l->port);
		return -1;
	}
	if (n->n_listeners >= CONFIG_MAX_LISTEN) {
		snprintf(err, errlen, "too many listeners");
		return -1;
	}
	snprintf(port, sizeof(port), "%u", (unsigned)l->port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG;
	rc = evutil_getaddrinfo(l->addr[0] ? l->addr : NULL, port, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "%s:%s: %s", l->addr, port, evutil_gai_strerror(rc));
		return -1;
	}
	ls = &n->listeners[n->n_listeners];
	ls->net = n;
	ls->tls = l->tls;
	ls->el = evconnlistener_new_bind(n->base, net_on_accept, ls,
	                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	                                     LEV_OPT_CLOSE_ON_EXEC,
	                                 NET_BACKLOG, ai->ai_addr, (int)ai->ai_addrlen);
	evutil_freeaddrinfo(ai);
	if (ls->el == NULL) {
		snprintf(err, errlen, "%s:%s: %s", l->addr, port, strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(ls->el, net_listen_error_cb);
	n->n_listeners++;
	log_info("net", "listening on %s:%s%s", l->addr, port, l->tls ? " (TLS)" : "");
	return 0;
}

void net_set_accept(struct net *n, net_accept_cb cb, void *arg)
{
	n->accept_cb = cb;
	n->accept_arg = arg;
}

void net_shutdown(struct net *n, const char *msg)
{
	if (n->shutting_down)
		return;
	n->shutting_down = true;
	n->shutdown_deadline = time_mono_ms() + NET_SHUTDOWN_MS;
	net_close_listeners(n);
	log_info("net", "shutting down, %zu connections", n->n_conns);
	for (struct conn *c = n->head; c != NULL; c = c->next) {
		if (msg && c->state == CONN_OPEN)
			conn_write(c, msg, strlen(msg));
		conn_close(c, "Server shutting down");
	}
	if (n->head == NULL)
		event_base_loopexit(n->base, NULL);
}

size_t net_n_conns(const struct net *n)
{
	return n->n_conns;
}

/* --- a connection ------------------------------------------------------------ */

void conn_set_handler(struct conn *c, const struct conn_handler *h, void *ud)
{
	c->h = h ? h : &null_handler;
	c->ud = ud;
}

const char *conn_peer(const struct conn *c)
{
	return c->peer;
}

bool conn_is_tls(const struct conn *c)
{
	return c->tls;
}

uint64_t conn_id(const struct conn *c)
{
	return c->id;
}

size_t conn_sendq(const struct conn *c)
{
	return conn_outlen(c);
}
