/*
 * lg_client.c — the IRC side of one load-generator connection (see
 * lg_client.h).
 *
 * Registration follows IRCv3 capability negotiation (CAP LS 302, REQ,
 * ACK/NAK, END) and SASL 3.1 with PLAIN (RFC 4616) or SCRAM-SHA-256
 * (RFC 7677, keys from the cache of lg_keys.c; in the warm-up pass a client
 * only learns its salt and hangs up); then RFC 2812 NICK/USER, 001, JOIN and
 * 366 (end of NAMES). After that every line is counted cheaply: PRIVMSG
 * bodies are parsed for their send time, PING is answered, the rest is
 * ignored. It deliberately does not reconnect: a client that fails during
 * setup is counted and left out.
 */
#include "lg_client.h"

#include <errno.h>
#include <stdarg.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <sodium.h>

#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "lg.h"
#include "lg_irc.h"
#include "lg_scram.h"

#define LINE_MAX_BYTES (8191 + 512) /* IRCv3 tags + RFC 1459 body */
#define MAX_FAIL_LOGS  10
#define READ_BYTES     (64 * 1024) /* one read(2) per readiness, at most this */

static const struct {
	const char *name;
	unsigned flag;
} cap_names[] = {
    {"echo-message", LG_CAP_ECHO}, {"server-time", LG_CAP_TIME}, {"message-tags", LG_CAP_TAGS},
    {"batch", LG_CAP_BATCH},       {"sasl", LG_CAP_SASL},
};

#define N_CAPS (sizeof(cap_names) / sizeof(cap_names[0]))

static int n_fail_logs;

void lg_caps_str(unsigned caps, char *buf, size_t cap)
{
	size_t len = 0, i;

	buf[0] = '\0';
	for (i = 0; i < N_CAPS; i++) {
		if (caps & cap_names[i].flag)
			str_appendf(buf, cap, &len, "%s%s", len ? " " : "", cap_names[i].name);
	}
}

int lg_client_room(const struct lg *lg, int idx, int j)
{
	return (int)(((int64_t)idx * lg->o.rooms_per_client + j) % lg->o.n_rooms);
}

size_t lg_client_backlog(const struct lg_client *c)
{
	return c->out ? evbuffer_get_length(c->out) : 0;
}

static void client_fail(struct lg_client *c, const char *why)
{
	if (c->state == LG_C_FAILED || c->state == LG_C_CLOSED)
		return;
	if (c->state == LG_C_READY) {
		c->state = LG_C_CLOSED;
		lg_on_client_closed(c->lg, c);
		return;
	}
	if (n_fail_logs++ < MAX_FAIL_LOGS)
		fprintf(stderr, "pchat-loadgen: client %d (%s): %s\n", c->idx, c->nick, why);
	c->state = LG_C_FAILED;
	lg_on_client_failed(c->lg, c);
}

/* A write failed: count c as failed now, close it where the caller is done with it. */
static void client_broken(struct lg_client *c, int err)
{
	char why[96];

	snprintf(why, sizeof(why), "write: %s", strerror(err));
	c->broken = true;
	client_fail(c, why);
}

/*
 * Write data now, straight to the socket, when nothing is queued before it
 * (the common case: one write(2), no copy); what the socket does not take
 * waits in c->out for on_writable. Sending without a detour through the
 * loop keeps the generator's own share of the measured latency small.
 */
static void client_write(struct lg_client *c, const char *data, size_t len)
{
	ssize_t n = 0;

	if (!c->rd || c->broken)
		return;
	if (c->state != LG_C_CONNECTING && lg_client_backlog(c) == 0) {
		n = write(c->fd, data, len);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			client_broken(c, errno);
			return;
		}
		if (n < 0)
			n = 0;
		if ((size_t)n == len)
			return;
	}
	if (!c->out)
		c->out = evbuffer_new();
	if (!c->out || evbuffer_add(c->out, data + n, len - (size_t)n) < 0) {
		client_broken(c, ENOMEM);
		return;
	}
	event_add(c->wr, NULL);
}

