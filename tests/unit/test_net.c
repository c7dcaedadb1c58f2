/*
 * test_net.c — the network core with real sockets on 127.0.0.1: line
 * splitting, limits, closing, flood control, timeouts, TLS, many
 * connections and the memory each one costs.
 *
 * The server's loop runs on the test's thread, driven with EVLOOP_NONBLOCK
 * between client actions; clients are non-blocking sockets (and OpenSSL
 * clients on them). Not here: IRC (the handler is a stub that records).
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/tcp.h> /* tcpi_data_segs_in */

#include <cmocka.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/vec.h"
#include "common/xmalloc.h"
#include "core/config.h"
#include "core/net.h"

#define MAX_TLINES 512 /* lines recorded per test connection */

struct tconn {
	struct conn *c;          /* NULL once closed */
	char *lines[MAX_TLINES]; /* copies of the lines received */
	size_t lens[MAX_TLINES]; /* their lengths */
	size_t n_lines;          /* lines received */
	int too_long;            /* too_long calls */
	int idle;                /* idle calls */
	int closed;              /* closed calls */
	char reason[128];        /* reason given to closed */
	bool tls;                /* conn_is_tls() at accept */
};

static struct {
	struct event_base *base; /* the loop */
	struct net *net;         /* the network core under test */
	struct ptrvec conns;     /* struct tconn *, in accept order */
	int port;                /* plain listener */
	int tls_port;            /* TLS listener, 0 when none */
	bool echo;               /* handler writes each line back */
	char dir[64];            /* temporary directory */
} T;

/* --- the stub upper layer -------------------------------------------------- */

static struct tconn *tc_at(size_t i)
{
	return i < T.conns.n ? T.conns.v[i] : NULL;
}

static void h_line(struct conn *c, void *ud, char *line, size_t len)
{
	struct tconn *tc = ud;

	if (tc->n_lines < MAX_TLINES) {
		tc->lines[tc->n_lines] = xmalloc(len + 1);
		memcpy(tc->lines[tc->n_lines], line, len + 1);
		tc->lens[tc->n_lines++] = len;
	}
	if (strncmp(line, "BIG ", 4) == 0) {
		/* Queue a large reply and close: it must all arrive. */
		char chunk[1000];
		long total = atol(line + 4);

		for (long i = 0; i < total; i += (long)sizeof(chunk)) {
			for (size_t k = 0; k < sizeof(chunk); k++)
				chunk[k] = (char)('a' + (i / (long)sizeof(chunk) + (long)k) % 26);
			conn_write(c, chunk, sizeof(chunk));
		}
		conn_close(c, "Bye");
		conn_close(c, "Twice");
		return;
	}
	if (T.echo) {
		conn_write(c, line, len);
		conn_write(c, "\r\n", 2);
	}
}

static void h_too_long(struct conn *c, void *ud)
{
	((struct tconn *)ud)->too_long++;
}

static void h_idle(struct conn *c, void *ud)
{
	((struct tconn *)ud)->idle++;
}

static void h_closed(struct conn *c, void *ud, const char *reason)
{
	struct tconn *tc = ud;

	tc->closed++;
	tc->c = NULL;
	str_copy(tc->reason, reason, sizeof(tc->reason));
}

static const struct conn_handler handler = {
    .line = h_line, .too_long = h_too_long, .idle = h_idle, .closed = h_closed};

static void on_accept(struct conn *c, void *arg)
{
	struct tconn *tc = xcalloc(1, sizeof(*tc));

	tc->c = c;
	tc->tls = conn_is_tls(c);
	ptrvec_push(&T.conns, tc);
	conn_set_handler(c, &handler, tc);
}

/* --- loop and client helpers -------------------------------------------------- */

static void pump_once(void)
{
	event_base_loop(T.base, EVLOOP_NONBLOCK);
	usleep(300);
}

#define WAIT_FOR(cond, ms)                                                                         \
	do {                                                                                       \
		int64_t end_ = time_mono_ms() + (ms);                                              \
		while (!(cond) && time_mono_ms() < end_)                                           \
			pump_once();                                                               \
	} while (0)

static void pump(int ms)
{
	int64_t end = time_mono_ms() + ms;

	while (time_mono_ms() < end)
		pump_once();
}

static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static int listen_on(bool tls)
{
	struct config_listen l = {.addr = "127.0.0.1", .tls = tls};
	char err[256] = "";

	l.port = (uint16_t)free_port();
	assert_int_equal(net_listen(T.net, &l, err, sizeof(err)), 0);
	return l.port;
}

static void start(const struct net_limits *lim)
{
	T.base = event_base_new();
	assert_non_null(T.base);
	T.net = net_new(T.base, lim);
	net_set_accept(T.net, on_accept, NULL);
	T.port = listen_on(false);
}

static const struct net_limits default_limits = {
    .max_clients = 100,
    .sendq = 1 << 20,
    .flood_rate = 0,
    .ping_interval = 120,
    .ping_timeout = 60,
};

static int teardown(void **state)
{
	net_free(T.net);
	event_base_free(T.base);
	for (size_t i = 0; i < T.conns.n; i++) {
		struct tconn *tc = T.conns.v[i];

		for (size_t k = 0; k < tc->n_lines; k++)
			free(tc->lines[k]);
		free(tc);
	}
	ptrvec_free(&T.conns);
	memset(&T, 0, sizeof(T));
	return 0;
}

