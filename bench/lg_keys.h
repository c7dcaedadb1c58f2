/*
 * lg_keys.h — the load generator's SCRAM key cache: one struct
 * lg_scram_key per client (client i logs in as the --sasl pattern with i),
 * kept across runs in a file (--scram-cache) and filled by deriving the
 * missing keys on every core between the warm-up pass and the timed one.
 *
 * It models what RFC 5802 §5.1 allows real clients to do: keep ClientKey
 * and ServerKey and skip PBKDF2 when the server announces the same salt
 * and iteration count again. It deliberately knows nothing of IRC.
 */
#ifndef PCHAT_BENCH_LG_KEYS_H
#define PCHAT_BENCH_LG_KEYS_H

#include "lg_scram.h"

/*
 * Read path into keys[0..n-1]. Lines are "IDX USER ITER SALT CLIENTKEY
 * SERVERKEY" (base64); a line is used only when IDX < n and USER is what
 * pattern gives for IDX. A missing file is not an error. Returns the number
 * of entries loaded, or -1 when the file cannot be read.
 */
int lg_keys_load(const char *path, const char *pattern, struct lg_scram_key *keys, int n);

/*
 * Write every derived entry of keys[0..n-1] to path (mode 0600, replaced
 * atomically). Returns 0 or -1.
 */
int lg_keys_save(const char *path, const char *pattern, const struct lg_scram_key *keys, int n);

/*
 * Derive every entry of keys[0..n-1] that is known and not derived, with
 * password, on n_threads threads (<= 0: one per online CPU). Returns the
 * number derived; *failed counts derivations that failed.
 */
int lg_keys_derive(struct lg_scram_key *keys, int n, const char *password, int n_threads,
                   int *failed);

#endif
