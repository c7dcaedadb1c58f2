/*
 * topology.c — reading the topology file (inih), every error naming the
 * file and the line.
 *
 * Sections: [pool], [server NAME] (one per server), [database primary],
 * [database backup] (datacenter, url, mirror; data_dir, mirror_data_dir,
 * mirror_lost, mirror_lost_after for src/ha), [logship], [postgresql]
 * (bindir). Lines are read through our own reader so that a section is
 * known even without keys and the handler knows its line (as in
 * core/config.c). The checks of the whole file run after the parse: at
 * least one server; both databases with a data center and a URL, in two
 * different data centers; every server in one of those two data centers.
 *
 * Deliberately not here: connecting to the databases or deciding which one
 * is in use (pool.c), and the log-shipping jobs that use [logship]
 * (pool/logship.c, ctl/logship.c).
 */
#include "pool/topology.h"

#include "common/str.h"

#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* State of one topo_load. */
struct topo_parse {
	struct topology *t; /* filled in place */
	FILE *fp;           /* the open file */
	int line;           /* number of the line last read */
	int pool_line;      /* line of [pool], 0 = none */
	int logship_line;   /* line of [logship], 0 = none */
	int pg_line;        /* line of [postgresql], 0 = none */
	bool failed;        /* err holds the first error */
	char *err;          /* caller's buffer */
	size_t errlen;      /* its size */
};

