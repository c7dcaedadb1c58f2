/*
 * proc.h — run a program and capture what it prints (pchatctl's commands
 * that drive PostgreSQL's programs and other pchatctl commands).
 *
 * Deliberately not here: deciding what to run, or as whom (the callers
 * build argv, e.g. with runuser).
 */
#ifndef PCHAT_COMMON_PROC_H
#define PCHAT_COMMON_PROC_H

#include <stddef.h>

enum proc_flags {
	PROC_STDERR = 1, /* capture stderr too (else it is inherited) */
	PROC_CHDIR_ROOT =
	    2,         /* the child runs in "/" (the caller's directory may be closed to it) */
	PROC_PATH = 4, /* argv[0] without a '/' is looked up in PATH */
};

/*
 * Run argv (NULL-terminated) and wait for it. What it prints goes into out
 * (outlen bytes, NUL-terminated; when it prints more, the tail is kept:
 * errors come last). Returns its exit status (0..255), or -1 when it could
 * not be started or was killed by a signal (errno set for the former).
 */
int proc_capture(const char *const argv[], int flags, char *out, size_t outlen);

#endif