static int cli_connect(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static void cli_send(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			pump_once();
			continue;
		}
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

static void cli_puts(int fd, const char *s)
{
	cli_send(fd, s, strlen(s));
}

struct cbuf {
	char data[1 << 19]; /* what the client received */
	size_t len;         /* bytes in data */
	bool eof;           /* the server closed (FIN or RST) */
};

/* Read what is waiting; true once the server closed. */
static bool cli_read(int fd, struct cbuf *b)
{
	for (;;) {
		ssize_t n = recv(fd, b->data + b->len, sizeof(b->data) - 1 - b->len, 0);

		if (n > 0) {
			b->len += (size_t)n;
			b->data[b->len] = '\0';
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			b->eof = true;
		return b->eof;
	}
}

/* Read and count until the server closes (or timeout_ms passes: SIZE_MAX). */
static size_t cli_drain_count(int fd, int timeout_ms)
{
	int64_t until = time_mono_ms() + timeout_ms;
	char sink[65536];
	size_t got = 0;

	while (time_mono_ms() < until) {
		ssize_t n = recv(fd, sink, sizeof(sink), 0);

		if (n > 0)
			got += (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return got;
		else
			usleep(1000);
	}
	return SIZE_MAX;
}

static bool cli_has(int fd, struct cbuf *b, const char *s)
{
	cli_read(fd, b);
	return strstr(b->data, s) != NULL;
}

static size_t n_accepted(void)
{
	return T.conns.n;
}

/* --- lines ---------------------------------------------------------------------- */

static void test_lines_in_order(void **state)
{
	int fd;
	struct tconn *tc;

	start(&default_limits);
	fd = cli_connect(T.port);
	cli_puts(fd, "NICK a\r\nUSER b\nPRIVMSG #c :d e\r\n\r\nlast\n");
	WAIT_FOR(tc_at(0) && tc_at(0)->n_lines == 5, 2000);
	tc = tc_at(0);
	assert_non_null(tc);
	assert_int_equal(tc->n_lines, 5);
	assert_string_equal(tc->lines[0], "NICK a");
	assert_string_equal(tc->lines[1], "USER b");
	assert_string_equal(tc->lines[2], "PRIVMSG #c :d e");
	assert_int_equal(tc->lens[3], 0);
	assert_string_equal(tc->lines[4], "last");
	assert_string_equal(conn_peer(tc->c), "127.0.0.1");
	assert_false(conn_is_tls(tc->c));
	assert_int_equal(net_n_conns(T.net), 1);
	close(fd);
}

static void test_line_split_across_writes(void **state)
{
	const char *msg = "PRIVMSG #room :split into many writes\r\n";
	int fd;

	start(&default_limits);
	fd = cli_connect(T.port);
	for (size_t i = 0; msg[i]; i++) {
		cli_send(fd, msg + i, 1);
		pump(2);
		if (msg[i + 1] != '\0' && tc_at(0))
			assert_int_equal(tc_at(0)->n_lines, 0);
	}
	WAIT_FOR(tc_at(0) && tc_at(0)->n_lines == 1, 2000);
	assert_int_equal(tc_at(0)->n_lines, 1);
	assert_string_equal(tc_at(0)->lines[0], "PRIVMSG #room :split into many writes");
	close(fd);
}

static void test_too_long_then_good_line(void **state)
{
	size_t big = NET_MAX_LINE + 3000;
	char *buf = xmalloc(big + NET_MAX_LINE + 16);
	struct tconn *tc;
	int fd;

	start(&default_limits);
	fd = cli_connect(T.port);
	/* Exactly the limit passes; one byte more is too long (with and without LF). */
	memset(buf, 'x', NET_MAX_LINE);
	memcpy(buf + NET_MAX_LINE, "\r\n", 2);
	cli_send(fd, buf, NET_MAX_LINE + 2);
	memset(buf, 'y', NET_MAX_LINE + 1);
	memcpy(buf + NET_MAX_LINE + 1, "\r\n", 2);
	cli_send(fd, buf, NET_MAX_LINE + 3);
	memset(buf, 'z', big);
	for (size_t off = 0; off < big; off += 1000) {
		cli_send(fd, buf, big - off < 1000 ? big - off : 1000);
		pump(1);
	}
	cli_puts(fd, "zzz\r\nGOOD\r\n");
	WAIT_FOR(tc_at(0) && tc_at(0)->n_lines == 2, 3000);
	tc = tc_at(0);
	assert_non_null(tc);
	assert_int_equal(tc->n_lines, 2);
	assert_int_equal(tc->lens[0], NET_MAX_LINE);
	assert_string_equal(tc->lines[1], "GOOD");
	assert_int_equal(tc->too_long, 2);
	assert_non_null(tc->c);
	free(buf);
	close(fd);
}

static void test_nul_inside_line(void **state)
{
	int fd;
	struct tconn *tc;

	start(&default_limits);
	fd = cli_connect(T.port);
	cli_send(fd, "a\0b\r\nc\n", 7);
	WAIT_FOR(tc_at(0) && tc_at(0)->n_lines == 2, 2000);
	tc = tc_at(0);
	assert_int_equal(tc->n_lines, 2);
	assert_int_equal(tc->lens[0], 3);
	assert_memory_equal(tc->lines[0], "a\0b", 4);
	assert_string_equal(tc->lines[1], "c");
	close(fd);
}

/* --- output and closing ------------------------------------------------------------ */

static void test_sendq_drops_only_that_client(void **state)
{
	struct net_limits lim = default_limits;
	static struct cbuf b;
	char chunk[4096];
	size_t written = 0, got;
	int slow, fast;

	lim.sendq = 32 * 1024;
	start(&lim);
	T.echo = true;
	slow = cli_connect(T.port);
	fast = cli_connect(T.port);
	WAIT_FOR(n_accepted() == 2, 2000);
	assert_int_equal(n_accepted(), 2);
	memset(chunk, 'q', sizeof(chunk));
	/* Full output buffers are written at once: the kernel's socket buffers
	 * take megabytes before the sendq (what waits in the server) fills. */
	for (int i = 0; i < 8192 && tc_at(0)->c && conn_state(tc_at(0)->c) != CONN_CLOSED; i++) {
		conn_write(tc_at(0)->c, chunk, sizeof(chunk));
		written += sizeof(chunk);
	}
	WAIT_FOR(tc_at(0)->closed, 2000);
	assert_int_equal(tc_at(0)->closed, 1);
	assert_string_equal(tc_at(0)->reason, "SendQ exceeded");
	memset(&b, 0, sizeof(b));
	cli_puts(fast, "still here\r\n");
	WAIT_FOR(cli_has(fast, &b, "still here\r\n"), 2000);
	assert_string_equal(b.data, "still here\r\n");
	assert_int_equal(tc_at(1)->closed, 0);
	assert_int_equal(net_n_conns(T.net), 1);
	/* The dropped client's queue was discarded, not flushed: it gets what
	 * the kernel had taken, then the end, and not the sendq's worth after. */
	got = cli_drain_count(slow, 5000);
	assert_true(got != SIZE_MAX);
	assert_true(got + 16 * 1024 < written);
	close(slow);
	close(fast);
}

static void test_close_flushes_queued_data(void **state)
{
	static struct cbuf b;
	int fd;

	start(&default_limits);
	fd = cli_connect(T.port);
	memset(&b, 0, sizeof(b));
	cli_puts(fd, "BIG 300000\r\n");
	WAIT_FOR(cli_read(fd, &b), 5000);
	assert_true(b.eof);
	assert_int_equal(b.len, 300000);
	for (size_t i = 0; i < b.len; i += 997)
		assert_int_equal(b.data[i], (char)('a' + (i / 1000 + i % 1000) % 26));
	WAIT_FOR(tc_at(0)->closed, 2000);
	pump(20);
	assert_int_equal(tc_at(0)->closed, 1);
	assert_string_equal(tc_at(0)->reason, "Bye");
	assert_int_equal(net_n_conns(T.net), 0);
	close(fd);
}

static void test_peer_eof(void **state)
{
	int fd;

	start(&default_limits);
	fd = cli_connect(T.port);
	cli_puts(fd, "partial line without LF");
	WAIT_FOR(n_accepted() == 1, 2000);
	close(fd);
	WAIT_FOR(tc_at(0)->closed, 2000);
	pump(20);
	assert_int_equal(tc_at(0)->closed, 1);
	assert_string_equal(tc_at(0)->reason, "Connection closed");
	assert_int_equal(tc_at(0)->n_lines, 0);
	assert_int_equal(net_n_conns(T.net), 0);
}

static void test_shutdown_flushes_and_exits(void **state)
{
	static struct cbuf b1, b2;
	int fd1, fd2;
	int64_t t0;

	start(&default_limits);
	fd1 = cli_connect(T.port);
	fd2 = cli_connect(T.port);
	WAIT_FOR(n_accepted() == 2, 2000);
	memset(&b1, 0, sizeof(b1));
	memset(&b2, 0, sizeof(b2));
	net_shutdown(T.net, "ERROR :Server going down\r\n");
	t0 = time_mono_ms();
	event_base_dispatch(T.base); /* returns when the net asks it to */
	assert_true(time_mono_ms() - t0 < 3000);
	assert_int_equal(net_n_conns(T.net), 0);
	assert_int_equal(tc_at(0)->closed + tc_at(1)->closed, 2);
	cli_read(fd1, &b1);
	cli_read(fd2, &b2);
	assert_string_equal(b1.data, "ERROR :Server going down\r\n");
	assert_string_equal(b2.data, "ERROR :Server going down\r\n");
	assert_true(b1.eof && b2.eof);
	/* The listener is gone. */
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)T.port)};
	int fd3 = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_not_equal(connect(fd3, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd1);
	close(fd2);
	close(fd3);
}

/* --- flood control and timeouts --------------------------------------------------------- */

static void test_flood_hold_then_kill(void **state)
{
	struct net_limits lim = default_limits;
	char buf[64];
	int fd, fd2;
	int64_t t0;
	struct tconn *tc;

	lim.flood_rate = 10; /* 100 ms a line */
	lim.flood_burst = 5;
	lim.flood_kill_seconds = 5;
	start(&lim);
	fd = cli_connect(T.port);
	for (int i = 0; i < 20; i++) {
		snprintf(buf, sizeof(buf), "LINE %d\r\n", i);
		cli_puts(fd, buf);
	}
	t0 = time_mono_ms();
	pump(150);
	tc = tc_at(0);
	assert_non_null(tc);
	assert_in_range(tc->n_lines, 5, 7); /* the burst, then held */
	WAIT_FOR(tc->n_lines == 20, 4000);
	assert_int_equal(tc->n_lines, 20);
	assert_true(time_mono_ms() - t0 >= 1000); /* 15 held lines at 10/s */
	for (int i = 0; i < 20; i++) {
		snprintf(buf, sizeof(buf), "LINE %d", i);
		assert_string_equal(tc->lines[i], buf);
	}
	assert_int_equal(tc->closed, 0);

	/* 200 lines = 20 s of penalty, over the 5 s limit. */
	fd2 = cli_connect(T.port);
	for (int i = 0; i < 200; i++)
		cli_puts(fd2, "FLOOD\r\n");
	WAIT_FOR(tc_at(1) && tc_at(1)->closed, 3000);
	assert_non_null(tc_at(1));
	assert_int_equal(tc_at(1)->closed, 1);
	assert_string_equal(tc_at(1)->reason, "Excess Flood");
	assert_true(tc_at(1)->n_lines <= 6);
	assert_int_equal(tc->closed, 0);
	close(fd);
	close(fd2);
}

static void test_flood_held_bytes_kill(void **state)
{
	struct net_limits lim = default_limits;
	char *junk = xmalloc(100 * 1024);
	int fd;

	lim.flood_rate = 1;
	lim.flood_burst = 1;
	lim.flood_kill_seconds = 1000000;
	start(&lim);
	fd = cli_connect(T.port);
	cli_puts(fd, "A\r\nB\r\n");
	memset(junk, 'j', 100 * 1024);
	for (size_t i = 0; i < 100 * 1024; i += 100)
		junk[i] = '\n'; /* short lines, held */
	cli_send(fd, junk, 100 * 1024);
	WAIT_FOR(tc_at(0) && tc_at(0)->closed, 3000);
	assert_non_null(tc_at(0));
	free(junk);
	assert_string_equal(tc_at(0)->reason, "Excess Flood");
	assert_in_range(tc_at(0)->n_lines, 1, 3); /* 1 a second, no more */
	close(fd);
}

static void test_idle_and_ping_timeout(void **state)
{
	struct net_limits lim = default_limits;
	struct tconn *tc;
	int fd;
	int64_t t0;

	lim.ping_interval = 1;
	lim.ping_timeout = 1;
	start(&lim);
	fd = cli_connect(T.port);
	WAIT_FOR(n_accepted() == 1, 2000);
	tc = tc_at(0);
	t0 = time_mono_ms();
	WAIT_FOR(tc->idle == 1, 2500);
	assert_int_equal(tc->idle, 1);
	assert_true(time_mono_ms() - t0 >= 900);
	assert_int_equal(tc->closed, 0);
	cli_puts(fd, "PONG :x\r\n"); /* input resets the clock */
	pump(700);
	assert_int_equal(tc->idle, 1);
	assert_int_equal(tc->closed, 0);
	WAIT_FOR(tc->idle == 2, 2500);
	assert_int_equal(tc->idle, 2);
	t0 = time_mono_ms();
	WAIT_FOR(tc->closed, 2500);
	assert_int_equal(tc->closed, 1);
	assert_true(time_mono_ms() - t0 >= 400);
	assert_true(strncmp(tc->reason, "Ping timeout: ", 14) == 0);
	assert_in_range(atoi(tc->reason + 14), 2, 3); /* "Ping timeout: 2 seconds" */
	assert_string_equal(strchr(tc->reason + 14, ' '), " seconds");
	close(fd);
}

static void test_max_clients(void **state)
{
	struct net_limits lim = default_limits;
	static struct cbuf b;
	int fd[3];

	lim.max_clients = 2;
	start(&lim);
	for (int i = 0; i < 2; i++)
		fd[i] = cli_connect(T.port);
	WAIT_FOR(n_accepted() == 2, 2000);
	fd[2] = cli_connect(T.port);
	cli_puts(fd[2], "NICK x\r\n");
	memset(&b, 0, sizeof(b));
	WAIT_FOR(cli_read(fd[2], &b), 2000);
	assert_true(b.eof);
	assert_string_equal(b.data, "ERROR :Server full\r\n");
	assert_int_equal(n_accepted(), 2);
	assert_int_equal(net_n_conns(T.net), 2);
	/* A place frees up: the next one is admitted. */
	close(fd[0]);
	WAIT_FOR(net_n_conns(T.net) == 1, 2000);
	close(fd[2]);
	fd[2] = cli_connect(T.port);
	WAIT_FOR(n_accepted() == 3, 2000);
	assert_int_equal(n_accepted(), 3);
	assert_int_equal(net_n_conns(T.net), 2);
	close(fd[1]);
	close(fd[2]);
}

/* --- TLS ------------------------------------------------------------------------------ */

static void tls_paths(const char *sub, char *cert, char *key, size_t len)
{
	snprintf(cert, len, "%s/%s/cert.pem", T.dir, sub);
	snprintf(key, len, "%s/%s/key.pem", T.dir, sub);
}

static void start_tls(const char *sub)
{
	char cert[256], key[256], err[256] = "";

	str_copy(T.dir, "/tmp/pchat-net-XXXXXX", sizeof(T.dir));
	assert_non_null(mkdtemp(T.dir));
	start(&default_limits);
	tls_paths(sub, cert, key, sizeof(cert));
	assert_int_equal(net_tls_load(T.net, cert, key, err, sizeof(err)), 0);
	T.tls_port = listen_on(true);
	T.echo = true;
}

static void rm_tree(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", T.dir);
	assert_int_equal(system(cmd), 0);
}

/* A TLS client trusting only cafile (and checking the name localhost). */
static SSL *tls_connect(const char *cafile)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;
	int64_t end = time_mono_ms() + 5000;

	assert_int_equal(SSL_CTX_load_verify_locations(ctx, cafile, NULL), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);
	SSL_set_fd(ssl, cli_connect(T.tls_port));
	SSL_set1_host(ssl, "localhost");
	while (time_mono_ms() < end) {
		int r = SSL_connect(ssl);
		int e = SSL_get_error(ssl, r);

		if (r == 1)
			return ssl;
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			break;
		pump_once();
	}
	ERR_clear_error();
	close(SSL_get_fd(ssl));
	SSL_free(ssl);
	return NULL;
}

