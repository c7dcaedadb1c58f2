/*
 * net.h — the network core: listeners (plain and TLS), connections, limits,
 * timers. It moves bytes and lines; it knows nothing of IRC.
 *
 * Life of a connection: accepted by a listener (TLS: handshake first), the
 * upper layer's accept callback installs a conn_handler, every complete
 * line is handed to handler->line, and when the connection ends (peer
 * closed, error, limit, conn_close) handler->closed runs once, from the
 * loop, never inside the handler's own call chain. After closed returns the
 * struct conn is freed.
 */
#ifndef PCHAT_CORE_NET_H
#define PCHAT_CORE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct config_listen;
struct conn;
struct net;

/* Longest line accepted: 8191 bytes of tags (IRCv3 message-tags) + 512. */
#define NET_MAX_LINE (8191 + 512)

enum conn_state {
	CONN_HANDSHAKE, /* TLS handshake in progress */
	CONN_OPEN,      /* lines flow */
	CONN_CLOSING,   /* no more input; flushing output (bounded time) */
	CONN_CLOSED,    /* socket gone; waiting to be reaped */
};

struct net_limits {
	int max_clients;        /* connections at once; over it: "ERROR :Server full" */
	int sendq;              /* output bytes queued before the client is dropped */
	int flood_rate;         /* sustained lines per second (0 = off) */
	int flood_burst;        /* lines accepted at once before input is held */
	int flood_kill_seconds; /* penalty ahead of the clock that disconnects */
	int ping_interval;      /* idle seconds before handler->idle */
	int ping_timeout;       /* further seconds without input before dropping */
	int coalesce_us;        /* busy fan-out: output held at most this long (0 = off) */
};

struct conn_handler {
	/*
	 * One line without CR/LF, NUL-terminated at line[len] and writable
	 * (the parser works in place). The line may hold a NUL before len.
	 * Valid only during the call.
	 */
	void (*line)(struct conn *c, void *ud, char *line, size_t len);
	/* A line longer than NET_MAX_LINE was discarded; the connection stays. */
	void (*too_long)(struct conn *c, void *ud);
	/* ping_interval seconds without input: the upper layer sends a PING. */
	void (*idle)(struct conn *c, void *ud);
	/*
	 * The core is closing the connection on its own (Excess Flood, Ping
	 * timeout): the last chance to queue a line (may be NULL).
	 */
	void (*closing)(struct conn *c, void *ud, const char *reason);
	/* The connection is gone; reason is for logs and QUIT messages. */
	void (*closed)(struct conn *c, void *ud, const char *reason);
};

/* Called for each new connection; must call conn_set_handler(). */
typedef void (*net_accept_cb)(struct conn *c, void *arg);

/* --- the network core ---------------------------------------------------- */

struct net *net_new(struct event_base *base, const struct net_limits *lim);
/* Close every connection at once (no flush), stop listeners, free. */
void net_free(struct net *n);

/* Replace the limits (SIGHUP); existing connections use the new values. */
void net_set_limits(struct net *n, const struct net_limits *lim);

/*
 * Load (or reload) the TLS certificate and key. When both paths name files
 * that do not exist, a self-signed pair (EC P-256, 10 years, mode 0600) is
 * generated there first. New TLS connections use the new pair; existing
 * ones keep theirs. 0, or -1 with a message in err.
 */
int net_tls_load(struct net *n, const char *cert_path, const char *key_path, char *err,
                 size_t errlen);

/* Start listening; TLS listeners need net_tls_load() first. 0 or -1 + err. */
int net_listen(struct net *n, const struct config_listen *l, char *err, size_t errlen);

/* Who gets new connections. */
void net_set_accept(struct net *n, net_accept_cb cb, void *arg);

/*
 * Stop accepting; write msg (a complete line with CRLF, may be NULL) to every
 * connection, then close them all with a flush. The loop exits when done
 * (or after a few seconds).
 */
void net_shutdown(struct net *n, const char *msg);

/* Connections currently open. */
size_t net_n_conns(const struct net *n);

/*
 * How long the next flush waits for more output, after one that wrote
 * bytes to conns connections written to within 2 * cap_us before, those
 * times since their previous write summing to interval_us: under sustained
 * fan-out (conns >= 32) long enough that each write carries ~2 KiB at that
 * rate, at most cap_us; 0 (the end of the loop turn) without it, or
 * when the rate is too low for a write to carry more than a line or two
 * within 2 * cap_us. A fast rate fills the writes sooner, so the wait
 * shrinks as the load grows.
 */
int net_coalesce_wait_us(int64_t interval_us, size_t bytes, size_t conns, int cap_us);

/* --- a connection -------------------------------------------------------- */

/* h is kept, not copied: it must outlive the connection (a static table). */
void conn_set_handler(struct conn *c, const struct conn_handler *h, void *ud);

/*
 * Queue bytes for the peer. Over the send-queue limit the connection is
 * dropped ("SendQ exceeded"): its queue is discarded and closed follows.
 */
void conn_write(struct conn *c, const char *data, size_t len);

/*
 * Stop handing lines to the handler (they stay buffered, bounded by the
 * input limit) until conn_resume(); for an upper layer waiting on an
 * asynchronous step (registration) whose later lines depend on it.
 * conn_resume() hands the buffered lines over from the loop, never from
 * inside the caller.
 */
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);

/* Close after flushing what is queued (at most a few seconds). Idempotent. */
void conn_close(struct conn *c, const char *reason);

/* Change state (checked, logged at debug). */
void conn_set_state(struct conn *c, enum conn_state s);
enum conn_state conn_state(const struct conn *c);

/* The peer's address as text ("127.0.0.1", "::1"). */
const char *conn_peer(const struct conn *c);
/* Whether the connection is TLS. */
bool conn_is_tls(const struct conn *c);
/* Connection number, unique for the process lifetime (for logs). */
uint64_t conn_id(const struct conn *c);
/* Bytes queued for output. */
size_t conn_sendq(const struct conn *c);

#endif
