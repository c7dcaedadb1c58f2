/*
 * user.c — pchatctl user add|remove|passwd|set|list|show.
 *
 * Passwords come from standard input (--password-stdin, first line) or are
 * generated (20 characters) and printed once. They are derived into both
 * stored forms (Argon2id and SCRAM-SHA-256) with the [auth] parameters of
 * the configuration.
 *
 * Deliberately not here: hashes are never printed, not even with --json;
 * groups and sessions of a running server are not this file's business.
 */
#include "ctl/ctl.h"

#include "chat/names.h"
#include "chat/password.h"
#include "common/id.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "store/store.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define GEN_PASSWORD_LEN 20 /* characters of a generated password */
#define PASSWORD_LINE    1024

enum { OPT_PASSWORD_STDIN = 256, OPT_ADMIN, OPT_CHAT_ENABLED };

/* Options of the user leaves. */
struct user_opts {
	bool password_stdin; /* read the password from stdin */
	bool admin_flag;     /* add: --admin given */
	int admin;           /* set: -1 unchanged, 0 no, 1 yes */
	int chat_enabled;    /* set: -1 unchanged, 0 no, 1 yes */
};

static int on_user_opt(struct ctl *ctx, void *arg, int val, const char *optarg)
{
	struct user_opts *o = arg;
	bool b;

	switch (val) {
	case OPT_PASSWORD_STDIN:
		o->password_stdin = true;
		return CTL_EXIT_OK;
	case OPT_ADMIN:
		if (!optarg) {
			o->admin_flag = true;
			return CTL_EXIT_OK;
		}
		if (str_to_bool(optarg, &b) < 0)
			return ctl_fail(ctx, CTL_EXIT_INVALID,
			                "--admin: expected yes or no, not '%s'", optarg);
		o->admin = b;
		return CTL_EXIT_OK;
	case OPT_CHAT_ENABLED:
		if (str_to_bool(optarg, &b) < 0)
			return ctl_fail(ctx, CTL_EXIT_INVALID,
			                "--chat-enabled: expected yes or no, not '%s'", optarg);
		o->chat_enabled = b;
		return CTL_EXIT_OK;
	default:
		return ctl_usage(ctx, "unknown option");
	}
}

static int check_name(const struct ctl *ctx, const char *name)
{
	if (names_account_valid(name))
		return CTL_EXIT_OK;
	return ctl_fail(ctx, CTL_EXIT_INVALID,
	                "invalid account name '%s': use 1-32 letters, digits, '-' or '_', starting "
	                "with a letter (pchat, chanserv, nickserv and server are reserved)",
	                name);
}

/* Read the first line of stdin into buf (without the line end). */
static int read_password(const struct ctl *ctx, char *buf, size_t len)
{
	size_t n;

	if (!fgets(buf, (int)len, stdin))
		return ctl_fail(ctx, CTL_EXIT_INVALID,
		                "--password-stdin: no password on standard input (write it as "
		                "the first line)");
	n = strcspn(buf, "\r\n");
	if (buf[n] == '\0' && n == len - 1)
		return ctl_fail(ctx, CTL_EXIT_INVALID, "password longer than 512 bytes");
	buf[n] = '\0';
	if (!password_acceptable(buf))
		return ctl_fail(ctx, CTL_EXIT_INVALID, "the password must be 1 to 512 bytes");
	return CTL_EXIT_OK;
}

/* A random password of letters and digits, without look-alikes. */
static void generate_password(char *buf, size_t len)
{
	static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	const unsigned n = sizeof alphabet - 1;
	size_t i = 0;

	while (i < GEN_PASSWORD_LEN && i + 1 < len) {
		unsigned char r;

		id_random(&r, 1);
		if (r >= 256 - 256 % n)
			continue; /* rejection sampling: no bias */
		buf[i++] = alphabet[r % n];
	}
	buf[i] = '\0';
}

/* Get (from stdin or generated) a password and set a's stored forms. */
static int set_password(struct ctl *ctx, struct store_account *a, bool from_stdin, char *pw,
                        size_t pwlen)
{
	struct password_params p = {.argon2_opslimit = ctx->cfg.argon2_opslimit,
	                            .argon2_memlimit_kib = ctx->cfg.argon2_memlimit_kib,
	                            .scram_iterations = ctx->cfg.scram_iterations};
	char *argon2, *scram;
	int rc;

	if (from_stdin) {
		rc = read_password(ctx, pw, pwlen);
		if (rc != CTL_EXIT_OK)
			return rc;
	} else {
		generate_password(pw, pwlen);
	}
	if (password_derive(pw, &p, &argon2, &scram) < 0)
		return ctl_fail(ctx, CTL_EXIT_SYSTEM,
		                "cannot derive the password hash (out of memory? lower "
		                "[auth] argon2_memlimit_kib)");
	free(a->pw_hash);
	free(a->scram);
	a->pw_hash = argon2;
	a->scram = scram;
	return CTL_EXIT_OK;
}

