/*
 * service.c — the `pchat` service user (ChanServ style): what a client
 * cannot say with plain IRC commands, it asks the service in a private
 * message, e.g. "/msg pchat create #room category=eng privacy=closed".
 * Answers are NOTICEs from pchat. The rules are the chat layer's; this
 * file only parses and answers.
 */
#include "chat/names.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "irc/irc_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVICE_SOURCE "pchat!pchat@services.pchat"

static void say(struct client *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct client *cl, const char *fmt, ...)
{
	char text[400];
	struct irc_out o;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	irc_out_init(&o);
	client_base_tags(cl, &o, 0);
	irc_out_source(&o, SERVICE_SOURCE);
	irc_out_cmd(&o, "NOTICE");
	irc_out_param(&o, cl->nick);
	irc_out_trailing(&o, text);
	irc_out_end(&o);
	client_send_out(cl, &o);
}

static const char *const help_lines[] = {
    "pchat service commands (/msg pchat COMMAND ...):",
    "  create #room [category=NAME] [privacy=open|closed|secret]  create a room you manage",
    "  info #room                                 what the room is, its roles",
    "  set #room description TEXT                 (managers) change the description",
    "  set #room privacy open|closed|secret       (managers)",
    "  set #room type normal|auditorium           (managers)",
    "  set #room invitations inherit|off          (managers)",
    "  members|managers|presenters add|remove #room NAME...   (managers) change a role list",
    "  members|managers|presenters list #room     who has the role",
    "  follow #room / unfollow #room / following  rooms joined at every login",
    "  invite #room NICK                          invite someone into a room",
    "  search [#room] WORDS...                    the newest messages with these words",
    "  help                                       this text",
};

static void help(struct client *cl)
{
	for (size_t i = 0; i < sizeof(help_lines) / sizeof(help_lines[0]); i++)
		say(cl, "%s", help_lines[i]);
}

/* A room the user may know of, from "#name" (answers when there is none). */
static struct chat_room *room_arg(struct client *cl, const char *arg)
{
	struct chat_room *r = NULL;

	if (arg && arg[0] == '#')
		r = chat_room_find(cl->irc->chat, arg + 1);
	if (!r || !client_can_find(cl, r)) {
		say(cl, "No such room: %s", arg ? arg : "(none given)");
		return NULL;
	}
	return r;
}

/* The outcome of a change, answered once stored. */
struct svc_op {
	struct irc *irc; /* server */
	void *arg;       /* CLIENT_ARG */
	char done[200];  /* what to say on success */
};

static void svc_done(int rc, const char *msg, void *arg)
{
	struct svc_op *op = arg;
	struct client *cl = client_from_arg(op->irc, op->arg);

	if (cl && rc == 0)
		say(cl, "%s", op->done);
	else if (cl)
		say(cl, "Refused: %s", msg ? msg : "the change could not be made");
	free(op);
}

