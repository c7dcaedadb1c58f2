/*
 * sasl.c — AUTHENTICATE (IRCv3 sasl 3.1/3.2) with PLAIN (RFC 4616) and
 * SCRAM-SHA-256 (RFC 5802, RFC 7677).
 *
 * Payloads arrive base64 in chunks of 400 bytes; they are gathered (at most
 * SASL_MAX bytes), decoded and handed to the mechanism. The credentials are
 * checked by the chat layer off the loop. Payloads are wiped when done and
 * never logged. Wrong credentials always give 904, whether or not the
 * account exists.
 */
#include "chat/password.h"
#include "common/log.h"
#include "common/str.h"
#include "common/xmalloc.h"
#include "core/net.h"
#include "irc/cmd/args.h"
#include "irc/irc_int.h"

#include <event2/event.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SASL_MAX_FAILS 5 /* failed attempts before the connection is closed */

void sasl_reset(struct client *cl)
{
	if (cl->sasl_buf) {
		sodium_memzero(cl->sasl_buf, cl->sasl_len);
		free(cl->sasl_buf);
	}
	cl->sasl_buf = NULL;
	cl->sasl_len = 0;
	if (cl->scram)
		scram_free(cl->scram);
	cl->scram = NULL;
	cl->sasl = SASL_NONE;
	cl->sasl_stage = 0;
	cl->sasl_user[0] = '\0';
	cl->sasl_known = false;
	cl->sasl_admin = false;
}

/* Send data as AUTHENTICATE chunks of 400 base64 characters. */
static void sasl_send(struct client *cl, const char *data, size_t len)
{
	size_t b64len = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = xmalloc(b64len);
	size_t n, off = 0;
	struct irc_out o;

	sodium_bin2base64(b64, b64len, (const unsigned char *)data, len,
	                  sodium_base64_VARIANT_ORIGINAL);
	n = strlen(b64);
	do {
		char chunk[401];
		size_t k = n - off > 400 ? 400 : n - off;

		memcpy(chunk, b64 + off, k);
		chunk[k] = '\0';
		irc_out_init(&o);
		irc_out_cmd(&o, "AUTHENTICATE");
		irc_out_param(&o, k ? chunk : "+");
		irc_out_end(&o);
		client_send_out(cl, &o);
		off += k;
		if (k == 400 && off == n) {
			k = 0; /* a last full chunk is followed by "+" */
			irc_out_init(&o);
			irc_out_cmd(&o, "AUTHENTICATE");
			irc_out_param(&o, "+");
			irc_out_end(&o);
			client_send_out(cl, &o);
		}
	} while (off < n);
	free(b64);
}

static void sasl_success(struct client *cl, const char *account, int64_t id, bool admin)
{
	char src[CHAT_NAME_MAX * 2 + 32];

	str_copy(cl->account, account, sizeof(cl->account));
	cl->admin = admin;
	cl->account_id = id;
	snprintf(src, sizeof(src), "%s!%s@pchat/user", cl->nick[0] ? cl->nick : account, account);
	client_num(cl, RPL_LOGGEDIN, src, account, account);
	client_num(cl, RPL_SASLSUCCESS);
	sasl_reset(cl);
	log_info("sasl", "client %llu from %s authenticated as %s", (unsigned long long)cl->id,
	         cl->conn ? conn_peer(cl->conn) : "?", account);
}

static void sasl_failure(struct client *cl, const char *why)
{
	sasl_reset(cl);
	client_num(cl, ERR_SASLFAIL);
	log_info("sasl", "client %llu from %s: authentication failed (%s)",
	         (unsigned long long)cl->id, cl->conn ? conn_peer(cl->conn) : "?", why);
	if (++cl->sasl_fails >= SASL_MAX_FAILS)
		client_exit(cl, "Too many failed authentication attempts");
}

/* The answer to a credential check may come after the client has gone. */
struct sasl_wait {
	struct irc *irc; /* server */
	void *arg;       /* CLIENT_ARG */
};

