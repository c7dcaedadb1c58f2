/*
 * addin.c — pchatctl addin add|list|remove: named web add-ins (an http or
 * https URL) that a room can show beside its conversation (Lync's
 * Persistent Chat add-ins). A room names one with 'room set --addin'.
 *
 * Deliberately not here: fetching or checking the URL (pchat only hands it
 * to clients).
 */
#include "ctl/ctl.h"

#include "chat/names.h"
#include "common/str.h"
#include "store/store.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define URL_MAX 2048 /* bytes of an add-in URL */

static int on_no_opt(struct ctl *ctx, void *arg, int val, const char *optarg)
{
	(void)arg;
	(void)val;
	(void)optarg;
	return ctl_usage(ctx, "unknown option");
}

static int check_addin_name(const struct ctl *ctx, const char *name)
{
	if (!names_room_valid(name))
		return ctl_fail(
		    ctx, CTL_EXIT_INVALID,
		    "invalid add-in name '%s': use 1-50 letters, digits, '-', '_' or '.'", name);
	return CTL_EXIT_OK;
}

/* http:// or https://, a host, printable ASCII without spaces. */
static bool url_valid(const char *u)
{
	size_t n = strlen(u), skip;

	if (strncasecmp(u, "https://", 8) == 0)
		skip = 8;
	else if (strncasecmp(u, "http://", 7) == 0)
		skip = 7;
	else
		return false;
	if (n > URL_MAX || n == skip || u[skip] == '/' || u[skip] == ':')
		return false;
	for (const char *p = u; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return false;
	return true;
}

static int addin_add(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	struct store_addin a = {0};
	char *pos[2];
	int rc, src;

	rc = ctl_parse(ctx, argc, argv, opts, on_no_opt, NULL, pos, 2, 2);
	if (rc == CTL_EXIT_OK)
		rc = check_addin_name(ctx, pos[0]);
	if (rc == CTL_EXIT_OK && !url_valid(pos[1]))
		rc = ctl_fail(ctx, CTL_EXIT_INVALID,
		              "invalid URL '%s': give an http:// or https:// URL with a host, "
		              "without spaces, at most %d bytes",
		              pos[1], URL_MAX);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc == CTL_EXIT_OK)
		rc = ctl_begin(ctx);
	if (rc != CTL_EXIT_OK)
		return rc;
	str_copy(a.name, pos[0], sizeof a.name);
	a.url = pos[1];
	src = store_addin_add(ctx->conn, &a);
	if (src == STORE_EEXIST)
		rc = ctl_fail(ctx, CTL_EXIT_EXISTS,
		              "add-in '%s' already exists (remove it first to change its URL)",
		              a.name);
	else if (src != STORE_OK)
		rc = ctl_fail(ctx, ctl_exit_for_store(src), "cannot add add-in '%s': %s", a.name,
		              store_strerror(src));
	if (rc == CTL_EXIT_OK)
		rc = ctl_change(ctx, "addin", a.name, "add", json_pack("{s:s}", "url", a.url));
	rc = ctl_end(ctx, rc);
	if (rc == CTL_EXIT_OK && ctx->json)
		return ctl_json_out(json_pack("{s:s, s:s}", "name", a.name, "url", a.url));
	if (rc == CTL_EXIT_OK)
		printf("created add-in '%s' (%s); attach it with 'pchatctl room set ROOM --addin "
		       "%s'\n",
		       a.name, a.url, a.name);
	return rc;
}

static int addin_list(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	struct store_addin *v = NULL;
	json_t *arr = NULL;
	size_t n = 0;
	int rc;

	rc = ctl_parse(ctx, argc, argv, opts, on_no_opt, NULL, NULL, 0, 0);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc != CTL_EXIT_OK)
		return rc;
	rc = store_addin_list(ctx->conn, &v, &n);
	if (rc != STORE_OK)
		return ctl_fail(ctx, ctl_exit_for_store(rc), "cannot list add-ins: %s",
		                store_strerror(rc));
	if (ctx->json)
		arr = json_array();
	else
		printf("%-24s %s\n", "ADDIN", "URL");
	for (size_t i = 0; i < n; i++) {
		if (arr)
			json_array_append_new(
			    arr, json_pack("{s:s, s:s}", "name", v[i].name, "url", v[i].url));
		else
			printf("%-24s %s\n", v[i].name, v[i].url);
		store_addin_free(&v[i]);
	}
	free(v);
	return arr ? ctl_json_out(arr) : CTL_EXIT_OK;
}

static int addin_remove(struct ctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	char *pos[1];
	int rc, src;

	rc = ctl_parse(ctx, argc, argv, opts, on_no_opt, NULL, pos, 1, 1);
	if (rc == CTL_EXIT_OK)
		rc = check_addin_name(ctx, pos[0]);
	if (rc == CTL_EXIT_OK)
		rc = ctl_store(ctx);
	if (rc == CTL_EXIT_OK)
		rc = ctl_begin(ctx);
	if (rc != CTL_EXIT_OK)
		return rc;
	src = store_addin_remove(ctx->conn, pos[0]);
	if (src == STORE_ENOTFOUND)
		rc = ctl_fail(ctx, CTL_EXIT_NOTFOUND, "no add-in '%s' (see 'pchatctl addin list')",
		              pos[0]);
	else if (src == STORE_ENOTEMPTY)
		rc =
		    ctl_fail(ctx, CTL_EXIT_INUSE,
		             "add-in '%s' is attached to a room (detach it with 'pchatctl room set "
		             "ROOM --addin \"\"')",
		             pos[0]);
	else if (src != STORE_OK)
		rc = ctl_fail(ctx, ctl_exit_for_store(src), "cannot remove add-in '%s': %s", pos[0],
		              store_strerror(src));
	if (rc == CTL_EXIT_OK)
		rc = ctl_change(ctx, "addin", pos[0], "remove", NULL);
	rc = ctl_end(ctx, rc);
	if (rc == CTL_EXIT_OK && ctx->json)
		return ctl_json_out(json_pack("{s:s, s:b}", "name", pos[0], "removed", 1));
	if (rc == CTL_EXIT_OK)
		printf("removed add-in '%s'\n", pos[0]);
	return rc;
}

const struct ctl_cmd ctl_addin_cmds[] = {
    {"add", "register an add-in",
     " NAME URL\n"
     "DESCRIPTION\n"
     "    Register the add-in NAME (1-50 letters, digits, '-', '_' or '.') at URL,\n"
     "    an http:// or https:// address (at most 2048 bytes, no spaces). Rooms\n"
     "    attach it with 'pchatctl room set ROOM --addin NAME'.\n\n"
     "EXAMPLES\n"
     "    pchatctl addin add quotes https://intranet.example.com/quotes\n",
     addin_add, NULL},
    {"list", "list add-ins",
     "\n"
     "DESCRIPTION\n"
     "    List every add-in. With --json: an array of objects {name, url}.\n\n"
     "EXAMPLES\n"
     "    pchatctl addin list\n",
     addin_list, NULL},
    {"remove", "delete an add-in",
     " NAME\n"
     "DESCRIPTION\n"
     "    Delete the add-in NAME. One still attached to a room is refused with\n"
     "    exit status 8: detach it first.\n\n"
     "EXAMPLES\n"
     "    pchatctl addin remove quotes\n",
     addin_remove, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