static void client_send(struct lg_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void client_send(struct lg_client *c, const char *fmt, ...)
{
	char buf[LINE_MAX_BYTES];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(buf))
		client_write(c, buf, (size_t)n);
}

void lg_client_close(struct lg_client *c)
{
	if (c->rd) {
		event_free(c->rd);
		event_free(c->wr);
		close(c->fd);
	}
	c->rd = c->wr = NULL;
	c->fd = -1;
	if (c->out)
		evbuffer_free(c->out);
	c->out = NULL;
	free(c->carry);
	c->carry = NULL;
	c->carry_len = 0;
	c->broken = false;
	if (c->scram) {
		sodium_memzero(c->scram, sizeof(*c->scram));
		free(c->scram);
	}
	c->scram = NULL;
}

static void client_ready(struct lg_client *c)
{
	c->state = LG_C_READY;
	lg_on_client_ready(c->lg, c);
}

/* ---- registration ---------------------------------------------------- */

static unsigned cap_flag(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < N_CAPS; i++) {
		if (strlen(cap_names[i].name) == len && strncmp(cap_names[i].name, name, len) == 0)
			return cap_names[i].flag;
	}
	return 0;
}

/* Flags named in a space-separated cap list ("a b=v c"); "-x" entries are skipped. */
static unsigned cap_list_flags(const char *list)
{
	unsigned flags = 0;
	const char *p = list, *w;
	size_t n;

	while (*p) {
		while (*p == ' ')
			p++;
		w = p;
		while (*p && *p != ' ')
			p++;
		n = strcspn(w, "= ");
		if (n > (size_t)(p - w))
			n = (size_t)(p - w);
		if (*w != '-')
			flags |= cap_flag(w, n);
	}
	return flags;
}

static void after_caps(struct lg_client *c)
{
	if (c->caps_enabled & LG_CAP_SASL) {
		c->state = LG_C_SASL;
		c->t_sasl = time_mono_ns();
		client_send(c, "AUTHENTICATE %s\r\n",
		            c->lg->o.mech == LG_SASL_SCRAM ? "SCRAM-SHA-256" : "PLAIN");
		return;
	}
	c->state = LG_C_REGISTERING;
	client_send(c, "CAP END\r\n");
}

static void request_caps(struct lg_client *c)
{
	char list[128];
	unsigned want = LG_CAP_ECHO | LG_CAP_TIME | LG_CAP_TAGS | LG_CAP_BATCH;

	if (c->lg->o.sasl_user)
		want |= LG_CAP_SASL;
	c->caps_wanted = c->caps_offered & want;
	if (!c->caps_wanted) {
		after_caps(c);
		return;
	}
	lg_caps_str(c->caps_wanted, list, sizeof(list));
	client_send(c, "CAP REQ :%s\r\n", list);
	c->cap_pending = 1;
}

/* After a NAK of the whole list (REQ is atomic), ask for each cap alone. */
static void request_caps_split(struct lg_client *c)
{
	size_t i;

	c->cap_split = true;
	c->cap_pending = 0;
	for (i = 0; i < N_CAPS; i++) {
		if (!(c->caps_wanted & cap_names[i].flag))
			continue;
		client_send(c, "CAP REQ :%s\r\n", cap_names[i].name);
		c->cap_pending++;
	}
}

static void on_cap(struct lg_client *c, const struct lg_irc_msg *m)
{
	const char *sub = m->n_params > 1 ? m->param[1] : "";
	const char *list = m->n_params > 2 ? m->param[m->n_params - 1] : "";
	bool more = m->n_params > 3 && strcmp(m->param[2], "*") == 0;

	if (c->state != LG_C_CAP)
		return; /* CAP NEW / DEL later: nothing to do */
	if (strcmp(sub, "LS") == 0) {
		c->caps_offered |= cap_list_flags(list);
		if (!more)
			request_caps(c);
		return;
	}
	if (strcmp(sub, "ACK") == 0) {
		c->caps_enabled |= cap_list_flags(list) & c->caps_wanted;
	} else if (strcmp(sub, "NAK") == 0) {
		if (!c->cap_split && __builtin_popcount(c->caps_wanted) > 1) {
			request_caps_split(c);
			return;
		}
	} else {
		return;
	}
	if (--c->cap_pending <= 0)
		after_caps(c);
}