static struct sasl_wait *wait_new(struct client *cl)
{
	struct sasl_wait *w = xmalloc(sizeof(*w));

	w->irc = cl->irc;
	w->arg = CLIENT_ARG(cl);
	cl->sasl_busy = true;
	client_hold(cl);
	return w;
}

static struct client *wait_end(struct sasl_wait *w)
{
	struct client *cl = client_from_arg(w->irc, w->arg);

	free(w);
	if (cl) {
		cl->sasl_busy = false;
		client_release(cl);
	}
	return cl;
}

static void plain_done(int rc, const struct chat_account *acct, void *arg)
{
	struct client *cl = wait_end(arg);

	if (!cl)
		return;
	if (rc == 0)
		sasl_success(cl, acct->name, acct->id, acct->admin);
	else
		sasl_failure(cl, rc == CHAT_EDISABLED ? "account disabled"
		                 : rc == CHAT_ESTORE  ? "store unavailable"
		                                      : "wrong credentials");
	client_try_register(cl);
}

/* RFC 4616: [authzid] NUL authcid NUL passwd; data[len] is a NUL. */
static void plain_step(struct client *cl, const char *data, size_t len)
{
	const char *authz = data;
	const char *authc = authz + strlen(authz) + 1;
	const char *pass;

	if (authc >= data + len) {
		sasl_failure(cl, "malformed PLAIN payload");
		return;
	}
	pass = authc + strlen(authc) + 1;
	if (pass > data + len || pass + strlen(pass) != data + len || !*authc ||
	    strlen(authc) >= CHAT_NAME_MAX || (*authz && strcmp(authz, authc) != 0) ||
	    !password_acceptable(pass)) {
		sasl_failure(cl, "malformed PLAIN payload");
		return;
	}
	cl->sasl = SASL_NONE;
	chat_auth_password(cl->irc->chat, authc, pass, cl->conn ? conn_peer(cl->conn) : "",
	                   plain_done, wait_new(cl));
}

/* --- SCRAM-SHA-256 ------------------------------------------------------------ */

static void scram_delayed_fail(evutil_socket_t fd, short what, void *arg)
{
	struct client *cl = wait_end(arg);

	(void)fd;
	(void)what;
	if (cl) {
		sasl_failure(cl, "wrong credentials");
		client_try_register(cl);
	}
}

/* A failed proof: throttled like PLAIN, then 904. */
static void scram_fail(struct client *cl)
{
	struct chat *ch = cl->irc->chat;
	const char *peer = cl->conn ? conn_peer(cl->conn) : "";
	char user[CHAT_NAME_MAX];
	int delay;

	str_copy(user, cl->sasl_user, sizeof(user));
	delay = chat_auth_delay_ms(ch, user, peer);
	chat_auth_failed(ch, user, peer);
	sasl_reset(cl);
	if (delay > 0) {
		struct timeval tv = {delay / 1000, (delay % 1000) * 1000};

		event_base_once(cl->irc->base, -1, EV_TIMEOUT, scram_delayed_fail, wait_new(cl),
		                &tv);
		return;
	}
	sasl_failure(cl, "wrong credentials");
}

static void scram_looked_up(int rc, const struct chat_account *acct, void *arg)
{
	struct client *cl = wait_end(arg);
	char *out = NULL;

	if (!cl || cl->sasl != SASL_SCRAM)
		return;
	if (rc == CHAT_ESTORE) {
		sasl_failure(cl, "store unavailable");
		return;
	}
	/* Unknown or disabled: a made-up salt, so it fails at the proof. */
	if (scram_server_first(cl->scram, rc == 0 && acct ? acct->scram : NULL, &out) != 0) {
		sasl_failure(cl, "SCRAM error");
		return;
	}
	if (rc == 0 && acct) {
		str_copy(cl->sasl_user, acct->name, sizeof(cl->sasl_user));
		cl->sasl_known = true;
		cl->sasl_admin = acct->admin;
		cl->sasl_id = acct->id;
	}
	cl->sasl_stage = 1;
	sasl_send(cl, out, strlen(out));
	free(out);
}