static void tls_close(SSL *ssl)
{
	close(SSL_get_fd(ssl));
	SSL_free(ssl);
}

/* Send line and read until the echo comes back; true when it did. */
static bool tls_round_trip(SSL *ssl, const char *line)
{
	char buf[512];
	size_t len = 0, want = strlen(line);
	int64_t end = time_mono_ms() + 3000;

	assert_int_equal(SSL_write(ssl, line, (int)want), (int)want);
	while (len < want && time_mono_ms() < end) {
		int n = SSL_read(ssl, buf + len, (int)(sizeof(buf) - len - 1));

		if (n > 0)
			len += (size_t)n;
		else if (SSL_get_error(ssl, n) != SSL_ERROR_WANT_READ)
			break;
		pump_once();
	}
	buf[len] = '\0';
	return strcmp(buf, line) == 0;
}

static void test_tls_generated_cert_round_trip(void **state)
{
	char cert[256], key[256];
	struct stat st;
	SSL *ssl;

	start_tls("tls");
	tls_paths("tls", cert, key, sizeof(cert));
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(cert, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	snprintf(cert, sizeof(cert), "%s/tls", T.dir);
	assert_int_equal(stat(cert, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	tls_paths("tls", cert, key, sizeof(cert));
	ssl = tls_connect(cert);
	assert_non_null(ssl);
	assert_true(SSL_version(ssl) >= TLS1_2_VERSION);
	assert_true(tls_round_trip(ssl, "PRIVMSG #x :over TLS\r\n"));
	assert_int_equal(n_accepted(), 1);
	assert_true(tc_at(0)->tls);
	assert_string_equal(tc_at(0)->lines[0], "PRIVMSG #x :over TLS");
	tls_close(ssl);
	WAIT_FOR(tc_at(0)->closed, 2000);
	assert_int_equal(tc_at(0)->closed, 1);
	rm_tree();
}

static void test_tls_garbage_does_not_disturb(void **state)
{
	static struct cbuf b, g;
	unsigned char rnd[300];
	int plain, bad;

	start_tls("tls");
	plain = cli_connect(T.port);
	WAIT_FOR(n_accepted() == 1, 2000);
	for (int round = 0; round < 2; round++) {
		bad = cli_connect(T.tls_port);
		if (round == 0) {
			cli_puts(bad, "NICK garbage\r\nUSER a b c d\r\n");
		} else {
			for (size_t i = 0; i < sizeof(rnd); i++)
				rnd[i] = (unsigned char)(i * 7919u + 13u);
			cli_send(bad, rnd, sizeof(rnd));
		}
		memset(&g, 0, sizeof(g));
		WAIT_FOR(cli_read(bad, &g), 3000);
		assert_true(g.eof);
		close(bad);
	}
	memset(&b, 0, sizeof(b));
	cli_puts(plain, "PING :alive\r\n");
	WAIT_FOR(cli_has(plain, &b, "PING :alive\r\n"), 2000);
	assert_string_equal(b.data, "PING :alive\r\n");
	assert_int_equal(n_accepted(), 1); /* the garbage never reached accept_cb */
	assert_int_equal(tc_at(0)->closed, 0);
	WAIT_FOR(net_n_conns(T.net) == 1, 2000);
	assert_int_equal(net_n_conns(T.net), 1);
	close(plain);
	rm_tree();
}

static void test_tls_reload(void **state)
{
	char cert_a[256], key_a[256], cert_b[256], key_b[256], err[256] = "";
	SSL *old, *ssl;

	start_tls("a");
	tls_paths("a", cert_a, key_a, sizeof(cert_a));
	tls_paths("b", cert_b, key_b, sizeof(cert_b));
	old = tls_connect(cert_a);
	assert_non_null(old);
	assert_true(tls_round_trip(old, "before\r\n"));

	assert_int_equal(net_tls_load(T.net, cert_b, key_b, err, sizeof(err)), 0);
	ssl = tls_connect(cert_a);
	assert_null(ssl); /* new connections get the new certificate */
	ssl = tls_connect(cert_b);
	assert_non_null(ssl);
	assert_true(tls_round_trip(ssl, "new\r\n"));
	tls_close(ssl);
	assert_true(tls_round_trip(old, "after\r\n")); /* the old one keeps its own */

	/* A mismatched pair is refused and the current one stays. */
	assert_int_equal(net_tls_load(T.net, cert_a, key_b, err, sizeof(err)), -1);
	assert_true(strlen(err) > 0);
	/* One file missing is an error, not a new pair. */
	snprintf(cert_a, sizeof(cert_a), "%s/a/missing.pem", T.dir);
	assert_int_equal(net_tls_load(T.net, cert_a, key_b, err, sizeof(err)), -1);
	ssl = tls_connect(cert_b);
	assert_non_null(ssl);
	tls_close(ssl);
	tls_close(old);
	rm_tree();
}

static void test_tls_server_full_and_handshake_timeout(void **state)
{
	struct net_limits lim = default_limits;
	char cert[256], key[256], buf[128];
	static struct cbuf g;
	SSL *first, *second;
	size_t len = 0;
	int64_t t0, end;
	int idle;

	start_tls("tls");
	tls_paths("tls", cert, key, sizeof(cert));
	lim.max_clients = 1;
	net_set_limits(T.net, &lim);
	first = tls_connect(cert);
	assert_non_null(first);
	/* Over the limit, a TLS client is told so over TLS, then closed. */
	second = tls_connect(cert);
	assert_non_null(second);
	end = time_mono_ms() + 3000;
	while (time_mono_ms() < end) {
		int n = SSL_read(second, buf + len, (int)(sizeof(buf) - len - 1));

		if (n > 0)
			len += (size_t)n;
		else if (SSL_get_error(second, n) != SSL_ERROR_WANT_READ)
			break;
		pump_once();
	}
	buf[len] = '\0';
	assert_string_equal(buf, "ERROR :Server full\r\n");
	assert_int_equal(n_accepted(), 1);
	tls_close(second);
	tls_close(first);
	WAIT_FOR(net_n_conns(T.net) == 0, 2000);

	/* A client that never finishes its handshake is dropped after ~10 s. */
	net_set_limits(T.net, &default_limits);
	idle = cli_connect(T.tls_port);
	t0 = time_mono_ms();
	memset(&g, 0, sizeof(g));
	WAIT_FOR(cli_read(idle, &g), 13000);
	assert_true(g.eof);
	assert_true(time_mono_ms() - t0 >= 9000);
	WAIT_FOR(net_n_conns(T.net) == 0, 2000);
	assert_int_equal(net_n_conns(T.net), 0);
	assert_int_equal(n_accepted(), 1);
	close(idle);
	rm_tree();
}

/* --- many connections ------------------------------------------------------------------- */

/*
 * A fan-out: lines to 300 connections in one turn, more than a 16 KiB output
 * buffer each. The flush shares its writes with the helper thread (128
 * connections or more) and buffers fill mid-turn: every client still gets
 * exactly its lines, in order.
 */
static void test_fanout_flush_in_order(void **state)
{
	enum { N = 300, LINES = 120 };
	static int fds[N];
	static char got[LINES * 200 + 1];
	char line[200];

	start(&default_limits);
	net_set_limits(T.net, &(struct net_limits){.max_clients = 1000, .sendq = 1 << 20});
	for (int i = 0; i < N; i++)
		fds[i] = cli_connect(T.port);
	WAIT_FOR(n_accepted() == N, 5000);
	assert_int_equal(n_accepted(), N);
	for (int j = 0; j < LINES; j++) {
		for (int i = 0; i < N; i++) {
			int len = snprintf(line, sizeof(line), "c%d l%d %0150d\r\n", i, j, 0);

			conn_write(tc_at((size_t)i)->c, line, (size_t)len);
		}
	}
	pump(200);
	for (int i = 0; i < N; i++) {
		size_t len = 0, want = 0;
		int64_t end = time_mono_ms() + 3000;
		char *p;

		for (int j = 0; j < LINES; j++)
			want += (size_t)snprintf(line, sizeof(line), "c%d l%d %0150d\r\n", i, j, 0);
		while (len < want && time_mono_ms() < end) {
			ssize_t n = recv(fds[i], got + len, sizeof(got) - 1 - len, 0);

			if (n > 0)
				len += (size_t)n;
			else
				pump_once();
		}
		assert_int_equal(len, want);
		got[len] = '\0';
		p = got;
		for (int j = 0; j < LINES; j++) {
			int n = snprintf(line, sizeof(line), "c%d l%d %0150d\r\n", i, j, 0);

			assert_memory_equal(p, line, (size_t)n);
			p += n;
		}
		close(fds[i]);
	}
}

/*
 * The wait of a flush under fan-out load: ~2 KiB a write at the rate seen,
 * at most the cap; none below 32 connections, without a cap, or when the
 * rate is so low that a write would carry a line or two.
 */
static void test_coalesce_wait(void **state)
{
	(void)state;
	/* 5,000 msgs/s into rooms of 100: a 220-byte line every 2 ms on each of 100 */
	assert_int_equal(net_coalesce_wait_us(100 * 2000, 100 * 220, 100, 15000), 15000);
	/* a higher rate: 2 KiB every 4 ms on each, so the wait is 4 ms */
	assert_int_equal(net_coalesce_wait_us(100 * 4000, 100 * 2048, 100, 15000), 4000);
	/* a line every 10 ms: 2 KiB would take 93 ms, more than twice the cap */
	assert_int_equal(net_coalesce_wait_us(100 * 10000, 100 * 220, 100, 15000), 0);
	/* a line every 4 ms: 2 KiB in 37 ms, over twice a 15 ms cap, within twice 20 ms */
	assert_int_equal(net_coalesce_wait_us(100 * 4000, 100 * 220, 100, 15000), 0);
	assert_int_equal(net_coalesce_wait_us(100 * 4000, 100 * 220, 100, 20000), 20000);
	assert_int_equal(net_coalesce_wait_us(31 * 2000, 31 * 220, 31, 15000), 0);
	assert_int_equal(net_coalesce_wait_us(100 * 2000, 100 * 220, 100, 0), 0);
	assert_int_equal(net_coalesce_wait_us(0, 0, 100, 15000), 0);
}

/* Data segments the client's socket has received. */
static unsigned segs_in(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	return ti.tcpi_data_segs_in;
}

/*
 * Sustained fan-out: a 210-byte line to each of 40 connections every 2 ms. With
 * coalesce_us the flushes wait, so each write carries several lines (the
 * clients receive far fewer segments than lines); every line still
 * arrives, in order. Without it each line would be a write of its own.
 */
static void test_fanout_coalesced(void **state)
{
	enum { N = 40, LINES = 150 };
	static int fds[N];
	static unsigned before[N];
	static char got[LINES * 240 + 1];
	struct net_limits lim = default_limits;
	char line[240];
	unsigned segs = 0;

	(void)state;
	lim.coalesce_us = 15000;
	start(&lim);
	for (int i = 0; i < N; i++)
		fds[i] = cli_connect(T.port);
	WAIT_FOR(n_accepted() == N, 5000);
	assert_int_equal(n_accepted(), N);
	for (int i = 0; i < N; i++)
		before[i] = segs_in(fds[i]);
	for (int j = 0; j < LINES; j++) {
		int64_t next = time_mono_ms() + 2;

		for (int i = 0; i < N; i++) {
			int len = snprintf(line, sizeof(line), "c%d l%d %0200d\r\n", i, j, 0);

			conn_write(tc_at((size_t)i)->c, line, (size_t)len);
		}
		while (time_mono_ms() < next)
			pump_once();
	}
	pump(100);
	for (int i = 0; i < N; i++) {
		size_t len = 0, want = 0;
		int64_t end = time_mono_ms() + 3000;
		char *p = got;

		for (int j = 0; j < LINES; j++)
			want += (size_t)snprintf(line, sizeof(line), "c%d l%d %0200d\r\n", i, j, 0);
		while (len < want && time_mono_ms() < end) {
			ssize_t n = recv(fds[i], got + len, sizeof(got) - 1 - len, MSG_DONTWAIT);

			if (n > 0)
				len += (size_t)n;
			else
				pump_once();
		}
		assert_int_equal(len, want);
		for (int j = 0; j < LINES; j++) {
			int n = snprintf(line, sizeof(line), "c%d l%d %0200d\r\n", i, j, 0);

			assert_memory_equal(p, line, (size_t)n);
			p += n;
		}
		segs += segs_in(fds[i]) - before[i];
	}
	/* ~7 lines a write at the cap; one a write would be N * LINES */
	assert_true(segs <= N * LINES / 3);
	for (int i = 0; i < N; i++)
		close(fds[i]);
}

static void test_thousand_open_and_drop(void **state)
{
	static int fds[1000];
	static struct cbuf b;
	struct linger lg = {1, 0};
	size_t closed = 0;
	int fd;

	start(&default_limits);
	net_set_limits(T.net, &(struct net_limits){.max_clients = 2000, .sendq = 1 << 20});
	for (int i = 0; i < 1000; i++) {
		fds[i] = cli_connect(T.port);
		if (i % 2)
			setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)); /* RST */
		cli_puts(fds[i], "HELLO\r\n");
	}
	for (int i = 0; i < 1000; i++)
		close(fds[i]);
	WAIT_FOR(n_accepted() == 1000 && net_n_conns(T.net) == 0, 10000);
	assert_int_equal(n_accepted(), 1000);
	assert_int_equal(net_n_conns(T.net), 0);
	for (size_t i = 0; i < n_accepted(); i++) {
		assert_int_equal(tc_at(i)->closed, 1);
		closed++;
	}
	assert_int_equal(closed, 1000);
	T.echo = true;
	fd = cli_connect(T.port);
	memset(&b, 0, sizeof(b));
	cli_puts(fd, "still serving\r\n");
	WAIT_FOR(cli_has(fd, &b, "still serving\r\n"), 2000);
	assert_string_equal(b.data, "still serving\r\n");
	close(fd);
}

static void test_emfile_keeps_listening(void **state)
{
	struct rlimit rl, low;
	int fds[6], probe;
	const char *preload = getenv("LD_PRELOAD");

	if (preload && strstr(preload, "vgpreload")) {
		/* valgrind keeps descriptors of its own above the limit and emulates setrlimit */
		print_message("skipped under valgrind: RLIMIT_NOFILE is emulated there\n");
		skip();
	}
	start(&default_limits);
	for (int i = 0; i < 6; i++)
		fds[i] = cli_connect(T.port); /* complete in the kernel's backlog */
	probe = dup(0);
	close(probe);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	low = rl;
	low.rlim_cur = (rlim_t)probe + 2; /* room for two accepted sockets */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	pump(300);
	assert_int_equal(n_accepted(), 2);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	WAIT_FOR(n_accepted() == 6, 3000); /* the listener came back by itself */
	assert_int_equal(n_accepted(), 6);
	for (int i = 0; i < 6; i++)
		close(fds[i]);
}

static size_t mem_lines;

static void mem_line(struct conn *c, void *ud, char *line, size_t len)
{
	mem_lines++;
}

static const struct conn_handler mem_handler = {.line = mem_line};

static void mem_accept(struct conn *c, void *arg)
{
	conn_set_handler(c, &mem_handler, NULL);
}

static long rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld %ld", &pages, &rss), 2);
	fclose(f);
	return rss * sysconf(_SC_PAGESIZE);
}

