/*
 * topofile.c — rewriting keys of one section of the topology file in place
 * (install-mirror records the mirror, switchover swaps url and mirror),
 * atomically: a temporary file in the same directory with the original's
 * mode and owner, fsync, rename, fsync of the directory. Every line not
 * set is kept byte for byte, comments and other sections included, and the
 * file is read again right before each edit so that keys others added
 * meanwhile are kept.
 *
 * Deliberately not here: checking the topology's meaning (pool/topology.c
 * reads it; callers load it again after an edit).
 */
#include "ha/ha_int.h"

#include "common/str.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The lines of a file, each with its newline (the last one maybe without). */
struct lines {
	char **v;   /* lines */
	size_t n;   /* used */
	size_t cap; /* allocated */
};

static void lines_insert(struct lines *l, size_t at, char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	memmove(l->v + at + 1, l->v + at, (l->n - at) * sizeof(*l->v));
	l->v[at] = s;
	l->n++;
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int lines_read(const char *path, struct lines *l, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!fp)
		return ha_fail(err, errlen, HA_ESYS, "%s: %s", path, strerror(errno));
	while ((n = getline(&line, &cap, fp)) > 0)
		lines_insert(l, l->n, xstrdup(line));
	free(line);
	fclose(fp);
	return HA_OK;
}

/* Whether line is the header "[section]" (spaces around allowed). */
static bool is_header(const char *line, const char *section)
{
	const char *s = line + strspn(line, " \t");
	size_t n = strlen(section);

	if (*s != '[' || strncmp(s + 1, section, n) != 0 || s[1 + n] != ']')
		return false;
	s += n + 2;
	return s[strspn(s, " \t\r\n")] == '\0';
}

static bool is_any_header(const char *line)
{
	return line[strspn(line, " \t")] == '[';
}

/* Whether line is "key = ..." (not a comment). */
static bool is_key(const char *line, const char *key)
{
	const char *s = line + strspn(line, " \t");
	size_t n = strlen(key);

	if (strncmp(s, key, n) != 0)
		return false;
	s += n;
	s += strspn(s, " \t");
	return *s == '=' || *s == ':';
}

/* Whether line holds a setting (not blank, not a comment). */
static bool is_setting(const char *line)
{
	const char *s = line + strspn(line, " \t\r\n");

	return *s && *s != ';' && *s != '#';
}

/* "key = value\n" (with value NULL: "key\n"), allocated. */
static char *kv_line(const char *key, const char *value)
{
	size_t n = strlen(key) + (value ? strlen(value) + 3 : 0) + 2;
	char *s = xmalloc(n);

	if (value)
		snprintf(s, n, "%s = %s\n", key, value);
	else
		snprintf(s, n, "%s\n", key);
	return s;
}

/* Apply one key to the section starting at line start (its header). */
static void set_one(struct lines *l, size_t start, const struct ha_kv *kv)
{
	size_t last = start, i;
	char *nl;

	for (i = start + 1; i < l->n && !is_any_header(l->v[i]); i++) {
		if (is_key(l->v[i], kv->key)) {
			free(l->v[i]);
			if (kv->value[0]) {
				l->v[i] = kv_line(kv->key, kv->value);
			} else {
				memmove(l->v + i, l->v + i + 1, (l->n - i - 1) * sizeof(*l->v));
				l->n--;
			}
			return;
		}
		if (is_setting(l->v[i]))
			last = i;
	}
	if (!kv->value[0])
		return;
	nl = strchr(l->v[last], '\n');
	if (!nl) { /* the last line of the file had no newline */
		char *s = kv_line(l->v[last], NULL);

		free(l->v[last]);
		l->v[last] = s;
	}
	lines_insert(l, last + 1, kv_line(kv->key, kv->value));
}

/* fsync the directory holding path, so that a rename is durable. */
static int sync_dir(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;

	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

int ha_write_atomic(const char *path, const char *data, size_t len, char *err, size_t errlen)
{
	char tmp[1100];
	struct stat sb;
	int fd, rc = HA_OK;

	snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return ha_fail(err, errlen, HA_ESYS, "%s: %s", tmp, strerror(errno));
	if (stat(path, &sb) == 0) { /* keep the original's mode and owner */
		if (fchmod(fd, sb.st_mode & 07777) != 0 ||
		    (geteuid() == 0 && fchown(fd, sb.st_uid, sb.st_gid) != 0))
			rc = ha_fail(err, errlen, HA_ESYS, "%s: %s", tmp, strerror(errno));
	} else if (fchmod(fd, 0644) != 0) {
		rc = ha_fail(err, errlen, HA_ESYS, "%s: %s", tmp, strerror(errno));
	}
	if (rc == HA_OK && (write(fd, data, len) != (ssize_t)len || fsync(fd) != 0))
		rc = ha_fail(err, errlen, HA_ESYS, "%s: %s", tmp, strerror(errno));
	close(fd);
	if (rc == HA_OK && rename(tmp, path) != 0)
		rc = ha_fail(err, errlen, HA_ESYS, "rename %s: %s", path, strerror(errno));
	if (rc != HA_OK)
		unlink(tmp);
	else if (sync_dir(path) != 0)
		rc = ha_fail(err, errlen, HA_ESYS, "fsync of %s's directory: %s", path,
		             strerror(errno));
	return rc;
}

/* Join the lines into one buffer (caller frees). */
static char *lines_join(const struct lines *l, size_t *len)
{
	size_t total = 0, off = 0;
	char *buf;

	for (size_t i = 0; i < l->n; i++)
		total += strlen(l->v[i]);
	buf = xmalloc(total + 1);
	for (size_t i = 0; i < l->n; i++) {
		size_t n = strlen(l->v[i]);

		memcpy(buf + off, l->v[i], n);
		off += n;
	}
	buf[off] = '\0';
	*len = off;
	return buf;
}

int ha_topo_set(const char *path, const char *section, const struct ha_kv *kv, size_t n, char *err,
                size_t errlen)
{
	struct lines l = {0};
	size_t start, len;
	char *buf;
	int rc;

	for (size_t k = 0; k < n; k++)
		if (strpbrk(kv[k].value, "\r\n") || strpbrk(kv[k].key, "\r\n=[ "))
			return ha_fail(err, errlen, HA_EINVALID, "%s: bad value for %s", path,
			               kv[k].key);
	rc = lines_read(path, &l, err, errlen);
	if (rc != HA_OK)
		goto out_free;
	for (start = 0; start < l.n && !is_header(l.v[start], section); start++)
		;
	if (start == l.n) {
		rc = ha_fail(err, errlen, HA_EINVALID, "%s: no [%s] section", path, section);
		goto out_free;
	}
	for (size_t k = 0; k < n; k++)
		set_one(&l, start, &kv[k]);
	buf = lines_join(&l, &len);
	rc = ha_write_atomic(path, buf, len, err, errlen);
	free(buf);
out_free:
	lines_free(&l);
	return rc;
}

/* ini handler: [postgresql] bindir. */
static int bindir_handler(void *user, const char *section, const char *name, const char *value)
{
	if (strcmp(section, "postgresql") == 0 && strcmp(name, "bindir") == 0 && value[0])
		str_copy(user, value, 1024);
	return 1;
}

void ha_bindir(const char *path, char *out, size_t outlen)
{
	char v[1024] = "";

	if (path && path[0])
		ini_parse(path, bindir_handler, v);
	str_copy(out, v[0] ? v : HA_DEFAULT_BIN, outlen);
}