static void send_plain(struct lg_client *c)
{
	char user[64], plain[256], b64[400];
	size_t ulen, plen, len;

	snprintf(user, sizeof(user), c->lg->o.sasl_user, c->idx);
	ulen = strlen(user);
	plen = strlen(c->lg->o.sasl_pass);
	len = 1 + ulen + 1 + plen; /* authzid (empty) NUL authcid NUL passwd */
	if (len > sizeof(plain)) {
		client_fail(c, "SASL credentials too long");
		return;
	}
	plain[0] = '\0';
	memcpy(plain + 1, user, ulen);
	plain[1 + ulen] = '\0';
	memcpy(plain + 2 + ulen, c->lg->o.sasl_pass, plen);
	sodium_bin2base64(b64, sizeof(b64), (unsigned char *)plain, len,
	                  sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(plain, sizeof(plain));
	client_send(c, "AUTHENTICATE %s\r\n", b64);
}

/* Send data (len bytes) base64-encoded in one AUTHENTICATE (< 400 characters). */
static void send_sasl_b64(struct lg_client *c, const char *data, size_t len)
{
	char b64[400];

	sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)data, len,
	                  sodium_base64_VARIANT_ORIGINAL);
	client_send(c, "AUTHENTICATE %s\r\n", b64);
}

/* SCRAM step 1: client-first-message with a fresh 18-byte nonce. */
static void scram_start(struct lg_client *c)
{
	unsigned char rnd[18];
	char user[64], nonce[32], first[LG_SCRAM_MSG_MAX];

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2base64(nonce, sizeof(nonce), rnd, sizeof(rnd), sodium_base64_VARIANT_ORIGINAL);
	snprintf(user, sizeof(user), c->lg->o.sasl_user, c->idx);
	if (!c->scram)
		c->scram = xmalloc(sizeof(*c->scram));
	if (lg_scram_first(c->scram, user, nonce, first, sizeof(first)) < 0) {
		client_fail(c, "SCRAM: unusable user name");
		return;
	}
	c->sasl_step = 0;
	send_sasl_b64(c, first, strlen(first));
}

/*
 * SCRAM step 2: server-first. Warm-up pass: keep the salt, hang up. Timed
 * pass: the proof from the cached keys (derived here on a cache miss).
 */
static void scram_server_first(struct lg_client *c, const char *msg, size_t len)
{
	struct lg *lg = c->lg;
	struct lg_scram_key *key = &lg->scram.keys[c->idx];
	char final[LG_SCRAM_MSG_MAX];

	if (lg_scram_parse_server_first(c->scram, msg, len, key) < 0) {
		client_fail(c, "SCRAM: malformed server-first-message");
		return;
	}
	if (lg->scram.priming) {
		c->state = LG_C_PRIMED;
		lg_on_client_primed(lg, c);
		return;
	}
	if (!key->derived) {
		lg->scram.n_inline++;
		if (lg_scram_derive(key, lg->o.sasl_pass) < 0) {
			client_fail(c, "SCRAM: key derivation failed");
			return;
		}
	}
	if (lg_scram_final(c->scram, key, msg, len, final, sizeof(final)) < 0) {
		client_fail(c, "SCRAM: cannot build client-final-message");
		return;
	}
	send_sasl_b64(c, final, strlen(final));
}

/* SCRAM step 3: server-final must carry the signature we expect. */
static void scram_server_final(struct lg_client *c, const char *msg, size_t len)
{
	if (lg_scram_check_server_final(c->scram, msg, len) < 0) {
		c->lg->scram.n_bad_sig++;
		client_fail(c, "SCRAM: wrong server signature");
		return;
	}
	client_send(c, "AUTHENTICATE +\r\n");
}

