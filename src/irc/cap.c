/*
 * cap.c — IRCv3 capability negotiation (CAP LS/LIST/REQ/END, version 302,
 * cap-notify). The table of capabilities is IRC_CAPS in irc_int.h.
 */
#include "common/str.h"
#include "irc/cmd/args.h"
#include "irc/irc_int.h"

#include <string.h>

static const char *const cap_names[] = {
#define X(id, name) name,
    IRC_CAPS(X)
#undef X
};

const char *cap_name(enum irc_cap c)
{
	return cap_names[c];
}

/* "CAP <nick> <sub> :<list>" */
static void cap_reply(struct client *cl, const char *sub, const char *list)
{
	struct irc_out o;

	client_start_server_line(cl, &o, "CAP");
	irc_out_param(&o, cl->nick[0] ? cl->nick : "*");
	irc_out_param(&o, sub);
	irc_out_trailing(&o, list);
	irc_out_end(&o);
	client_send_out(cl, &o);
}

static void cap_list(struct client *cl, bool ls)
{
	char buf[1024];
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < N_CAPS; i++) {
		if (!ls && !(cl->caps & CAPBIT(i)))
			continue;
		str_appendf(buf, sizeof(buf), &len, "%s%s", len ? " " : "", cap_names[i]);
		if (ls && cl->cap_version >= 302 && i == CAP_SASL)
			str_appendf(buf, sizeof(buf), &len, "=PLAIN,SCRAM-SHA-256");
	}
	cap_reply(cl, ls ? "LS" : "LIST", buf);
}

/* All-or-nothing: every name must be known (IRCv3 capability negotiation). */
static void cap_req(struct client *cl, const char *arg)
{
	uint32_t add, del;

	if (args_cap_req(arg, cl->cap_version, &add, &del) != 0) {
		cap_reply(cl, "NAK", arg);
		return;
	}
	cl->caps = (cl->caps | add) & ~del;
	cap_reply(cl, "ACK", arg);
}

bool cmd_cap(struct client *cl, struct irc_msg *m)
{
	const char *sub = m->params[0];

	if (str_ieq(sub, "LS")) {
		if (cl->state == CLIENT_UNREG)
			cl->cap_negotiating = true;
		if (args_cap_ls_version(m->n_params > 1 ? m->params[1] : NULL) == 302) {
			cl->cap_version = 302;
			cl->caps |= CAPBIT(CAP_CAP_NOTIFY); /* implied by 302 */
		} else if (!cl->cap_version) {
			cl->cap_version = 301;
		}
		cap_list(cl, true);
	} else if (str_ieq(sub, "LIST")) {
		cap_list(cl, false);
	} else if (str_ieq(sub, "REQ")) {
		if (cl->state == CLIENT_UNREG)
			cl->cap_negotiating = true;
		cap_req(cl, m->n_params > 1 ? m->params[1] : "");
	} else if (str_ieq(sub, "END")) {
		if (cl->state == CLIENT_UNREG) {
			cl->cap_negotiating = false;
			client_try_register(cl);
		}
	} else {
		client_num(cl, ERR_INVALIDCAPCMD, sub);
	}
	return true;
}
