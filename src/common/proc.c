/*
 * proc.c — run a program and capture what it prints (proc.h).
 */
#include "common/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Read fd to its end into out, keeping the tail when it does not fit. */
static void read_all(int fd, char *out, size_t outlen)
{
	char tmp[4096];
	size_t len = 0;
	ssize_t r;

	out[0] = '\0';
	while ((r = read(fd, tmp, sizeof tmp)) > 0 || (r < 0 && errno == EINTR)) {
		if (r <= 0)
			continue;
		if (len + (size_t)r >= outlen) {
			size_t keep = outlen / 2 < len ? outlen / 2 : len;

			memmove(out, out + len - keep, keep);
			len = keep;
		}
		if ((size_t)r >= outlen - len) { /* the chunk's end: the tail is what matters */
			size_t room = outlen - len - 1;

			memcpy(out + len, tmp + (size_t)r - room, room);
			len += room;
		} else {
			memcpy(out + len, tmp, (size_t)r);
			len += (size_t)r;
		}
		out[len] = '\0';
	}
}

int proc_capture(const char *const argv[], int flags, char *out, size_t outlen)
{
	int fds[2], status = 0;
	pid_t pid;

	if (outlen == 0 || pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		if (flags & PROC_STDERR)
			dup2(fds[1], STDERR_FILENO);
		if ((flags & PROC_CHDIR_ROOT) && chdir("/") != 0)
			_exit(126);
		if (flags & PROC_PATH)
			execvp(argv[0], (char *const *)argv);
		else
			execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return -1;
	}
	read_all(fds[0], out, outlen);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
