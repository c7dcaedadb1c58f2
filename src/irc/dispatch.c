/*
 * dispatch.c — the command table and the one place where parameter counts,
 * registration state and privilege are checked (handlers never repeat it),
 * and where a labeled command's answer is captured.
 */
#include "common/utf8.h"
#include "irc/irc_int.h"

#include <string.h>

#define ANY (CLIENT_UNREG | CLIENT_REG)
#define REG CLIENT_REG
#define PRE CLIENT_UNREG

/* One row per command (STYLE.md: tables are the architecture). */
static const struct irc_cmd commands[] = {
    {"CAP", cmd_cap, 1, 3, ANY, 0},
    {"AUTHENTICATE", cmd_authenticate, 1, 1, ANY, 0},
    {"NICK", cmd_nick, 1, 1, ANY, 0},
    {"USER", cmd_user, 4, 4, PRE, 0},
    {"PASS", cmd_pass, 1, 1, PRE, 0},
    {"PING", cmd_ping, 1, 2, ANY, 0},
    {"PONG", cmd_pong, 0, 2, ANY, CMD_NO_PENALTY},
    {"QUIT", cmd_quit, 0, 1, ANY, 0},
    {"JOIN", cmd_join, 1, 2, REG, 0},
    {"PART", cmd_part, 1, 2, REG, 0},
    {"PRIVMSG", cmd_privmsg, 0, 2, REG, 0},
    {"NOTICE", cmd_notice, 0, 2, REG, 0},
    {"TAGMSG", cmd_tagmsg, 1, 1, REG, 0},
    {"TOPIC", cmd_topic, 1, 2, REG, 0},
    {"NAMES", cmd_names, 0, 1, REG, 0},
    {"LIST", cmd_list, 0, 2, REG, 0},
    {"WHO", cmd_who, 0, 2, REG, 0},
    {"WHOIS", cmd_whois, 1, 2, REG, 0},
    {"MODE", cmd_mode, 1, -1, REG, 0},
    {"AWAY", cmd_away, 0, 1, REG, 0},
    {"MOTD", cmd_motd, 0, 1, REG, 0},
    {"LUSERS", cmd_lusers, 0, 2, REG, 0},
    {"VERSION", cmd_version, 0, 1, REG, 0},
    {"TIME", cmd_time, 0, 1, REG, 0},
    {"SETNAME", cmd_setname, 1, 1, REG, 0},
    {"INVITE", cmd_invite, 2, 2, REG, 0},
    {"USERHOST", cmd_userhost, 1, 5, REG, 0},
    {"ISON", cmd_ison, 1, -1, REG, 0},
    {"CHATHISTORY", cmd_chathistory, 2, 6, REG, 0},
    {"SEARCH", cmd_search, 1, 1, REG, 0},
    {"REDACT", cmd_redact, 2, 3, REG, 0},
    {"MARKREAD", cmd_markread, 1, 2, REG, 0},
};

static const struct irc_cmd *lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Answer a line the parser refused. */
static void parse_error(struct client *cl, int err)
{
	switch (err) {
	case IRC_PARSE_EMPTY:
		break; /* RFC 2812 §2.3.1: empty messages are silently ignored */
	case IRC_PARSE_TAGS_TOO_LONG:
	case IRC_PARSE_BODY_TOO_LONG:
		client_num(cl, ERR_INPUTTOOLONG);
		break;
	default:
		client_fail(cl, "*", "INVALID_MESSAGE", NULL, irc_parse_strerror(err));
		break;
	}
}

/* Whether cmd may run now; answers the client when not. */
static bool allowed(struct client *cl, const struct irc_cmd *cmd, const struct irc_msg *m)
{
	if (!(cmd->states & cl->state)) {
		if (cl->state == CLIENT_UNREG)
			client_num(cl, ERR_NOTREGISTERED);
		else
			client_num(cl, ERR_ALREADYREGISTERED);
		return false;
	}
	if (m->n_params < cmd->min_params) {
		client_num(cl, ERR_NEEDMOREPARAMS, cmd->name);
		return false;
	}
	if ((cmd->flags & CMD_ADMIN) && !cl->admin) {
		client_num(cl, ERR_NOPRIVILEGES);
		return false;
	}
	return true;
}

void irc_dispatch(struct client *cl, char *line, size_t len)
{
	struct irc_msg m;
	const struct irc_cmd *cmd;
	const char *label;
	bool utf8_ok = utf8_valid(line, len);
	int err = irc_parse(line, len, &m);

	if (err) {
		parse_error(cl, err);
		return;
	}
	cmd = lookup(m.command);
	if (!cmd) {
		client_num(cl, ERR_UNKNOWNCOMMAND, m.command);
		return;
	}
	if (!utf8_ok) {
		/* UTF8ONLY (ISUPPORT): refuse, never relay, invalid text. */
		client_fail(cl, cmd->name, "INVALID_UTF8", NULL, "Message rejected: invalid UTF-8");
		return;
	}
	if (cmd->max_params >= 0 && m.n_params > cmd->max_params)
		m.n_params = cmd->max_params;
	label = irc_msg_tag(&m, "label");
	if (label && client_has(cl, CAP_LABELED_RESPONSE) && *label)
		client_resp_begin(cl, label);
	if (allowed(cl, cmd, &m) && !cmd->handler(cl, &m))
		return; /* the client is gone */
	if (cl->resp)
		client_resp_end(cl);
}
