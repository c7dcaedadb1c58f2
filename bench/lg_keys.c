/*
 * lg_keys.c — the SCRAM key cache: file and parallel derivation (see
 * lg_keys.h).
 *
 * Derivation is PBKDF2 with the server's iteration count (600,000 by
 * default), about 0.15 s of CPU per account, so 2,000 accounts take
 * minutes on one core: it runs on one thread per CPU, outside the event
 * loop, before the timed pass. It deliberately does not dedupe equal salts:
 * pchatd gives every account its own.
 */
#include "lg_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define MAX_THREADS 64
#define B64_MAX     128 /* base64 of a salt or key, with room */

struct derive_job {
	struct lg_scram_key *keys; /* the table */
	int n;                     /* entries */
	const char *password;      /* shared, read only */
	int next;                  /* next entry to look at (under lock) */
	int done;                  /* entries derived (under lock) */
	int failed;                /* derivations that failed (under lock) */
	pthread_mutex_t lock;      /* guards next, done, failed */
};

static void b64(const unsigned char *bin, size_t n, char *out, size_t cap)
{
	sodium_bin2base64(out, cap, bin, n, sodium_base64_VARIANT_ORIGINAL);
}

static int unb64(const char *s, unsigned char *out, size_t max, size_t *n)
{
	return sodium_base642bin(out, max, s, strlen(s), NULL, n, NULL,
	                         sodium_base64_VARIANT_ORIGINAL);
}

/* Parse one cache line into keys; 0 when used, -1 when skipped. */
static int load_line(char *line, const char *pattern, struct lg_scram_key *keys, int n)
{
	char user[64], want[64], salt[B64_MAX], ck[B64_MAX], sk[B64_MAX];
	struct lg_scram_key k;
	size_t len;
	int idx, iter;

	memset(&k, 0, sizeof(k));
	if (sscanf(line, "%d %63s %d %127s %127s %127s", &idx, user, &iter, salt, ck, sk) != 6)
		return -1;
	if (idx < 0 || idx >= n || iter <= 0)
		return -1;
	snprintf(want, sizeof(want), pattern, idx);
	if (strcmp(user, want) != 0)
		return -1;
	if (unb64(salt, k.salt, sizeof(k.salt), &k.salt_len) != 0 ||
	    unb64(ck, k.client_key, sizeof(k.client_key), &len) != 0 || len != LG_SCRAM_KEY_LEN ||
	    unb64(sk, k.server_key, sizeof(k.server_key), &len) != 0 || len != LG_SCRAM_KEY_LEN)
		return -1;
	k.iterations = iter;
	k.known = k.derived = true;
	keys[idx] = k;
	return 0;
}

int lg_keys_load(const char *path, const char *pattern, struct lg_scram_key *keys, int n)
{
	char line[512];
	FILE *f = fopen(path, "r");
	int loaded = 0;

	if (!f)
		return errno == ENOENT ? 0 : -1;
	while (fgets(line, sizeof(line), f)) {
		if (load_line(line, pattern, keys, n) == 0)
			loaded++;
	}
	fclose(f);
	return loaded;
}

static void save_one(FILE *f, const char *pattern, const struct lg_scram_key *k, int idx)
{
	char user[64], salt[B64_MAX], ck[B64_MAX], sk[B64_MAX];

	snprintf(user, sizeof(user), pattern, idx);
	b64(k->salt, k->salt_len, salt, sizeof(salt));
	b64(k->client_key, LG_SCRAM_KEY_LEN, ck, sizeof(ck));
	b64(k->server_key, LG_SCRAM_KEY_LEN, sk, sizeof(sk));
	fprintf(f, "%d %s %d %s %s %s\n", idx, user, k->iterations, salt, ck, sk);
}

int lg_keys_save(const char *path, const char *pattern, const struct lg_scram_key *keys, int n)
{
	char tmp[4096];
	FILE *f;
	int i, fd, rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		goto out_unlink;
	}
	for (i = 0; i < n; i++) {
		if (keys[i].derived)
			save_one(f, pattern, &keys[i], i);
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		goto out_unlink;
	rc = 0;
	goto out;
out_unlink:
	unlink(tmp);
out:
	return rc;
}

/* The next entry that needs deriving, or -1; counts the previous result. */
static int next_entry(struct derive_job *j, int prev_rc)
{
	int i = -1;

	pthread_mutex_lock(&j->lock);
	if (prev_rc == 0)
		j->done++;
	else if (prev_rc < 0)
		j->failed++;
	while (j->next < j->n) {
		struct lg_scram_key *k = &j->keys[j->next++];

		if (k->known && !k->derived) {
			i = (int)(k - j->keys);
			break;
		}
	}
	pthread_mutex_unlock(&j->lock);
	return i;
}

static void *derive_thread(void *arg)
{
	struct derive_job *j = arg;
	int i, rc = 1; /* 1: nothing to count yet */

	while ((i = next_entry(j, rc)) >= 0)
		rc = lg_scram_derive(&j->keys[i], j->password);
	return NULL;
}

int lg_keys_derive(struct lg_scram_key *keys, int n, const char *password, int n_threads,
                   int *failed)
{
	pthread_t th[MAX_THREADS];
	struct derive_job j = {.keys = keys, .n = n, .password = password};
	int i, started = 0;

	if (n_threads <= 0)
		n_threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (n_threads < 1)
		n_threads = 1;
	if (n_threads > MAX_THREADS)
		n_threads = MAX_THREADS;
	pthread_mutex_init(&j.lock, NULL);
	for (i = 0; i < n_threads; i++) {
		if (pthread_create(&th[i], NULL, derive_thread, &j) != 0)
			break;
		started++;
	}
	if (started == 0)
		derive_thread(&j); /* no threads: do it here */
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&j.lock);
	*failed = j.failed;
	return j.done;
}