static void on_scram_payload(struct lg_client *c, const char *b64)
{
	char msg[LG_SCRAM_MSG_MAX];
	size_t len = 0;

	if (!c->scram || strlen(b64) >= 400 ||
	    sodium_base642bin((unsigned char *)msg, sizeof(msg) - 1, b64, strlen(b64), NULL, &len,
	                      NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		client_fail(c, "SCRAM: bad AUTHENTICATE payload");
		return;
	}
	msg[len] = '\0';
	if (c->sasl_step++ == 0)
		scram_server_first(c, msg, len);
	else
		scram_server_final(c, msg, len);
}

static void on_authenticate(struct lg_client *c, const struct lg_irc_msg *m)
{
	bool plus;

	if (c->state != LG_C_SASL || m->n_params < 1)
		return;
	plus = strcmp(m->param[0], "+") == 0;
	if (c->lg->o.mech == LG_SASL_PLAIN) {
		if (plus)
			send_plain(c);
		return;
	}
	if (plus && !c->scram)
		scram_start(c);
	else if (!plus)
		on_scram_payload(c, m->param[0]);
}

static void set_nick(struct lg_client *c, const char *nick)
{
	c->nick_len = str_copy(c->nick, nick, sizeof(c->nick));
	if (c->nick_len >= sizeof(c->nick))
		c->nick_len = sizeof(c->nick) - 1;
}

static void on_welcome(struct lg_client *c, const struct lg_irc_msg *m)
{
	char rooms[4096];
	size_t len = 0;
	int j;

	if (m->n_params > 0)
		set_nick(c, m->param[0]);
	if (c->lg->o.oper_name)
		client_send(c, "OPER %s %s\r\n", c->lg->o.oper_name, c->lg->o.oper_pass);
	if (c->lg->o.umode)
		client_send(c, "MODE %s %s\r\n", c->nick, c->lg->o.umode);
	if (c->lg->o.n_rooms == 0 || c->lg->o.rooms_per_client == 0) {
		client_ready(c);
		return;
	}
	rooms[0] = '\0';
	for (j = 0; j < c->lg->o.rooms_per_client; j++)
		str_appendf(rooms, sizeof(rooms), &len, "%s#bench%d", j ? "," : "",
		            lg_client_room(c->lg, c->idx, j));
	c->state = LG_C_JOINING;
	client_send(c, "JOIN %s\r\n", rooms);
}

static void on_nick_in_use(struct lg_client *c)
{
	if (c->state == LG_C_READY || c->state == LG_C_JOINING)
		return;
	if (c->nick_len + 1 < sizeof(c->nick)) {
		c->nick[c->nick_len++] = '_';
		c->nick[c->nick_len] = '\0';
	}
	client_send(c, "NICK %s\r\n", c->nick);
}

/* ---- traffic ----------------------------------------------------------- */

static void count_ack(struct lg_client *c, int64_t t_sent, int64_t now)
{
	struct lg *lg = c->lg;

	if (c->inflight > 0)
		c->inflight--;
	lg->acked_all++;
	if (!lg_measuring(lg))
		return;
	lg->c.acked++;
	lg_hist_add(&lg->c.ack, now > t_sent ? (uint64_t)(now - t_sent) : 0);
}

/*
 * With two servers (--port2): count a measured delivery as local (sender on
 * c's server) or cross-server, knowing the sender's index from its nick.
 */
static void count_side(struct lg_client *c, const struct lg_irc_msg *m, uint64_t lat)
{
	struct lg *lg = c->lg;
	int from;

	from = lg_irc_nick_index(m->source, m->source_nick_len, lg->peer_prefix, lg->peer_suffix);
	if (from < 0 || from >= lg->o.n_clients) {
		lg->c.unclassified++;
		return;
	}
	if (lg_server_of(from, lg->o.n_rooms, lg->o.rooms_per_client) !=
	    lg_server_of(c->idx, lg->o.n_rooms, lg->o.rooms_per_client))
		lg_hist_add(&lg->c.cross, lat);
	else
		lg_hist_add(&lg->c.local, lat);
}

/*
 * When the lines being handled were read (monotonic ns). Taken once per
 * read, not per line: the lines of one read came in together, and a clock
 * call per line was a tenth of the generator's CPU under fan-out.
 */
static int64_t read_now;

static void on_privmsg(struct lg_client *c, const struct lg_irc_msg *m)
{
	struct lg *lg = c->lg;
	int64_t t_sent, now;
	uint64_t seq, lat;

	if (m->n_params < 2 || lg_irc_parse_body(m->param[1], &t_sent, &seq) < 0) {
		if (lg_measuring(lg))
			lg->c.other++;
		return;
	}
	now = read_now;
	if (lg_irc_from(m, c->nick, c->nick_len)) {
		if (c->caps_enabled & LG_CAP_ECHO)
			count_ack(c, t_sent, now);
		return;
	}
	lg->delivered_all++;
	if (!lg_measuring(lg))
		return;
	lg->c.delivered++;
	lat = now > t_sent ? (uint64_t)(now - t_sent) : 0;
	lg_hist_add(&lg->c.delivery, lat);
	if (lg->o.port2)
		count_side(c, m, lat);
}

static void on_pong(struct lg_client *c, const struct lg_irc_msg *m)
{
	int64_t t_sent;
	uint64_t seq;

	if (m->n_params < 1 || (c->caps_enabled & LG_CAP_ECHO))
		return;
	if (lg_irc_parse_body(m->param[m->n_params - 1], &t_sent, &seq) == 0)
		count_ack(c, t_sent, read_now);
}

static bool is_join_error(int num)
{
	switch (num) {
	case 403: /* ERR_NOSUCHCHANNEL */
	case 405: /* ERR_TOOMANYCHANNELS */
	case 471: /* ERR_CHANNELISFULL */
	case 473: /* ERR_INVITEONLYCHAN */
	case 474: /* ERR_BANNEDFROMCHAN */
	case 475: /* ERR_BADCHANNELKEY */
	case 477: /* ERR_NEEDREGGEDNICK */
	case 479: /* ERR_BADCHANNAME (some servers) */
	case 489: /* ERR_SECUREONLYCHAN */
		return true;
	default:
		return false;
	}
}

static void on_error_reply(struct lg_client *c, const struct lg_irc_msg *m)
{
	struct lg *lg = c->lg;

	if (c->state == LG_C_READY && (c->caps_enabled & LG_CAP_ECHO) && c->inflight > 0)
		c->inflight--; /* a refused message will never be echoed */
	if (lg_measuring(lg))
		lg->c.errors++;
	if (lg->o.verbose && lg->c.errors < 10)
		fprintf(stderr, "pchat-loadgen: client %d: %s %s\n", c->idx, m->command,
		        m->n_params ? m->param[m->n_params - 1] : "");
}

static void on_numeric(struct lg_client *c, const struct lg_irc_msg *m, int num)
{
	char why[160];

	if (num == 1) {
		on_welcome(c, m);
	} else if (num == 366 && c->state == LG_C_JOINING) {
		if (++c->n_joined >= c->lg->o.rooms_per_client)
			client_ready(c);
	} else if (num == 903 && c->state == LG_C_SASL) {
		lg_hist_add(&c->lg->sasl, (uint64_t)(time_mono_ns() - c->t_sasl));
		c->state = LG_C_REGISTERING;
		client_send(c, "CAP END\r\n");
	} else if ((num == 433 || num == 436) && c->state < LG_C_JOINING) {
		on_nick_in_use(c);
	} else if (c->state < LG_C_READY &&
	           (is_join_error(num) || (num >= 902 && num <= 906) || num == 432 || num == 465)) {
		snprintf(why, sizeof(why), "%s %s", m->command,
		         m->n_params ? m->param[m->n_params - 1] : "");
		client_fail(c, why);
	} else if (num >= 400 && num < 600 && c->state == LG_C_READY) {
		on_error_reply(c, m);
	} else if (lg_measuring(c->lg)) {
		c->lg->c.other++;
	}
}

static void handle_line(struct lg_client *c, char *line, size_t len)
{
	struct lg_irc_msg m;
	const char *cmd;

	if (lg_irc_parse(line, len, &m) < 0)
		return;
	cmd = m.command;
	if (cmd[0] >= '0' && cmd[0] <= '9' && cmd[1] && cmd[2] && !cmd[3])
		on_numeric(c, &m, (cmd[0] - '0') * 100 + (cmd[1] - '0') * 10 + (cmd[2] - '0'));
	else if (strcmp(cmd, "PRIVMSG") == 0)
		on_privmsg(c, &m);
	else if (strcmp(cmd, "PING") == 0)
		client_send(c, "PONG :%s\r\n", m.n_params ? m.param[m.n_params - 1] : "");
	else if (strcmp(cmd, "PONG") == 0)
		on_pong(c, &m);
	else if (strcmp(cmd, "CAP") == 0)
		on_cap(c, &m);
	else if (strcmp(cmd, "AUTHENTICATE") == 0)
		on_authenticate(c, &m);
	else if (strcmp(cmd, "ERROR") == 0)
		client_fail(c, m.n_params ? m.param[m.n_params - 1] : "ERROR");
	else if (strcmp(cmd, "FAIL") == 0 && c->state == LG_C_READY)
		on_error_reply(c, &m);
	else if (lg_measuring(c->lg))
		c->lg->c.other++;
}

/*
 * One read buffer for every client (the loop runs one callback at a time):
 * a client's unfinished last line is copied in front of what is read next.
 */
static char read_buf[LINE_MAX_BYTES + READ_BYTES + 1];

/* Whether c is finished with: closed under us, failed or done priming. */
static bool client_done(const struct lg_client *c)
{
	return !c->rd || c->broken || c->state == LG_C_FAILED || c->state == LG_C_PRIMED;
}

/* Keep the unfinished tail [p, end) of what was read for the next read. */
static void keep_tail(struct lg_client *c, const char *p, const char *end)
{
	size_t len = (size_t)(end - p);

	if (len > LINE_MAX_BYTES)
		len = 0; /* an overlong line: garbage, dropped */
	if (len && !c->carry)
		c->carry = xmalloc(LINE_MAX_BYTES);
	if (len)
		memmove(c->carry, p, len);
	c->carry_len = len;
}

/*
 * One read(2) of whatever the socket holds (up to READ_BYTES; level-
 * triggered, so the loop comes back for more), each complete line handled in
 * place in read_buf. No FIONREAD, no per-line copy: the generator's cost per
 * delivered line is what limits how fast a server can be shown to be.
 */
static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct lg_client *c = arg;
	char *p = read_buf, *end, *nl;
	size_t len;
	ssize_t n;

	(void)what;
	if (c->carry_len)
		memcpy(read_buf, c->carry, c->carry_len);
	n = read(fd, read_buf + c->carry_len, READ_BYTES);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		client_fail(c, n == 0 ? "connection closed" : strerror(errno));
		lg_client_close(c);
		return;
	}
	read_now = time_mono_ns();
	end = read_buf + c->carry_len + n;
	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		len = (size_t)(nl - p);
		if (len && p[len - 1] == '\r')
			len--;
		if (len <= LINE_MAX_BYTES)
			handle_line(c, p, len);
		p = nl + 1;
		if (client_done(c)) {
			lg_client_close(c);
			return;
		}
	}
	keep_tail(c, p, end);
	if (c->sender && c->lg->o.rate == 0)
		lg_client_fill_window(c);
	if (c->broken)
		lg_client_close(c);
}

