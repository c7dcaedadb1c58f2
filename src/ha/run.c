/*
 * run.c — PostgreSQL's programs (pg_ctl, pg_basebackup, pg_controldata,
 * pg_rewind) run as the owner of the data directory they act on, and the
 * small files of a data directory (standby.signal, postgresql.auto.conf)
 * written with that owner.
 *
 * PostgreSQL refuses to run as root: when we are root the program runs
 * through runuser -u OWNER. Deliberately not here: deciding what to run
 * (mirror.c, switchover.c).
 */
#include "ha/ha_int.h"

#include "common/proc.h"
#include "common/str.h"
#include "common/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUN_MAX_ARGS 32

/* The owner's name of path, or of its parent when path does not exist. */
static int owner_name(const char *path, char *out, size_t outlen, uid_t *uid, gid_t *gid)
{
	char parent[1024];
	struct stat sb;
	struct passwd *pw;
	char *slash;

	if (stat(path, &sb) != 0) {
		str_copy(parent, path, sizeof parent);
		slash = strrchr(parent, '/');
		if (slash == parent)
			slash[1] = '\0';
		else if (slash)
			*slash = '\0';
		else
			str_copy(parent, ".", sizeof parent);
		if (stat(parent, &sb) != 0)
			return -1;
	}
	pw = getpwuid(sb.st_uid);
	if (!pw)
		return -1;
	str_copy(out, pw->pw_name, outlen);
	*uid = sb.st_uid;
	*gid = sb.st_gid;
	return 0;
}

/* Fill argv: [runuser -u OWNER --] bindir/prog args... */
static int build_argv(const char *bindir, const char *owner, const char *prog,
                      const char *const *args, char *path, size_t pathlen, const char **argv)
{
	int n = 0;

	snprintf(path, pathlen, "%s/%s", bindir, prog);
	if (geteuid() == 0 && owner[0] && strcmp(owner, "root") != 0) {
		argv[n++] = "runuser";
		argv[n++] = "-u";
		argv[n++] = owner;
		argv[n++] = "--";
	}
	argv[n++] = path;
	for (int i = 0; args[i] && n < RUN_MAX_ARGS - 1; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return n;
}

int ha_run(const char *bindir, const char *owner_of, const char *prog, const char *const *args,
           char *out, size_t outlen, char *err, size_t errlen)
{
	char owner[64] = "", path[1024];
	const char *argv[RUN_MAX_ARGS];
	uid_t uid;
	gid_t gid;
	int status;

	if (owner_of && owner_name(owner_of, owner, sizeof owner, &uid, &gid) != 0)
		return ha_fail(err, errlen, HA_ESYS, "%s: cannot find its owner: %s", owner_of,
		               strerror(errno));
	build_argv(bindir, owner, prog, args, path, sizeof path, argv);
	/* the caller's directory may be closed to the owner */
	status = proc_capture(argv, PROC_STDERR | PROC_CHDIR_ROOT | PROC_PATH, out, outlen);
	if (status < 0)
		return ha_fail(err, errlen, HA_ESYS, "cannot run %s: %s", path, strerror(errno));
	if (status == 0)
		return HA_OK;
	return ha_fail(err, errlen, HA_ESYS, "%s failed (status %d): %s", path, status, out);
}

bool ha_dir_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool empty = true;

	if (!d)
		return errno == ENOENT;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = false;
	closedir(d);
	return empty;
}

int ha_write_owned(const char *path, const char *owner_of, const char *data, size_t len, char *err,
                   size_t errlen)
{
	char owner[64];
	uid_t uid;
	gid_t gid;
	int fd, rc = HA_OK;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return ha_fail(err, errlen, HA_ESYS, "%s: %s", path, strerror(errno));
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) != 0)
		rc = ha_fail(err, errlen, HA_ESYS, "%s: %s", path, strerror(errno));
	if (rc == HA_OK && geteuid() == 0 &&
	    owner_name(owner_of, owner, sizeof owner, &uid, &gid) == 0 && fchown(fd, uid, gid) != 0)
		rc = ha_fail(err, errlen, HA_ESYS, "%s: chown: %s", path, strerror(errno));
	close(fd);
	return rc;
}