static void scram_step(struct client *cl, const char *data, size_t len)
{
	char user[CHAT_NAME_MAX];
	char *out = NULL;

	switch (cl->sasl_stage) {
	case 0:
		cl->scram = scram_new();
		if (scram_client_first(cl->scram, data, len, user, sizeof(user)) != 0) {
			sasl_failure(cl, "malformed SCRAM client-first-message");
			return;
		}
		str_copy(cl->sasl_user, user, sizeof(cl->sasl_user));
		chat_auth_lookup(cl->irc->chat, user, scram_looked_up, wait_new(cl));
		return;
	case 1:
		if (scram_client_final(cl->scram, data, len, &out) != 0 || !cl->sasl_known) {
			free(out);
			scram_fail(cl);
			return;
		}
		cl->sasl_stage = 2;
		sasl_send(cl, out, strlen(out));
		free(out);
		return;
	default:
		/* The client acknowledged the server-final-message with "+". */
		if (len != 0) {
			sasl_failure(cl, "unexpected SCRAM data");
			return;
		}
		str_copy(user, cl->sasl_user, sizeof(user));
		sasl_success(cl, user, cl->sasl_id, cl->sasl_admin);
		client_try_register(cl);
	}
}

/* --- AUTHENTICATE ----------------------------------------------------------------- */

static void sasl_start(struct client *cl, const char *mech)
{
	struct irc_out o;

	if (str_ieq(mech, "PLAIN"))
		cl->sasl = SASL_PLAIN;
	else if (str_ieq(mech, "SCRAM-SHA-256"))
		cl->sasl = SASL_SCRAM;
	else {
		client_num(cl, RPL_SASLMECHS, "PLAIN,SCRAM-SHA-256");
		sasl_failure(cl, "unknown mechanism");
		return;
	}
	irc_out_init(&o);
	irc_out_cmd(&o, "AUTHENTICATE");
	irc_out_param(&o, "+");
	irc_out_end(&o);
	client_send_out(cl, &o);
}

/* Gather one chunk (args_sasl_chunk); returns true when the payload is complete. */
static bool sasl_gather(struct client *cl, const char *chunk)
{
	bool done;

	if (args_sasl_chunk(&cl->sasl_buf, &cl->sasl_len, chunk, &done) != 0) {
		client_num(cl, ERR_SASLTOOLONG);
		sasl_reset(cl);
		return false;
	}
	return done;
}

static void sasl_payload(struct client *cl)
{
	size_t len;
	char *data;

	if (args_sasl_decode(cl->sasl_buf, cl->sasl_len, &data, &len) != 0) {
		sasl_failure(cl, "malformed base64");
		return;
	}
	if (cl->sasl_buf) {
		sodium_memzero(cl->sasl_buf, cl->sasl_len);
		free(cl->sasl_buf);
		cl->sasl_buf = NULL;
		cl->sasl_len = 0;
	}
	if (cl->sasl == SASL_PLAIN)
		plain_step(cl, data, len);
	else
		scram_step(cl, data, len);
	sodium_memzero(data, len + 1);
	free(data);
}

bool cmd_authenticate(struct client *cl, struct irc_msg *m)
{
	const char *arg = m->params[0];

	if (cl->state != CLIENT_UNREG || cl->account[0]) {
		client_num(cl, ERR_SASLALREADY);
		return true;
	}
	if (strcmp(arg, "*") == 0) {
		sasl_reset(cl);
		client_num(cl, ERR_SASLABORTED);
		return true;
	}
	if (cl->sasl_busy) {
		client_fail(cl, "AUTHENTICATE", "BUSY", NULL,
		            "Authentication in progress; wait for its answer");
		return true;
	}
	if (cl->sasl == SASL_NONE) {
		sasl_start(cl, arg);
		return true;
	}
	if (sasl_gather(cl, arg))
		sasl_payload(cl);
	return true;
}