static void on_connected(struct lg_client *c)
{
	c->state = LG_C_CAP;
	client_send(c, "CAP LS 302\r\nNICK %s\r\nUSER %s 0 * :pchat bench\r\n", c->nick, c->nick);
}

/* The connect finished, or the socket takes the output queued in c->out again. */
static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct lg_client *c = arg;
	socklen_t elen = sizeof(int);
	int err = 0;

	(void)what;
	if (c->state == LG_C_CONNECTING) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			err = errno;
		if (err == EINPROGRESS)
			return;
		if (err) {
			client_fail(c, strerror(err));
			lg_client_close(c);
			return;
		}
		on_connected(c);
	}
	if (c->out && evbuffer_get_length(c->out) > 0 && evbuffer_write(c->out, fd) < 0 &&
	    errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		client_broken(c, errno);
	if (c->broken) {
		lg_client_close(c);
		return;
	}
	if (lg_client_backlog(c) == 0)
		event_del(c->wr);
}

/* ---- connecting and sending ------------------------------------------ */

static int open_socket(struct lg *lg)
{
	struct sockaddr_in src;
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto out;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!lg->o.bind_first)
		goto out;
	/* defer the port choice to connect(): ports are then per 4-tuple */
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(lg->bind_next);
	lg->bind_next = lg->bind_next >= lg->o.bind_last ? lg->o.bind_first : lg->bind_next + 1;
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0)
		goto out_close;
	goto out;