static json_t *account_json(const struct store_account *a)
{
	return json_pack("{s:I, s:s, s:b, s:b, s:I, s:s, s:b, s:b}", "id", (json_int_t)a->id,
	                 "name", a->name, "admin", a->admin, "chat_enabled", a->chat_enabled,
	                 "created_ms", (json_int_t)a->created_ms, "created",
	                 ctl_time(a->created_ms), "has_password", a->pw_hash != NULL, "has_scram",
	                 a->scram != NULL);
}

/* Which account write write_account does. */
enum account_write {
	ACCOUNT_ADD,    /* store_account_add */
	ACCOUNT_UPDATE, /* store_account_update */
	ACCOUNT_REMOVE, /* store_account_remove */
};

/*
 * Write an account and record the change (change feed, compliance) in one
 * transaction; action and detail (consumed) describe it. CTL_EXIT_OK or an
 * error code after printing why.
 */
static int write_account(struct ctl *ctx, enum account_write w, struct store_account *a,
                         const char *action, json_t *detail)
{
	static const char *const verbs[] = {"add", "update", "remove"};
	int rc = ctl_begin(ctx), src;

	if (rc != CTL_EXIT_OK) {
		json_decref(detail);
		return rc;
	}
	src = w == ACCOUNT_ADD      ? store_account_add(ctx->conn, a)
	      : w == ACCOUNT_UPDATE ? store_account_update(ctx->conn, a)
	                            : store_account_remove(ctx->conn, a->name);
	if (src == STORE_ENOTFOUND)
		rc = ctl_fail(ctx, CTL_EXIT_NOTFOUND, "no account '%s' (see 'pchatctl user list')",
		              a->name);
	else if (src != STORE_OK)
		rc = ctl_fail(ctx, ctl_exit_for_store(src), "cannot %s account '%s': %s", verbs[w],
		              a->name, store_strerror(src));
	if (rc == CTL_EXIT_OK)
		rc = ctl_change(ctx, "account", a->name, action, detail);
	else
		json_decref(detail);
	return ctl_end(ctx, rc);
}

/* Print the result of add/passwd: the password only when generated. */
static int print_password_result(struct ctl *ctx, const struct store_account *a, const char *what,
                                 const char *pw, bool generated)
{
	if (ctx->json) {
		json_t *o = account_json(a);

		if (generated)
			json_object_set_new(o, "password", json_string(pw));
		return ctl_json_out(o);
	}
	printf("%s account '%s'\n", what, a->name);
	if (generated)
		printf("password: %s\n(shown only now: give it to the user, or change it with "
		       "'pchatctl user passwd %s --password-stdin')\n",
		       pw, a->name);
	return CTL_EXIT_OK;
}

static int user_add(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN},
	    {"admin", no_argument, NULL, OPT_ADMIN},
	    {NULL, 0, NULL, 0}};
	struct user_opts o = {.admin = -1, .chat_enabled = -1};
	struct store_account a = {0}, old = {0};
	char *pos[1], pw[PASSWORD_LINE];
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_user_opt, &o, pos, 1, 1);
	if (rc == CTL_EXIT_OK)
		rc = check_name(ctx, pos[0]);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc != CTL_EXIT_OK)
		goto out;
	if (store_account_get(ctx->conn, pos[0], &old) == STORE_OK) {
		rc = ctl_fail(ctx, CTL_EXIT_EXISTS,
		              "account '%s' already exists (see 'pchatctl user "
		              "show %s')",
		              old.name, old.name);
		goto out_free;
	}
	str_copy(a.name, pos[0], sizeof a.name);
	a.admin = o.admin_flag;
	a.chat_enabled = true;
	a.created_ms = time_now_ms();
	rc = set_password(ctx, &a, o.password_stdin, pw, sizeof pw);
	if (rc != CTL_EXIT_OK)
		goto out_free;
	rc = write_account(ctx, ACCOUNT_ADD, &a, "add", account_json(&a));
	if (rc != CTL_EXIT_OK)
		goto out_free;
	rc = print_password_result(ctx, &a, "created", pw, !o.password_stdin);