/* The child: open n connections, say one line on each, wait, exit. */
static void mem_clients(int port, int n, int done_fd, int wait_fd)
{
	char c = 'x';
	char line[32];

	for (int i = 0; i < n; i++) {
		int fd = cli_connect(port);

		snprintf(line, sizeof(line), "NICK u%d\r\n", i);
		if (send(fd, line, strlen(line), 0) < 0)
			_exit(2);
	}
	if (write(done_fd, &c, 1) != 1 || read(wait_fd, &c, 1) < 0)
		_exit(3);
	_exit(0);
}

static void test_memory_per_idle_connection(void **state)
{
	enum { N = 10000 };
	struct rlimit rl;
	int done[2], hold[2], status = 0;
	long before, after;
	size_t heap_before, heap_after;
	double per;
	pid_t pid;
	char c;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < N + 100)
		skip();
	start(&default_limits);
	net_set_limits(T.net, &(struct net_limits){.max_clients = N + 10, .sendq = 1 << 20});
	net_set_accept(T.net, mem_accept, NULL);
	mem_lines = 0;
	pump(50);
	before = rss_bytes();
	heap_before = mallinfo2().uordblks;
	assert_int_equal(pipe(done), 0);
	assert_int_equal(pipe(hold), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(done[0]);
		close(hold[1]);
		mem_clients(T.port, N, done[1], hold[0]);
	}
	close(done[1]);
	close(hold[0]);
	fcntl(done[0], F_SETFL, O_NONBLOCK);
	WAIT_FOR(mem_lines == N && net_n_conns(T.net) == N, 60000);
	assert_int_equal(net_n_conns(T.net), N);
	assert_int_equal(mem_lines, N);
	pump(600); /* a tick or so: idle state */
	after = rss_bytes();
	heap_after = mallinfo2().uordblks;
	per = (double)(after - before) / N;
	fprintf(stderr,
	        "memory: %d idle plaintext connections: RSS +%ld KiB (%.0f bytes each), "
	        "heap in use +%zu KiB (%zu bytes each)\n",
	        N, (after - before) / 1024, per, (heap_after - heap_before) / 1024,
	        (heap_after - heap_before) / N);
	assert_true(read(done[0], &c, 1) == 1);
	close(hold[1]);
	waitpid(pid, &status, 0);
	assert_int_equal(WEXITSTATUS(status), 0);
	WAIT_FOR(net_n_conns(T.net) == 0, 20000);
	assert_int_equal(net_n_conns(T.net), 0);
	close(done[0]);