/* Whether line sets one of keys ("key = ..." or "key=..."). */
static bool sets_key(const char *line, const char *const *keys)
{
	for (int i = 0; keys[i]; i++) {
		size_t n = strlen(keys[i]);

		if (strncmp(line, keys[i], n) == 0 && (line[n] == ' ' || line[n] == '='))
			return true;
	}
	return false;
}

int ha_auto_conf(const char *datadir, const char *const *keys, const char *text, char *err,
                 size_t errlen)
{
	char path[1100], line[4096];
	char *buf = NULL;
	size_t len = 0;
	FILE *in, *mem;
	int rc;

	snprintf(path, sizeof path, "%s/postgresql.auto.conf", datadir);
	mem = open_memstream(&buf, &len);
	if (!mem)
		return ha_fail(err, errlen, HA_ESYS, "open_memstream: %s", strerror(errno));
	in = fopen(path, "r");
	while (in && fgets(line, sizeof line, in))
		if (!sets_key(line, keys))
			fputs(line, mem);
	if (in)
		fclose(in);
	fputs(text, mem);
	fclose(mem);
	rc = ha_write_owned(path, datadir, buf, len, err, errlen);
	free(buf);
	return rc;
}

/* The value after "label:" in pg_controldata's output. */
static void control_field(const char *out, const char *label, char *val, size_t vallen)
{
	const char *p = strstr(out, label);
	size_t n;

	val[0] = '\0';
	if (!p)
		return;
	p += strlen(label);
	p += strspn(p, " \t");
	n = strcspn(p, "\n");
	if (n >= vallen)
		n = vallen - 1;
	memcpy(val, p, n);
	val[n] = '\0';
}

int ha_controldata(const char *bindir, const char *datadir, char *lsn, size_t lsnlen, char *state,
                   size_t statelen, char *err, size_t errlen)
{
	const char *args[] = {"-D", datadir, NULL};
	char *out = xmalloc(16384);
	int rc;

	rc = ha_run(bindir, datadir, "pg_controldata", args, out, 16384, err, errlen);
	if (rc == HA_OK) {
		control_field(out, "Latest checkpoint location:", lsn, lsnlen);
		control_field(out, "Database cluster state:", state, statelen);
		if (!lsn[0])
			rc = ha_fail(err, errlen, HA_ESYS, "pg_controldata -D %s: no checkpoint",
			             datadir);
	}
	free(out);
	return rc;
}

int ha_pg_start(const char *bindir, const char *datadir, const char *host, int port, bool wait,
                char *err, size_t errlen)
{
	char opts[1400], log[1100], out[4096], sockdir[1100];
	const char *args[] = {"-D", datadir, "-l",    log, wait ? "-w" : "-W", "-t", "60",
	                      "-o", opts,    "start", NULL};

	/* the socket beside, not inside, the data directory: pg_rewind copies every file there */
	str_copy(sockdir, datadir, sizeof sockdir);
	snprintf(log, sizeof log, "%s/log", datadir);
	snprintf(opts, sizeof opts, "-p %d -k %s -c listen_addresses=%s", port, dirname(sockdir),
	         host);
	return ha_run(bindir, datadir, "pg_ctl", args, out, sizeof out, err, errlen);
}

int ha_pg_stop(const char *bindir, const char *datadir, char *err, size_t errlen)
{
	const char *args[] = {"-D", datadir, "-m", "fast", "-w", "-t", "60", "stop", NULL};
	char out[4096];

	return ha_run(bindir, datadir, "pg_ctl", args, out, sizeof out, err, errlen);
}

bool ha_pg_running(const char *bindir, const char *datadir)
{
	const char *args[] = {"-D", datadir, "status", NULL};
	char out[2048], err[256];

	return ha_run(bindir, datadir, "pg_ctl", args, out, sizeof out, err, sizeof err) == HA_OK;
}

int ha_move_aside(const char *dir, char *aside, size_t asidelen, char *err, size_t errlen)
{
	aside[0] = '\0';
	if (ha_dir_empty(dir))
		return HA_OK;
	snprintf(aside, asidelen, "%s.old-%lld", dir, (long long)time(NULL));
	if (rename(dir, aside) != 0)
		return ha_fail(err, errlen, HA_ESYS, "cannot move %s aside to %s: %s", dir, aside,
		               strerror(errno));
	return HA_OK;
}