static struct svc_op *svc_op(struct client *cl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct svc_op *svc_op(struct client *cl, const char *fmt, ...)
{
	struct svc_op *op = xcalloc(1, sizeof(*op));
	va_list ap;

	op->irc = cl->irc;
	op->arg = CLIENT_ARG(cl);
	va_start(ap, fmt);
	vsnprintf(op->done, sizeof(op->done), fmt, ap);
	va_end(ap);
	return op;
}

static void create(struct client *cl, char **w, int n)
{
	const char *category = cl->irc->cfg.default_category, *privacy = "";

	if (n < 2 || w[1][0] != '#' || !names_room_valid(w[1] + 1)) {
		say(cl, "Usage: create #room [category=NAME] [privacy=open|closed|secret]");
		return;
	}
	for (int i = 2; i < n; i++) {
		if (strncmp(w[i], "category=", 9) == 0)
			category = w[i] + 9;
		else if (strncmp(w[i], "privacy=", 8) == 0)
			privacy = w[i] + 8;
		else {
			say(cl, "Unknown option %s (category=, privacy=)", w[i]);
			return;
		}
	}
	if (*privacy && strcmp(privacy, "open") && strcmp(privacy, "closed") &&
	    strcmp(privacy, "secret")) {
		say(cl, "privacy is open, closed or secret");
		return;
	}
	chat_room_create(cl->irc->chat, cl->session->user, w[1] + 1, category, privacy, svc_done,
	                 svc_op(cl, "Room %s created in %s; you manage it", w[1], category));
}

static const char *const privacy_names[] = {"closed", "open", "secret"};

static void info(struct client *cl, char **w, int n)
{
	struct chat_room *r = room_arg(cl, n > 1 ? w[1] : NULL);

	if (!r)
		return;
	say(cl, "#%s: %s", r->name, r->topic[0] ? r->topic : "(no description)");
	say(cl, "category %s, %s, %s%s, %zu present", r->category,
	    privacy_names[r->privacy >= 0 && r->privacy <= 2 ? r->privacy : 0],
	    r->type ? "auditorium" : "normal", r->disabled ? ", disabled" : "", r->members.n);
	say(cl, "managers: %s", r->manager_list[0] ? r->manager_list : "(none)");
	say(cl, "presenters: %s", r->presenter_list[0] ? r->presenter_list : "(none)");
}

static void set(struct client *cl, char **w, int n, const char *rest)
{
	static const struct {
		const char *key;            /* setting name */
		enum chat_room_field field; /* what it changes */
	} keys[] = {{"description", CHAT_SET_DESCRIPTION},
	            {"privacy", CHAT_SET_PRIVACY},
	            {"type", CHAT_SET_TYPE},
	            {"invitations", CHAT_SET_INVITATIONS}};
	struct chat_room *r;

	if (n < 4) {
		say(cl, "Usage: set #room description|privacy|type|invitations VALUE");
		return;
	}
	if (!(r = room_arg(cl, w[1])))
		return;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (str_ieq(w[2], keys[i].key)) {
			chat_room_manage(cl->irc->chat, cl->session->user, r, keys[i].field,
			                 keys[i].field == CHAT_SET_DESCRIPTION ? rest : w[3],
			                 svc_done,
			                 svc_op(cl, "#%s: %s changed", r->name, keys[i].key));
			return;
		}
	}
	say(cl, "Unknown setting %s (description, privacy, type, invitations)", w[2]);
}

static void roles(struct client *cl, char **w, int n)
{
	enum chat_room_field f = str_ieq(w[0], "members")    ? CHAT_EDIT_MEMBERS
	                         : str_ieq(w[0], "managers") ? CHAT_EDIT_MANAGERS
	                                                     : CHAT_EDIT_PRESENTERS;
	struct chat_room *r;
	char spec[400];
	size_t len = 0;
	bool add;

	if (n < 3 ||
	    (!str_ieq(w[1], "add") && !str_ieq(w[1], "remove") && !str_ieq(w[1], "list"))) {
		say(cl, "Usage: %s add|remove|list #room [NAME...]", w[0]);
		return;
	}
	if (!(r = room_arg(cl, w[2])))
		return;
	if (str_ieq(w[1], "list")) {
		const char *l = f == CHAT_EDIT_MEMBERS    ? r->member_list
		                : f == CHAT_EDIT_MANAGERS ? r->manager_list
		                                          : r->presenter_list;

		say(cl, "#%s %s: %s", r->name, w[0], l[0] ? l : "(none)");
		return;
	}
	if (n < 4) {
		say(cl, "Usage: %s %s #room NAME...", w[0], w[1]);
		return;
	}
	add = str_ieq(w[1], "add");
	spec[0] = '\0';
	for (int i = 3; i < n; i++)
		str_appendf(spec, sizeof(spec), &len, "%s%c%s", len ? "," : "", add ? '+' : '-',
		            w[i]);
	chat_room_manage(cl->irc->chat, cl->session->user, r, f, spec, svc_done,
	                 svc_op(cl, "#%s %s updated", r->name, w[0]));
}

static void following_done(int rc, const char *const *names, size_t n, void *arg)
{
	struct svc_op *op = arg;
	struct client *cl = client_from_arg(op->irc, op->arg);
	char line[400];
	size_t len = 0;

	line[0] = '\0';
	for (size_t i = 0; cl && rc == 0 && i < n; i++)
		str_appendf(line, sizeof(line), &len, "%s#%s", len ? " " : "", names[i]);
	if (cl)
		say(cl, rc ? "Following: cannot be read now" : "Following: %s",
		    len ? line : "(no rooms)");
	free(op);
}