static void topo_fail(struct topo_parse *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record the first error as "FILE:LINE: message" (or "FILE: message" for line 0). */
static void topo_fail(struct topo_parse *ps, int line, const char *fmt, ...)
{
	size_t len = 0;
	va_list ap;

	if (ps->failed)
		return;
	ps->failed = true;
	if (ps->errlen == 0)
		return;
	if (line > 0)
		str_appendf(ps->err, ps->errlen, &len, "%s:%d: ", ps->t->path, line);
	else
		str_appendf(ps->err, ps->errlen, &len, "%s: ", ps->t->path);
	va_start(ap, fmt);
	vsnprintf(ps->err + len, ps->errlen - len, fmt, ap);
	va_end(ap);
}

bool topo_name_ok(const char *name)
{
	size_t n = strnlen(name, TOPO_NAME_MAX);

	if (n == 0 || n >= TOPO_NAME_MAX)
		return false;
	return str_plain_name(name, n);
}

const struct topo_server *topo_server(const struct topology *t, const char *name)
{
	for (int i = 0; i < t->n_servers; i++)
		if (str_ieq(t->servers[i].name, name))
			return &t->servers[i];
	return NULL;
}

const struct topo_db *topo_db(const struct topology *t, const char *which)
{
	if (strcmp(which, "primary") == 0)
		return &t->primary;
	if (strcmp(which, "backup") == 0)
		return &t->backup;
	return NULL;
}

/* Copy a name value into out, or record an error. */
static int set_name(struct topo_parse *ps, const char *sec, const char *key, const char *v,
                    char *out)
{
	if (topo_name_ok(v)) {
		str_copy(out, v, TOPO_NAME_MAX);
		return 0;
	}
	topo_fail(ps, ps->line,
	          "[%s] %s: expected a name of 1 to %d letters, digits, '.', '-' or '_'", sec, key,
	          TOPO_NAME_MAX - 1);
	return -1;
}

/* Copy a path or URL value into out (CONFIG_PATH_MAX bytes), or record an error. */
static int set_text(struct topo_parse *ps, const char *sec, const char *key, const char *v,
                    char *out)
{
	size_t n = strlen(v);

	if (n > 0 && n < CONFIG_PATH_MAX && !str_has_crlfnul(v, n)) {
		str_copy(out, v, CONFIG_PATH_MAX);
		return 0;
	}
	topo_fail(ps, ps->line, "[%s] %s: expected a non-empty value shorter than %d bytes", sec,
	          key, CONFIG_PATH_MAX);
	return -1;
}

/* The mirror-lost keys of a [database ...] section (src/ha). */
static int set_mirror_lost(struct topo_parse *ps, const char *sec, struct topo_db *db,
                           const char *key, const char *v)
{
	int64_t secs;

	if (strcmp(key, "mirror_lost") == 0) {
		if (strcmp(v, "block") == 0 || strcmp(v, "degrade") == 0) {
			db->mirror_lost = v[0] == 'b' ? TOPO_MIRROR_BLOCK : TOPO_MIRROR_DEGRADE;
			return 0;
		}
		topo_fail(ps, ps->line, "[%s] mirror_lost: expected block or degrade", sec);
		return -1;
	}
	if (config_parse_duration(v, 1, 86400, &secs) == 0) {
		db->mirror_lost_after = (int)secs;
		return 0;
	}
	topo_fail(ps, ps->line, "[%s] %s: expected a duration from 1s to 1d (10s, 2m)", sec, key);
	return -1;
}

static int set_database(struct topo_parse *ps, const char *sec, struct topo_db *db, const char *key,
                        const char *v)
{
	if (strcmp(key, "datacenter") == 0)
		return set_name(ps, sec, key, v, db->datacenter);
	if (strcmp(key, "url") == 0)
		return set_text(ps, sec, key, v, db->url);
	if (strcmp(key, "mirror") == 0)
		return set_text(ps, sec, key, v, db->mirror);
	if (strcmp(key, "data_dir") == 0)
		return set_text(ps, sec, key, v, db->data_dir);
	if (strcmp(key, "mirror_data_dir") == 0)
		return set_text(ps, sec, key, v, db->mirror_data_dir);
	if (strcmp(key, "mirror_lost") == 0 || strcmp(key, "mirror_lost_after") == 0)
		return set_mirror_lost(ps, sec, db, key, v);
	topo_fail(ps, ps->line,
	          "unknown key '%s' in [%s] (datacenter, url, mirror, data_dir, mirror_data_dir, "
	          "mirror_lost, mirror_lost_after)",
	          key, sec);
	return -1;
}

/* The duration keys of [logship]: name, field offset, range in seconds. */
static const struct {
	const char *key; /* key name */
	size_t off;      /* offsetof(struct topo_logship, ...) */
	int64_t min;     /* smallest value, seconds */
	int64_t max;     /* largest value, seconds */
} logship_secs[] = {
    {"backup_interval", offsetof(struct topo_logship, backup_interval), 1, 86400},
    {"backup_threshold", offsetof(struct topo_logship, backup_threshold), 1, 30 * 86400},
    {"restore_threshold", offsetof(struct topo_logship, restore_threshold), 1, 30 * 86400},
    {"retention", offsetof(struct topo_logship, retention), 3600, 3650 * 86400},
};

static int set_logship(struct topo_parse *ps, const char *key, const char *v)
{
	struct topo_logship *l = &ps->t->logship;
	int64_t secs;

	if (strcmp(key, "share") == 0)
		return set_text(ps, "logship", key, v, l->share);
	if (strcmp(key, "copy_destination") == 0)
		return set_text(ps, "logship", key, v, l->copy_destination);
	for (size_t i = 0; i < sizeof logship_secs / sizeof logship_secs[0]; i++) {
		if (strcmp(key, logship_secs[i].key) != 0)
			continue;
		if (config_parse_duration(v, logship_secs[i].min, logship_secs[i].max, &secs) ==
		    0) {
			*(int *)((char *)l + logship_secs[i].off) = (int)secs;
			return 0;
		}
		topo_fail(
		    ps, ps->line,
		    "[logship] %s: expected a duration from %llds to %llds (90s, 15m, 2h, 7d)", key,
		    (long long)logship_secs[i].min, (long long)logship_secs[i].max);
		return -1;
	}
	topo_fail(ps, ps->line, "unknown key '%s' in [logship]", key);
	return -1;
}

static int topo_handler(void *user, const char *section, const char *name, const char *value)
{
	struct topo_parse *ps = user;
	struct topology *t = ps->t;

	if (ps->failed)
		return 1;
	if (strcmp(section, "pool") == 0) {
		if (strcmp(name, "name") == 0)
			return set_name(ps, section, name, value, t->name) == 0;
		topo_fail(ps, ps->line, "unknown key '%s' in [pool] (name)", name);
		return 0;
	}
	if (strncmp(section, "server ", 7) == 0) {
		/* the section line registered it: it is the last server */
		if (strcmp(name, "datacenter") == 0)
			return set_name(ps, section, name, value,
			                t->servers[t->n_servers - 1].datacenter) == 0;
		topo_fail(ps, ps->line, "unknown key '%s' in [%s] (datacenter)", name, section);
		return 0;
	}
	if (strcmp(section, "database primary") == 0)
		return set_database(ps, section, &t->primary, name, value) == 0;
	if (strcmp(section, "database backup") == 0)
		return set_database(ps, section, &t->backup, name, value) == 0;
	if (strcmp(section, "logship") == 0)
		return set_logship(ps, name, value) == 0;
	if (strcmp(section, "postgresql") == 0) {
		if (strcmp(name, "bindir") == 0)
			return set_text(ps, section, name, value, t->pg_bindir) == 0;
		topo_fail(ps, ps->line, "unknown key '%s' in [postgresql] (bindir)", name);
		return 0;
	}
	topo_fail(ps, ps->line, "'%s' is outside any section", name);
	return 0;
}

/* A [server NAME] line: a new server. */
static void add_server(struct topo_parse *ps, const char *name)
{
	struct topology *t = ps->t;

	if (!topo_name_ok(name)) {
		topo_fail(ps, ps->line,
		          "[server %s]: a server name is 1 to %d letters, digits, '.', '-' or '_'",
		          name, TOPO_NAME_MAX - 1);
		return;
	}
	if (topo_server(t, name)) {
		topo_fail(ps, ps->line, "[server %s]: server listed twice (first on line %d)", name,
		          topo_server(t, name)->line);
		return;
	}
	if (t->n_servers == TOPO_MAX_SERVERS) {
		topo_fail(ps, ps->line, "more than %d servers", TOPO_MAX_SERVERS);
		return;
	}
	str_copy(t->servers[t->n_servers].name, name, TOPO_NAME_MAX);
	t->servers[t->n_servers++].line = ps->line;
}

/* Record the line of a section that must appear once; error when it repeats. */
static void once(struct topo_parse *ps, int *line, const char *name)
{
	if (*line)
		topo_fail(ps, ps->line, "[%s] appears twice (first on line %d)", name, *line);
	*line = ps->line;
}

/* A "[...]" line: known sections are registered here, so empty ones count. */
static void section_line(struct topo_parse *ps, const char *line)
{
	const char *s = line + strspn(line, " \t");
	const char *end;
	char name[TOPO_NAME_MAX + 16];
	size_t n;

	if (*s != '[' || !(end = strchr(s, ']')))
		return; /* not a section, or inih reports the syntax error */
	n = (size_t)(end - s - 1);
	if (n >= sizeof name) {
		topo_fail(ps, ps->line, "section name too long");
		return;
	}
	memcpy(name, s + 1, n);
	name[n] = '\0';
	if (strcmp(name, "pool") == 0)
		once(ps, &ps->pool_line, name);
	else if (strncmp(name, "server ", 7) == 0)
		add_server(ps, name + 7);
	else if (strcmp(name, "database primary") == 0)
		once(ps, &ps->t->primary.line, name);
	else if (strcmp(name, "database backup") == 0)
		once(ps, &ps->t->backup.line, name);
	else if (strcmp(name, "logship") == 0)
		once(ps, &ps->logship_line, name);
	else if (strcmp(name, "postgresql") == 0)
		once(ps, &ps->pg_line, name);
	else
		topo_fail(ps, ps->line,
		          "unknown section [%s] (pool, server NAME, database primary, database "
		          "backup, logship, postgresql)",
		          name);
}

/* ini_reader: fgets that counts lines, refuses cut lines and sees sections. */
static char *topo_reader(char *str, int num, void *stream)
{
	struct topo_parse *ps = stream;
	int n;

	if (ps->failed || (n = config_read_line(str, num, ps->fp, &ps->line)) == CONFIG_LINE_END)
		return NULL;
	if (n == CONFIG_LINE_LONG) {
		topo_fail(ps, ps->line, "line longer than %d bytes", num - 2);
		return NULL;
	}
	section_line(ps, str);
	return ps->failed ? NULL : str;
}

static void check_db(struct topo_parse *ps, const struct topo_db *db, const char *which)
{
	if (!db->line)
		topo_fail(ps, 0, "[database %s] is missing", which);
	else if (!db->datacenter[0])
		topo_fail(ps, db->line, "[database %s]: datacenter is missing", which);
	else if (!db->url[0])
		topo_fail(ps, db->line, "[database %s]: url is missing", which);
}

/* The checks no single key can make. */
static void check_whole(struct topo_parse *ps)
{
	struct topology *t = ps->t;

	if (!ps->pool_line || !t->name[0])
		topo_fail(ps, ps->pool_line, "[pool] name is missing");
	if (t->n_servers == 0)
		topo_fail(ps, 0, "no [server NAME] section: a pool has at least one server");
	check_db(ps, &t->primary, "primary");
	check_db(ps, &t->backup, "backup");
	if (!ps->failed && str_ieq(t->primary.datacenter, t->backup.datacenter))
		topo_fail(ps, t->backup.line,
		          "[database backup]: data center %s is the primary's: the backup must be "
		          "in another data center",
		          t->backup.datacenter);
	for (int i = 0; i < t->n_servers && !ps->failed; i++) {
		const struct topo_server *s = &t->servers[i];

		if (!s->datacenter[0])
			topo_fail(ps, s->line, "[server %s]: datacenter is missing", s->name);
		else if (!str_ieq(s->datacenter, t->primary.datacenter) &&
		         !str_ieq(s->datacenter, t->backup.datacenter))
			topo_fail(ps, s->line,
			          "[server %s]: data center %s has no database (primary: %s, "
			          "backup: %s)",
			          s->name, s->datacenter, t->primary.datacenter,
			          t->backup.datacenter);
	}
}

int topo_load(struct topology *t, const char *path, char *err, size_t errlen)
{
	struct topo_parse ps = {.t = t, .err = err, .errlen = errlen};
	int r, rc = -1;

	memset(t, 0, sizeof(*t));
	str_copy(t->path, path, sizeof t->path);
	t->logship.backup_interval = 60;
	t->logship.backup_threshold = 5 * 60;
	t->logship.restore_threshold = 15 * 60;
	t->logship.retention = 7 * 86400;
	str_copy(t->pg_bindir, TOPO_PG_BINDIR, sizeof t->pg_bindir);
	t->primary.mirror_lost_after = 10;
	t->backup.mirror_lost_after = 10;
	if (errlen > 0)
		err[0] = '\0';
	ps.fp = fopen(path, "r");
	if (!ps.fp) {
		snprintf(err, errlen, "%s: cannot open the topology file: %s", path,
		         strerror(errno));
		goto out;
	}
	r = ini_parse_stream(topo_reader, &ps, topo_handler, &ps);
	if (!ps.failed && r > 0)
		topo_fail(&ps, r, "syntax error: expected 'key = value' or '[section]'");
	else if (!ps.failed && (r < 0 || ferror(ps.fp)))
		topo_fail(&ps, 0, "cannot read the file");
	if (!ps.failed)
		check_whole(&ps);
	rc = ps.failed ? -1 : 0;
	fclose(ps.fp);
out:
	return rc;
}
