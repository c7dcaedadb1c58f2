/*
 * lg_scram.h — the client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) for
 * the load generator, and the key cache that lets it model clients that
 * reconnect.
 *
 * RFC 5802 §5.1 lets a client keep ClientKey and ServerKey once it has
 * derived them for a (salt, iteration count): a reconnecting client then
 * pays two HMACs and a hash per login instead of PBKDF2. struct
 * lg_scram_key is one such cache entry; lg_keys.c fills a table of them
 * (one per account) from a warm-up pass and a file.
 *
 * Deliberately not here: SASLprep (names and passwords are ASCII in the
 * benchmarks), channel binding (gs2 header "n,,"), any I/O.
 */
#ifndef PCHAT_BENCH_LG_SCRAM_H
#define PCHAT_BENCH_LG_SCRAM_H

#include <stdbool.h>
#include <stddef.h>

#define LG_SCRAM_KEY_LEN  32  /* SHA-256 output */
#define LG_SCRAM_SALT_MAX 64  /* bytes of salt we accept */
#define LG_SCRAM_MSG_MAX  512 /* bytes of a SCRAM message we build or keep */

/* One account's cached keys, valid for one (salt, iterations). */
struct lg_scram_key {
	bool known;                                 /* salt and iterations seen */
	bool derived;                               /* client_key/server_key valid */
	int iterations;                             /* i= of server-first */
	size_t salt_len;                            /* bytes in salt */
	unsigned char salt[LG_SCRAM_SALT_MAX];      /* s= of server-first, decoded */
	unsigned char client_key[LG_SCRAM_KEY_LEN]; /* HMAC(SaltedPassword, "Client Key") */
	unsigned char server_key[LG_SCRAM_KEY_LEN]; /* HMAC(SaltedPassword, "Server Key") */
};

/* One exchange in progress. */
struct lg_scram {
	char bare[LG_SCRAM_MSG_MAX];                /* client-first-message-bare */
	char cnonce[64];                            /* our nonce */
	unsigned char server_sig[LG_SCRAM_KEY_LEN]; /* the v= we expect */
	bool sig_ready;                             /* server_sig computed */
};

/*
 * Start an exchange for user with client nonce cnonce (printable, no ','):
 * writes client-first-message ("n,,n=USER,r=NONCE") into out. Returns 0,
 * or -1 when it does not fit or user/nonce is unusable.
 */
int lg_scram_first(struct lg_scram *s, const char *user, const char *cnonce, char *out, size_t cap);

/*
 * Parse server-first-message msg (not NUL-terminated, len bytes): checks
 * that its nonce starts with ours and decodes salt and iterations into
 * key->salt/salt_len/iterations. When they differ from what key held,
 * key->derived is cleared. Returns 0, or -1 when malformed.
 */
int lg_scram_parse_server_first(const struct lg_scram *s, const char *msg, size_t len,
                                struct lg_scram_key *key);

/*
 * Derive key->client_key and server_key from password and key's salt and
 * iterations (PBKDF2-HMAC-SHA-256: the costly step). Thread-safe. Returns
 * 0 (key->derived set), or -1.
 */
int lg_scram_derive(struct lg_scram_key *key, const char *password);

/*
 * Build client-final-message for server-first msg (len bytes) with the
 * derived key: "c=biws,r=NONCE,p=PROOF" into out, and remember the server
 * signature to expect. Returns 0, or -1 (not derived, malformed, too long).
 */
int lg_scram_final(struct lg_scram *s, const struct lg_scram_key *key, const char *msg, size_t len,
                   char *out, size_t cap);

/*
 * Check server-final-message msg (len bytes): 0 when it is "v=" with the
 * expected signature, -1 when it is wrong, an "e=" error or malformed.
 */
int lg_scram_check_server_final(const struct lg_scram *s, const char *msg, size_t len);

#endif
