/*
 * client.c — the IRC side of a connection: creation on accept, the line
 * handler, registration (RFC 2812 §3.1 with IRCv3 CAP and SASL), and the
 * end of a client. Commands are in cmd/, answering in reply.c.
 */
#include "chat/names.h"
#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "core/net.h"
#include "irc/irc_int.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void client_key(uint64_t id, char out[17])
{
	snprintf(out, 17, "%016" PRIx64, id);
}

struct client *client_find(struct irc *irc, uint64_t id)
{
	char key[17];

	client_key(id, key);
	return map_get(&irc->clients, key);
}

struct client *client_from_arg(struct irc *irc, void *arg)
{
	struct client *cl = client_find(irc, (uint64_t)(uintptr_t)arg);

	return cl && !(cl->state & CLIENT_DEAD) ? cl : NULL;
}

void client_source(const struct client *cl, char *out, size_t n)
{
	if (cl->session)
		user_source(cl->session->user, out, n);
	else
		snprintf(out, n, "%s", cl->nick[0] ? cl->nick : "*");
}

/* Append s at *len of out (size n), truncating as snprintf would. */
static void source_part(char *out, size_t n, size_t *len, const char *s)
{
	if (*len + 1 >= n)
		return;
	*len += str_copy(out + *len, s, n - *len);
	if (*len >= n)
		*len = n - 1;
}

/* "nick!ident@host", once per line rendered: without printf's format parsing. */
void user_source(const struct chat_user *u, char *out, size_t n)
{
	size_t len = 0;

	if (n == 0)
		return;
	out[0] = '\0';
	source_part(out, n, &len, u->name);
	source_part(out, n, &len, "!");
	source_part(out, n, &len, u->ident);
	source_part(out, n, &len, "@");
	source_part(out, n, &len, u->host);
}

static void unreg_unlink(struct client *cl)
{
	struct irc *irc = cl->irc;

	if (cl->prev_unreg)
		cl->prev_unreg->next_unreg = cl->next_unreg;
	else if (irc->unreg == cl)
		irc->unreg = cl->next_unreg;
	if (cl->next_unreg)
		cl->next_unreg->prev_unreg = cl->prev_unreg;
	cl->next_unreg = cl->prev_unreg = NULL;
}

/* --- the connection handler ------------------------------------------------- */

static void on_line(struct conn *c, void *ud, char *line, size_t len)
{
	struct client *cl = ud;

	(void)c;
	if (cl->state & CLIENT_DEAD)
		return;
	irc_dispatch(cl, line, len);
}

static void on_too_long(struct conn *c, void *ud)
{
	struct client *cl = ud;

	(void)c;
	if (!(cl->state & CLIENT_DEAD))
		client_num(cl, ERR_INPUTTOOLONG);
}

static void on_idle(struct conn *c, void *ud)
{
	struct client *cl = ud;
	struct irc_out o;

	(void)c;
	if (cl->state & CLIENT_DEAD)
		return;
	irc_out_init(&o);
	irc_out_cmd(&o, "PING");
	irc_out_trailing(&o, cl->irc->cfg.server_name);
	irc_out_end(&o);
	client_send_raw(cl, irc_out_str(&o), irc_out_len(&o));
}

static void on_closing(struct conn *c, void *ud, const char *reason)
{
	struct client *cl = ud;

	(void)c;
	client_exit(cl, reason);
}

static void client_free(struct client *cl)
{
	sasl_reset(cl);
	irc_resp_free(cl->resp);
	free(cl);
}

static void on_closed(struct conn *c, void *ud, const char *reason)
{
	struct client *cl = ud;
	struct irc *irc = cl->irc;
	char key[17];

	(void)c;
	log_debug("irc", "client %" PRIu64 " gone: %s", cl->id, reason);
	cl->state |= CLIENT_DEAD;
	cl->conn = NULL;
	unreg_unlink(cl);
	if (cl->session) {
		chat_logout(irc->chat, cl->session, reason);
		cl->session = NULL;
	}
	client_key(cl->id, key);
	map_del(&irc->clients, key);
	client_free(cl);
}

static const struct conn_handler client_handler = {
    .line = on_line,
    .too_long = on_too_long,
    .idle = on_idle,
    .closing = on_closing,
    .closed = on_closed,
};

void irc_accept(struct conn *c, void *arg)
{
	struct irc *irc = arg;
	struct client *cl = xcalloc(1, sizeof(*cl));
	char key[17];

	cl->irc = irc;
	cl->conn = c;
	cl->id = ++irc->next_client_id;
	cl->state = CLIENT_UNREG;
	cl->connected_ms = time_now_ms();
	client_key(cl->id, key);
	map_put(&irc->clients, key, cl);
	cl->next_unreg = irc->unreg;
	if (irc->unreg)
		irc->unreg->prev_unreg = cl;
	irc->unreg = cl;
	conn_set_handler(c, &client_handler, cl);
}

void client_hold(struct client *cl)
{
	if (cl->n_holds++ == 0 && cl->conn)
		conn_pause(cl->conn);
}

void client_release(struct client *cl)
{
	if (cl->n_holds > 0 && --cl->n_holds == 0 && cl->conn)
		conn_resume(cl->conn);
}

