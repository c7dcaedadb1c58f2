/*
 * lg_proc.c — /proc readers for server RSS and CPU time (see lg_proc.h).
 */
#include "lg_proc.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int read_file(pid_t pid, const char *name, char *buf, size_t cap)
{
	char path[64];
	ssize_t n;
	int fd, rc = -1;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto out;
	n = read(fd, buf, cap - 1);
	if (n <= 0)
		goto out_close;
	buf[n] = '\0';
	rc = 0;
out_close:
	close(fd);
out:
	return rc;
}

int lg_proc_parse_status(const char *text, int64_t *kib)
{
	const char *p = strstr(text, "\nVmRSS:");
	char *end;
	long long v;

	if (!p)
		return -1;
	v = strtoll(p + 7, &end, 10);
	if (end == p + 7 || v < 0)
		return -1;
	*kib = v;
	return 0;
}

int lg_proc_parse_stat(const char *text, uint64_t *ticks)
{
	const char *p = strrchr(text, ')');
	unsigned long long ut, st;
	int field;

	if (!p)
		return -1;
	p++;
	/* after "comm)": state is field 3; utime and stime are 14 and 15 */
	for (field = 3; field < 14 && *p; field++) {
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
	}
	if (field != 14 || sscanf(p, " %llu %llu", &ut, &st) != 2)
		return -1;
	*ticks = ut + st;
	return 0;
}

int lg_proc_rss_kib(pid_t pid, int64_t *kib)
{
	char buf[4096];

	if (read_file(pid, "status", buf, sizeof(buf)) < 0)
		return -1;
	return lg_proc_parse_status(buf, kib);
}

int lg_proc_cpu_s(pid_t pid, double *sec)
{
	char buf[1024];
	uint64_t ticks;
	long hz = sysconf(_SC_CLK_TCK);

	if (read_file(pid, "stat", buf, sizeof(buf)) < 0 || lg_proc_parse_stat(buf, &ticks) < 0)
		return -1;
	*sec = (double)ticks / (double)(hz > 0 ? hz : 100);
	return 0;
}
