/*
 * password.h — account credentials.
 *
 * Two stored forms per account, both derived from the password when it is
 * set (pchatctl user add/passwd):
 *  - an Argon2id hash (libsodium crypto_pwhash_str) checked for SASL PLAIN;
 *  - SCRAM-SHA-256 keys (RFC 5802, RFC 7677): salt, iterations, StoredKey,
 *    ServerKey. Verifying a SCRAM login costs the server two HMACs: the
 *    PBKDF2 work runs on the client, which matters when thousands of clients
 *    log in again at once after a failover.
 * Never logs anything; callers never log passwords either.
 */
#ifndef PCHAT_CHAT_PASSWORD_H
#define PCHAT_CHAT_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

struct password_params {
	int argon2_opslimit;     /* Argon2id passes (OWASP: 2 with 19 MiB) */
	int argon2_memlimit_kib; /* Argon2id memory in KiB */
	int scram_iterations;    /* PBKDF2-HMAC-SHA-256 iterations (>= 4096) */
};

/* OWASP defaults: Argon2id m=19 MiB t=2, PBKDF2-SHA-256 600,000 iterations. */
void password_params_default(struct password_params *p);

/*
 * Derive both stored forms. On success returns 0 and sets *argon2 and
 * *scram to new strings (caller frees). -1 on failure (out of memory in
 * libsodium). Slow by design: never on the event loop.
 */
int password_derive(const char *password, const struct password_params *p, char **argon2,
                    char **scram);

/* Check a password against an Argon2id string. Slow: never on the loop. */
bool password_verify(const char *argon2, const char *password);

/* Whether a password is acceptable (1..512 bytes, no NUL/CR/LF). */
bool password_acceptable(const char *password);

/*
 * SCRAM-SHA-256 server side of one authentication exchange.
 *
 *   s = scram_new();
 *   scram_client_first(s, msg, len, user, sizeof user)   -> who is it
 *   (look the account up; stored = its scram string, or NULL if unknown)
 *   scram_server_first(s, stored, &out)                  -> send out
 *   scram_client_final(s, msg, len, &out)                -> 0: send out, success
 *   scram_free(s);
 *
 * For an unknown account scram_server_first still answers, with a salt
 * derived from the name and a server secret, so the exchange fails only at
 * the proof and never reveals whether the account exists.
 */
struct scram;

/*
 * Iterations announced for unknown accounts: set it to the configured
 * scram_iterations at start, so that the number does not tell unknown
 * accounts from real ones. Not thread-safe: call before serving.
 */
void scram_set_default_iterations(int n);

struct scram *scram_new(void);
void scram_free(struct scram *s);

/* Parse client-first-message; copy the username (authcid) out. 0 or -1 (malformed). */
int scram_client_first(struct scram *s, const char *msg, size_t len, char *user, size_t userlen);

/* Produce server-first-message (new string in *out). 0 or -1. */
int scram_server_first(struct scram *s, const char *stored, char **out);

/*
 * Check client-final-message. 0 when the proof is right: *out is the
 * server-final-message ("v=..."). -1 when malformed or wrong (*out NULL).
 */
int scram_client_final(struct scram *s, const char *msg, size_t len, char **out);

#endif
