/*
 * password_int.h — internals shared by password.c and scram.c, and hooks for
 * the unit tests. Not for use outside src/chat/ and tests/unit.
 */
#ifndef PCHAT_CHAT_PASSWORD_INT_H
#define PCHAT_CHAT_PASSWORD_INT_H

#include <stddef.h>

struct scram;

#define SCRAM_SALT_LEN  16     /* bytes of salt for new SCRAM keys */
#define SCRAM_KEY_LEN   32     /* SHA-256 output */
#define SCRAM_FAKE_ITER 600000 /* iterations announced for unknown accounts */

/* sodium_init() exactly once, from any thread. 0, or -1 if libsodium fails. */
int password_crypto_init(void);

/*
 * Derive the stored SCRAM-SHA-256 form
 * "SCRAM-SHA-256$ITER:SALT$STOREDKEY:SERVERKEY" (base64 fields) from a
 * password, a given salt and iteration count. 0 and a new string in *out
 * (caller frees), or -1.
 */
int scram_stored_make(const char *password, const unsigned char *salt, size_t saltlen,
                      int iterations, char **out);

/*
 * Test hook: use nonce (printable, no ',') as the server part of the nonce
 * instead of 24 random bytes. Call before scram_server_first.
 */
void scram_test_set_server_nonce(struct scram *s, const char *nonce);

#endif