#if defined(__SANITIZE_ADDRESS__)
	assert_true(per <= 16384); /* ASan redzones and quarantine inflate it */
#else
	assert_true(per <= 4096);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    /* First, so that no earlier test's freed heap hides the cost. */
	    cmocka_unit_test_teardown(test_memory_per_idle_connection, teardown),
	    cmocka_unit_test_teardown(test_lines_in_order, teardown),
	    cmocka_unit_test(test_coalesce_wait),
	    cmocka_unit_test_teardown(test_fanout_coalesced, teardown),
	    cmocka_unit_test_teardown(test_line_split_across_writes, teardown),
	    cmocka_unit_test_teardown(test_too_long_then_good_line, teardown),
	    cmocka_unit_test_teardown(test_nul_inside_line, teardown),
	    cmocka_unit_test_teardown(test_sendq_drops_only_that_client, teardown),
	    cmocka_unit_test_teardown(test_close_flushes_queued_data, teardown),
	    cmocka_unit_test_teardown(test_peer_eof, teardown),
	    cmocka_unit_test_teardown(test_shutdown_flushes_and_exits, teardown),
	    cmocka_unit_test_teardown(test_flood_hold_then_kill, teardown),
	    cmocka_unit_test_teardown(test_flood_held_bytes_kill, teardown),
	    cmocka_unit_test_teardown(test_idle_and_ping_timeout, teardown),
	    cmocka_unit_test_teardown(test_max_clients, teardown),
	    cmocka_unit_test_teardown(test_tls_generated_cert_round_trip, teardown),
	    cmocka_unit_test_teardown(test_tls_garbage_does_not_disturb, teardown),
	    cmocka_unit_test_teardown(test_tls_reload, teardown),
	    cmocka_unit_test_teardown(test_tls_server_full_and_handshake_timeout, teardown),
	    cmocka_unit_test_teardown(test_fanout_flush_in_order, teardown),
	    cmocka_unit_test_teardown(test_thousand_open_and_drop, teardown),
	    cmocka_unit_test_teardown(test_emfile_keeps_listening, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	log_set_level(getenv("NET_TEST_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