out_free:
	store_account_free(&a);
	store_account_free(&old);
out:
	return rc;
}

/* Get account name into a, printing "not found" advice. */
static int get_account(struct ctl *ctx, const char *name, struct store_account *a)
{
	int rc = ctl_store(ctx);

	if (rc != CTL_EXIT_OK)
		return rc;
	rc = store_account_get(ctx->conn, name, a);
	if (rc == STORE_ENOTFOUND)
		return ctl_fail(ctx, CTL_EXIT_NOTFOUND,
		                "no account '%s' (see 'pchatctl user list')", name);
	if (rc != STORE_OK)
		return ctl_fail(ctx, ctl_exit_for_store(rc), "cannot read account '%s': %s", name,
		                store_strerror(rc));
	return CTL_EXIT_OK;
}

static int user_remove(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	struct user_opts o = {0};
	struct store_account a = {0};
	char *pos[1];
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_user_opt, &o, pos, 1, 1);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc != CTL_EXIT_OK)
		return rc;
	str_copy(a.name, pos[0], sizeof a.name);
	rc = write_account(ctx, ACCOUNT_REMOVE, &a, "remove", NULL);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (ctx->json)
		return ctl_json_out(json_pack("{s:s, s:b}", "name", pos[0], "removed", 1));
	printf("removed account '%s'\n", pos[0]);
	return CTL_EXIT_OK;
}

static int user_passwd(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN}, {NULL, 0, NULL, 0}};
	struct user_opts o = {0};
	struct store_account a = {0};
	char *pos[1], pw[PASSWORD_LINE];
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_user_opt, &o, pos, 1, 1);
	if (rc == CTL_EXIT_OK)
		rc = get_account(ctx, pos[0], &a);
	if (rc == CTL_EXIT_OK)
		rc = set_password(ctx, &a, o.password_stdin, pw, sizeof pw);
	if (rc != CTL_EXIT_OK)
		goto out;
	rc = write_account(ctx, ACCOUNT_UPDATE, &a, "passwd", NULL);
	if (rc != CTL_EXIT_OK)
		goto out;
	rc = print_password_result(ctx, &a, "new password for", pw, !o.password_stdin);
out:
	store_account_free(&a);
	return rc;
}

static int user_set(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"admin", required_argument, NULL, OPT_ADMIN},
	    {"chat-enabled", required_argument, NULL, OPT_CHAT_ENABLED},
	    {NULL, 0, NULL, 0}};
	struct user_opts o = {.admin = -1, .chat_enabled = -1};
	struct store_account a = {0};
	char *pos[1];
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_user_opt, &o, pos, 1, 1);
	if (rc == CTL_EXIT_OK && o.admin < 0 && o.chat_enabled < 0)
		rc = ctl_usage(ctx, "nothing to set: give --admin and/or --chat-enabled");
	if (rc == CTL_EXIT_OK)
		rc = get_account(ctx, pos[0], &a);
	if (rc != CTL_EXIT_OK)
		goto out;
	if (o.admin >= 0)
		a.admin = o.admin;
	if (o.chat_enabled >= 0)
		a.chat_enabled = o.chat_enabled;
	rc = write_account(
	    ctx, ACCOUNT_UPDATE, &a, "set",
	    json_pack("{s:b, s:b}", "admin", a.admin, "chat_enabled", a.chat_enabled));
	if (rc != CTL_EXIT_OK)
		goto out;
	if (ctx->json)
		rc = ctl_json_out(account_json(&a));
	else
		printf("account '%s': admin %s, chat-enabled %s\n", a.name, a.admin ? "yes" : "no",
		       a.chat_enabled ? "yes" : "no");
out:
	store_account_free(&a);
	return rc;
}

