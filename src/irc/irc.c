/*
 * irc.c — the IRC server object: configuration in force, the chat engine
 * it drives, the clients it serves, MOTD; start, reload and shutdown.
 */
#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "core/net.h"
#include "irc/irc_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOTD_MAX 16384 /* bytes of MOTD file read */

static const char default_motd[] =
    "Welcome to pchat, a persistent chat server: every room keeps its history.\n"
    "Type /list to see the rooms, /join #room to enter one.";

static void motd_load(struct irc *irc)
{
	FILE *f;
	char *buf;
	size_t n;

	free(irc->motd);
	irc->motd = NULL;
	if (!irc->cfg.motd_file[0]) {
		irc->motd = xstrdup(default_motd);
		return;
	}
	f = fopen(irc->cfg.motd_file, "r");
	if (!f) {
		log_warn("irc", "cannot read MOTD file %s: using none", irc->cfg.motd_file);
		return;
	}
	buf = xmalloc(MOTD_MAX + 1);
	n = fread(buf, 1, MOTD_MAX, f);
	buf[n] = '\0';
	fclose(f);
	irc->motd = buf;
}

struct irc *irc_new(struct event_base *base, const struct config *cfg, struct net *net,
                    struct store *store, struct workq *workq, char *err, size_t errlen)
{
	struct irc *irc = xcalloc(1, sizeof(*irc));
	struct chat_params p;
	int rc;

	irc->base = base;
	irc->cfg = *cfg;
	irc->net = net;
	irc->store = store;
	irc->started_ms = time_now_ms();
	time_fmt_iso(irc->started_ms, irc->created, sizeof(irc->created));
	memset(&p, 0, sizeof(p));
	p.base = base;
	p.store = store;
	p.workq = workq;
	p.auth_fail_delay_ms = cfg->auth_fail_delay_ms;
	p.argon2_opslimit = cfg->argon2_opslimit;
	p.argon2_memlimit_kib = cfg->argon2_memlimit_kib;
	p.guests_allowed = cfg->allow_guests;
	p.participant_update_limit = cfg->participant_update_limit;
	p.compliance = cfg->comp_enabled;
	p.pool_server = cfg->pool_topology[0] ? irc->cfg.pool_server : NULL;
	irc->chat = chat_new(&p, &irc_sink, irc);
	rc = chat_load(irc->chat);
	if (rc) {
		snprintf(err, errlen,
		         "cannot load the rooms from the database (see the log above)");
		irc_free(irc);
		return NULL;
	}
	chat_feed_start(irc->chat);
	if (chat_bus_start(irc->chat) != 0) {
		snprintf(err, errlen, "cannot join the pool's notifications (see the log above)");
		irc_free(irc);
		return NULL;
	}
	motd_load(irc);
	irc_clients_init(irc);
	net_set_accept(net, irc_accept, irc);
	return irc;
}

void irc_reload(struct irc *irc, const struct config *cfg)
{
	irc->cfg = *cfg;
	motd_load(irc);
}

void irc_shutdown(struct irc *irc, const char *reason)
{
	struct map_entry *e;
	size_t it;

	for (e = map_first(&irc->clients, &it); e; e = map_next(&irc->clients, e, &it))
		client_exit(e->value, reason);
}

void irc_set_idle(struct irc *irc, const char *reason)
{
	if (!reason)
		irc->idle_reason[0] = '\0';
	else
		snprintf(irc->idle_reason, sizeof irc->idle_reason, "Closing link: %s", reason);
}

const char *irc_idle_reason(const struct irc *irc)
{
	return irc->idle_reason[0] ? irc->idle_reason : NULL;
}

int irc_client_count(const struct irc *irc)
{
	return (int)irc->clients.n_entries;
}

void irc_free(struct irc *irc)
{
	if (!irc)
		return;
	irc_clients_free(irc);
	chat_free(irc->chat);
	free(irc->motd);
	free(irc);
}