out_close:
	close(fd);
	fd = -1;
out:
	return fd;
}

int lg_client_start(struct lg *lg, struct lg_client *c, int idx)
{
	char nick[sizeof(c->nick)], why[96];
	const struct sockaddr_in *to = &lg->addr;
	int fd, rc = -1;

	c->lg = lg;
	c->idx = idx;
	c->t_connect = time_mono_ns();
	c->sender = idx < lg->o.n_senders;
	if (lg->o.sasl_user)
		snprintf(nick, sizeof(nick), lg->o.sasl_user, idx);
	else
		snprintf(nick, sizeof(nick), "%s%d", lg->o.nick_prefix, idx);
	set_nick(c, nick);
	c->state = LG_C_CONNECTING;
	fd = open_socket(lg);
	if (fd < 0)
		goto out_fail;
	c->fd = fd;
	c->rd = event_new(lg->base, fd, EV_READ | EV_PERSIST, on_readable, c);
	c->wr = event_new(lg->base, fd, EV_WRITE | EV_PERSIST, on_writable, c);
	if (!c->rd || !c->wr) {
		if (c->rd)
			event_free(c->rd);
		if (c->wr)
			event_free(c->wr);
		c->rd = c->wr = NULL;
		close(fd);
		errno = ENOMEM;
		goto out_fail;
	}
	if (lg->o.port2 && lg_server_of(idx, lg->o.n_rooms, lg->o.rooms_per_client))
		to = &lg->addr2;
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to)) < 0 && errno != EINPROGRESS)
		goto out_fail;
	event_add(c->rd, NULL);
	event_add(c->wr, NULL); /* connect completion; then only while output waits */
	rc = 0;
	goto out;