static void follow(struct client *cl, char **w, int n)
{
	bool on = str_ieq(w[0], "follow");
	struct chat_room *r;

	if (n < 2) {
		say(cl, "Usage: %s #room", w[0]);
		return;
	}
	if (!(r = room_arg(cl, w[1])))
		return;
	chat_follow(cl->irc->chat, cl->session->user, r, on, svc_done,
	            svc_op(cl, "%s #%s", on ? "Following" : "No longer following", r->name));
}

static void service_found(int rc, const struct chat_msg *msgs, size_t n, bool more, void *arg)
{
	struct svc_op *op = arg;
	struct client *cl = client_from_arg(op->irc, op->arg);

	if (cl && rc)
		say(cl, "Search is not available right now; try again");
	for (size_t i = 0; cl && rc == 0 && i < n; i++) {
		char ts[TIME_ISO_LEN];

		time_fmt_iso(msgs[i].ts_ms, ts, sizeof(ts));
		say(cl, "%s %s%s <%s> %s", ts, msgs[i].room ? "#" : "",
		    msgs[i].room ? msgs[i].room->name : "(private)", msgs[i].from_name,
		    msgs[i].text);
	}
	if (cl && rc == 0)
		say(cl, "%zu result%s%s", n, n == 1 ? "" : "s",
		    more ? " (more exist: use SEARCH with limit=, or narrow the words)" : "");
	free(op);
}

/* "search [#room] words...": the 10 newest matches as notices. */
static void service_search(struct client *cl, char **w, int n)
{
	struct chat_search_query q;
	size_t len = 0;
	int i = 1;

	memset(&q, 0, sizeof(q));
	q.limit = 10;
	if (n > 1 && w[1][0] == '#') {
		if (!(q.room = room_arg(cl, w[1])))
			return;
		i = 2;
	}
	for (; i < n; i++)
		str_appendf(q.text, sizeof(q.text), &len, "%s%s", len ? " " : "", w[i]);
	if (!q.text[0]) {
		say(cl, "Usage: search [#room] WORDS...");
		return;
	}
	chat_search(cl->irc->chat, cl->session->user, &q, service_found, svc_op(cl, "-"));
}

/* Split text into at most max words in place; returns the count. */
static int words(char *text, char **w, int max)
{
	int n = 0;
	char *save = NULL;

	for (char *t = strtok_r(text, " ", &save); t && n < max; t = strtok_r(NULL, " ", &save))
		w[n++] = t;
	return n;
}

void service_message(struct client *cl, const char *text)
{
	char buf[512], *w[24];
	const char *rest;
	int n;

	/* "set #room description TEXT": the text runs to the end of the line. */
	rest = text;
	for (int skip = 0; skip < 3 && rest; skip++) {
		rest = strchr(rest, ' ');
		if (rest)
			rest += strspn(rest, " ");
	}
	str_copy(buf, text, sizeof(buf));
	n = words(buf, w, 24);
	if (n == 0 || str_ieq(w[0], "help"))
		help(cl);
	else if (str_ieq(w[0], "create"))
		create(cl, w, n);
	else if (str_ieq(w[0], "info"))
		info(cl, w, n);
	else if (str_ieq(w[0], "set"))
		set(cl, w, n, rest ? rest : "");
	else if (str_ieq(w[0], "members") || str_ieq(w[0], "managers") ||
	         str_ieq(w[0], "presenters"))
		roles(cl, w, n);
	else if (str_ieq(w[0], "follow") || str_ieq(w[0], "unfollow"))
		follow(cl, w, n);
	else if (str_ieq(w[0], "search"))
		service_search(cl, w, n);
	else if (str_ieq(w[0], "following"))
		chat_following(cl->irc->chat, cl->session->user, following_done, svc_op(cl, "-"));
	else if (str_ieq(w[0], "invite") && n == 3) {
		struct irc_msg m;

		/* The same as "INVITE nick #room". */
		memset(&m, 0, sizeof(m));
		m.command = "INVITE";
		m.params[0] = w[2];
		m.params[1] = w[1];
		m.n_params = 2;
		cmd_invite(cl, &m);
	} else
		say(cl, "Unknown command %s; /msg pchat help", w[0]);
}
