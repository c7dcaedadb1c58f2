/*
 * welcome.c — what a client is told when it registers (001-005, LUSERS,
 * MOTD) and on request (VERSION, MOTD, LUSERS, TIME).
 */
#include "common/str.h"
#include "common/timeutil.h"
#include "irc/irc_int.h"

#include <stdio.h>
#include <string.h>

/* ISUPPORT tokens (modern IRC: RPL_ISUPPORT), at most 13 per line. */
static void isupport_tokens(const struct irc *irc, const char **tok, int *n, char *net, size_t nn)
{
	static const char *const fixed[] = {
	    "AWAYLEN=389",
	    "BOT=B",
	    "CASEMAPPING=ascii",
	    "CHANLIMIT=#:",
	    "CHANMODES=,,,mnst",
	    "CHANNELLEN=51",
	    "CHATHISTORY=" IRC_CHATHISTORY_MAX_STR,
	    "CHANTYPES=#",
	    "ELIST=",
	    "MAXTARGETS=1",
	    "MSGREFTYPES=msgid,timestamp",
	    "MODES=4",
	    "NICKLEN=32",
	    "PREFIX=(ov)@+",
	    "TARGMAX=PRIVMSG:1,NOTICE:1,TAGMSG:1,JOIN:,PART:,NAMES:1,WHOIS:1",
	    "TOPICLEN=389",
	    "USERLEN=15",
	    "UTF8ONLY",
	    "WHOX",
	};

	*n = 0;
	snprintf(net, nn, "NETWORK=%s", irc->cfg.network);
	tok[(*n)++] = net;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		tok[(*n)++] = fixed[i];
}

void isupport_send(struct client *cl)
{
	const char *tok[32];
	char net[96], line[400];
	int n, i = 0;

	isupport_tokens(cl->irc, tok, &n, net, sizeof(net));
	while (i < n) {
		size_t len = 0;

		line[0] = '\0';
		for (int k = 0; k < 12 && i < n; k++, i++)
			str_appendf(line, sizeof(line), &len, "%s%s", len ? " " : "", tok[i]);
		client_num(cl, RPL_ISUPPORT, line);
	}
}

void lusers_send(struct client *cl)
{
	struct chat_stats st;
	struct irc *irc = cl->irc;

	chat_get_stats(irc->chat, &st);
	if (st.n_users > irc->max_users_seen)
		irc->max_users_seen = st.n_users;
	client_num(cl, RPL_LUSERCLIENT, 0, (int)st.n_users, 1); /* everyone is +i */
	client_num(cl, RPL_LUSEROP, 0);
	client_num(cl, RPL_LUSERUNKNOWN, 0);
	client_num(cl, RPL_LUSERCHANNELS, (int)st.n_rooms);
	client_num(cl, RPL_LUSERME, (int)st.n_users, 0);
	client_num(cl, RPL_LOCALUSERS, (int)st.n_users, (int)irc->max_users_seen, (int)st.n_users,
	           (int)irc->max_users_seen);
	client_num(cl, RPL_GLOBALUSERS, (int)st.n_users, (int)irc->max_users_seen, (int)st.n_users,
	           (int)irc->max_users_seen);
}

void motd_send(struct client *cl)
{
	const char *p = cl->irc->motd;

	if (!p || !*p) {
		client_num(cl, ERR_NOMOTD);
		return;
	}
	client_num(cl, RPL_MOTDSTART, cl->irc->cfg.server_name);
	while (*p) {
		size_t n = strcspn(p, "\n");
		char line[400];

		snprintf(line, sizeof(line), "%.*s", (int)(n > 380 ? 380 : n), p);
		client_num(cl, RPL_MOTD, line);
		p += n;
		if (*p == '\n')
			p++;
	}
	client_num(cl, RPL_ENDOFMOTD);
}

void welcome_send(struct client *cl)
{
	struct irc *irc = cl->irc;
	char src[200];

	client_source(cl, src, sizeof(src));
	client_num(cl, RPL_WELCOME, irc->cfg.network, src);
	client_num(cl, RPL_YOURHOST, irc->cfg.server_name, "pchat-" PCHAT_VERSION);
	client_num(cl, RPL_CREATED, irc->created);
	client_num(cl, RPL_MYINFO, irc->cfg.server_name, "pchat-" PCHAT_VERSION, "Bi", "mnst");
	isupport_send(cl);
	lusers_send(cl);
	motd_send(cl);
	if (cl->session && cl->session->user->bot) {
		struct irc_out o;

		client_start_server_line(cl, &o, "MODE");
		irc_out_param(&o, cl->nick);
		irc_out_param(&o, "+B");
		irc_out_end(&o);
		client_send_out(cl, &o);
	}
}

bool cmd_motd(struct client *cl, struct irc_msg *m)
{
	(void)m;
	motd_send(cl);
	return true;
}

bool cmd_lusers(struct client *cl, struct irc_msg *m)
{
	(void)m;
	lusers_send(cl);
	return true;
}

bool cmd_version(struct client *cl, struct irc_msg *m)
{
	(void)m;
	client_num(cl, RPL_VERSION, "pchat-" PCHAT_VERSION, cl->irc->cfg.server_name,
	           "Persistent chat server");
	isupport_send(cl);
	return true;
}

bool cmd_time(struct client *cl, struct irc_msg *m)
{
	char ts[TIME_ISO_LEN];

	(void)m;
	time_fmt_iso(time_now_ms(), ts, sizeof(ts));
	client_num(cl, RPL_TIME, cl->irc->cfg.server_name, ts);
	return true;
}