void client_exit(struct client *cl, const char *reason)
{
	struct irc_out o;

	if (cl->state & CLIENT_DEAD)
		return;
	irc_out_init(&o);
	irc_out_cmd(&o, "ERROR");
	irc_out_trailing(&o, reason);
	irc_out_end(&o);
	if (cl->conn) {
		conn_write(cl->conn, irc_out_str(&o), irc_out_len(&o));
		conn_close(cl->conn, reason);
	}
	cl->state |= CLIENT_DEAD;
}

/* --- registration --------------------------------------------------------------- */

static void register_finish(struct client *cl, const char *name, bool account, bool admin)
{
	struct irc *irc = cl->irc;
	struct chat_session *s;
	int rc = chat_login(irc->chat, name, account, admin, cl, &s);

	if (rc == CHAT_EINUSE) {
		client_num(cl, ERR_NICKNAMEINUSE, name);
		return;
	}
	cl->session = s;
	str_copy(cl->nick, s->user->name, sizeof(cl->nick));
	if (cl->conn)
		str_copy(s->addr, conn_peer(cl->conn), sizeof(s->addr));
	if (account)
		s->user->account_id = cl->account_id;
	if (s->user->sessions.n == 1) {
		/* First session: its USER/host details describe the user. */
		if (account)
			str_copy(s->user->ident, s->user->name, sizeof(s->user->ident));
		else
			snprintf(s->user->ident, sizeof(s->user->ident), "~%s",
			         cl->ident[0] ? cl->ident : "guest");
		snprintf(s->user->host, sizeof(s->user->host), "%s",
		         account ? "pchat/user" : "pchat/guest");
		str_copy(s->user->realname, cl->realname, sizeof(s->user->realname));
	}
	cl->state = CLIENT_REG;
	unreg_unlink(cl);
	chat_login_done(irc->chat, s);
	log_info("irc", "client %" PRIu64 " from %s registered as %s%s", cl->id,
	         cl->conn ? conn_peer(cl->conn) : "?", name, account ? "" : " (guest)");
	welcome_send(cl);
	/* A second session of a user already in rooms is shown them. */
	for (size_t i = 0; i < s->user->rooms.n; i++)
		join_burst(cl, s->user->rooms.v[i]);
	if (account) {
		join_followed(cl);
		deliver_invites(cl);
	}
}

/* A guest may not take the name of an account, online or not. */
static void guest_checked(int rc, const struct chat_account *acct, void *arg)
{
	struct irc *irc = (struct irc *)((void **)arg)[0];
	struct client *cl = client_from_arg(irc, ((void **)arg)[1]);

	(void)acct;
	free(arg);
	if (!cl)
		return;
	cl->registering = false;
	client_release(cl);
	if (rc == CHAT_ESTORE) {
		client_fail(cl, "NICK", "TEMPORARILY_UNAVAILABLE", cl->nick,
		            "Cannot check this nick right now; try again");
		return;
	}
	if (rc != CHAT_EAUTH) {
		client_num(cl, ERR_NICKNAMEINUSE, cl->nick);
		return;
	}
	if (cl->state == CLIENT_UNREG)
		register_finish(cl, cl->nick, false, false);
}

void client_try_register(struct client *cl)
{
	struct irc *irc = cl->irc;
	const char *idle = irc_idle_reason(irc);
	void **arg;

	/* an idle pool server refuses once NICK and USER are in, before SASL counts */
	if (idle && cl->state == CLIENT_UNREG && cl->has_user && cl->nick[0]) {
		client_exit(cl, idle);
		return;
	}
	if (cl->state != CLIENT_UNREG || cl->cap_negotiating || cl->registering ||
	    cl->sasl != SASL_NONE || cl->sasl_busy || !cl->has_user || !cl->nick[0])
		return;
	if (cl->account[0]) {
		register_finish(cl, cl->account, true, cl->admin);
		return;
	}
	if (!irc->cfg.allow_guests) {
		client_fail(cl, "*", "ACCOUNT_REQUIRED", NULL,
		            "This server requires SASL authentication (PLAIN or SCRAM-SHA-256) "
		            "with an account; ask an administrator for one");
		client_exit(cl, "SASL authentication is required on this server");
		return;
	}
	cl->registering = true;
	client_hold(cl);
	arg = xmalloc(2 * sizeof(void *));
	arg[0] = irc;
	arg[1] = CLIENT_ARG(cl);
	chat_auth_lookup(irc->chat, cl->nick, guest_checked, arg);
}

/* --- registration timeouts ------------------------------------------------------ */

static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct irc *irc = arg;
	int64_t limit = time_now_ms() - (int64_t)irc->cfg.register_timeout * 1000;
	struct client *cl = irc->unreg, *next;

	(void)fd;
	(void)what;
	for (; cl; cl = next) {
		next = cl->next_unreg;
		if (cl->connected_ms < limit && !(cl->state & CLIENT_DEAD))
			client_exit(cl, "Registration timed out");
	}
}

void irc_clients_init(struct irc *irc)
{
	struct timeval tv = {1, 0};

	map_init(&irc->clients);
	irc->tick = event_new(irc->base, -1, EV_PERSIST, tick, irc);
	event_add(irc->tick, &tv);
}

void irc_clients_free(struct irc *irc)
{
	if (irc->tick)
		event_free(irc->tick);
	map_clear(&irc->clients);
}