static int user_list(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	struct store_account *v = NULL;
	struct user_opts o = {0};
	json_t *arr = NULL;
	size_t n = 0;
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_user_opt, &o, NULL, 0, 0);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc != CTL_EXIT_OK)
		return rc;
	rc = store_account_list(ctx->conn, &v, &n);
	if (rc != STORE_OK)
		return ctl_fail(ctx, ctl_exit_for_store(rc), "cannot list accounts: %s",
		                store_strerror(rc));
	if (ctx->json)
		arr = json_array();
	else
		printf("%-32s %-5s %-12s %s\n", "NAME", "ADMIN", "CHAT-ENABLED", "CREATED");
	for (size_t i = 0; i < n; i++) {
		if (arr)
			json_array_append_new(arr, account_json(&v[i]));
		else
			printf("%-32s %-5s %-12s %s\n", v[i].name, v[i].admin ? "yes" : "no",
			       v[i].chat_enabled ? "yes" : "no", ctl_time(v[i].created_ms));
		store_account_free(&v[i]);
	}
	free(v);
	return arr ? ctl_json_out(arr) : CTL_EXIT_OK;
}

static int user_show(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	struct store_account a = {0};
	struct user_opts o = {0};
	char *pos[1];
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_user_opt, &o, pos, 1, 1);
	if (rc == CTL_EXIT_OK)
		rc = get_account(ctx, pos[0], &a);
	if (rc != CTL_EXIT_OK)
		goto out;
	if (ctx->json) {
		rc = ctl_json_out(account_json(&a));
		goto out;
	}
	printf("name:         %s\nid:           %lld\nadmin:        %s\nchat-enabled: %s\n"
	       "created:      %s\npassword:     %s\nscram:        %s\n",
	       a.name, (long long)a.id, a.admin ? "yes" : "no", a.chat_enabled ? "yes" : "no",
	       ctl_time(a.created_ms), a.pw_hash ? "set" : "not set", a.scram ? "set" : "not set");
out:
	store_account_free(&a);
	return rc;
}

const struct ctl_cmd ctl_user_cmds[] = {
    {"add", "create an account",
     " NAME [--password-stdin] [--admin]\n"
     "DESCRIPTION\n"
     "    Create the account NAME (1-32 letters, digits, '-' or '_', starting with a\n"
     "    letter; pchat, chanserv, nickserv and server are reserved). Without\n"
     "    --password-stdin a random 20-character password is generated and printed\n"
     "    once. The password is stored as an Argon2id hash and as SCRAM-SHA-256\n"
     "    keys, with the [auth] parameters of the configuration.\n\n"
     "OPTIONS\n"
     "    --password-stdin  read the password from the first line of standard input\n"
     "    --admin           make the account an administrator\n\n"
     "EXAMPLES\n"
     "    pchatctl user add alice\n"
     "    printf '%s\\n' \"$PW\" | pchatctl user add bob --password-stdin --admin\n",
     user_add, NULL},
    {"remove", "delete an account",
     " NAME\n"
     "DESCRIPTION\n"
     "    Delete the account NAME. Its messages stay in the history.\n\n"
     "EXAMPLES\n"
     "    pchatctl user remove alice\n",
     user_remove, NULL},
    {"passwd", "set a new password",
     " NAME [--password-stdin]\n"
     "DESCRIPTION\n"
     "    Replace the password of NAME (both stored forms). Without --password-stdin\n"
     "    a random password is generated and printed once.\n\n"
     "OPTIONS\n"
     "    --password-stdin  read the password from the first line of standard input\n\n"
     "EXAMPLES\n"
     "    pchatctl user passwd alice\n"
     "    pchatctl user passwd alice --password-stdin < pw.txt\n",
     user_passwd, NULL},
    {"set", "change account flags",
     " NAME [--admin yes|no] [--chat-enabled yes|no]\n"
     "DESCRIPTION\n"
     "    Change the flags of NAME. An account with chat-enabled no cannot log in.\n\n"
     "OPTIONS\n"
     "    --admin yes|no         administrator or not\n"
     "    --chat-enabled yes|no  whether the account may log in\n\n"
     "EXAMPLES\n"
     "    pchatctl user set alice --chat-enabled no\n"
     "    pchatctl user set bob --admin yes\n",
     user_set, NULL},
    {"list", "list accounts",
     "\n"
     "DESCRIPTION\n"
     "    List every account, ordered by name, with its flags and creation time.\n"
     "    With --json: an array of objects {id, name, admin, chat_enabled,\n"
     "    created_ms, created, has_password, has_scram}.\n\n"
     "EXAMPLES\n"
     "    pchatctl user list\n"
     "    pchatctl --json user list\n",
     user_list, NULL},
    {"show", "show one account",
     " NAME\n"
     "DESCRIPTION\n"
     "    Show the account NAME. Password hashes are never printed, only whether\n"
     "    they are set.\n\n"
     "EXAMPLES\n"
     "    pchatctl user show alice\n",
     user_show, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