out_fail:
	snprintf(why, sizeof(why), "connect: %s", strerror(errno));
	client_fail(c, why);
	lg_client_close(c);
out:
	return rc;
}

int lg_client_send_msg(struct lg_client *c)
{
	struct lg *lg = c->lg;
	char line[LINE_MAX_BYTES + 128], target[24];
	int64_t now;
	size_t len;
	int room, ping;

	if (c->state != LG_C_READY || !c->rd || c->broken)
		return -1;
	room = lg_client_room(lg, c->idx, c->next_room);
	c->next_room = (c->next_room + 1) % lg->o.rooms_per_client;
	snprintf(target, sizeof(target), "#bench%d", room);
	now = time_mono_ns();
	len = lg_irc_format_msg(line, sizeof(line), target, now, c->seq, (size_t)lg->o.size);
	if (len == 0)
		return -1;
	if (!(c->caps_enabled & LG_CAP_ECHO)) {
		ping = snprintf(line + len, sizeof(line) - len, "PING :t=%lld s=%llu\r\n",
		                (long long)now, (unsigned long long)c->seq);
		if (ping < 0 || (size_t)ping >= sizeof(line) - len)
			return -1;
		len += (size_t)ping;
	}
	client_write(c, line, len); /* message and PING in one write */
	if (c->broken) {
		lg_client_close(c);
		return -1;
	}
	c->seq++;
	c->inflight++;
	lg->sent_all++;
	lg->expected += (uint64_t)(lg->room_members[room] - 1);
	if (lg_measuring(lg))
		lg->c.sent++;
	return 0;
}

void lg_client_fill_window(struct lg_client *c)
{
	if (!lg_sending(c->lg))
		return;
	while (c->inflight < c->lg->o.window) {
		if (lg_client_send_msg(c) < 0)
			break;
	}
}
