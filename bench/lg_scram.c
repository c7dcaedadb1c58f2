/*
 * lg_scram.c — SCRAM-SHA-256 client messages and key derivation (see
 * lg_scram.h).
 *
 * The messages are the ones of RFC 5802 §7 with the gs2 header "n,,"
 * (no channel binding, no authzid), so c= is always "biws". PBKDF2, HMAC
 * and SHA-256 come from OpenSSL, base64 from libsodium. It deliberately
 * allocates nothing: one exchange is a fixed-size struct in the client.
 */
#include "lg_scram.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "common/str.h"

#define GS2_HEADER_B64 "biws" /* base64("n,,") */

static void hmac256(const unsigned char *key, size_t keylen, const void *data, size_t n,
                    unsigned char out[LG_SCRAM_KEY_LEN])
{
	unsigned int len = LG_SCRAM_KEY_LEN;

	HMAC(EVP_sha256(), key, (int)keylen, data, n, out, &len);
}

static void sha256(const unsigned char *data, size_t n, unsigned char out[LG_SCRAM_KEY_LEN])
{
	unsigned int len = LG_SCRAM_KEY_LEN;

	EVP_Digest(data, n, out, &len, EVP_sha256(), NULL);
}

/* Decode exactly n base64 characters at s into out. 0 or -1. */
static int b64_decode(const char *s, size_t n, unsigned char *out, size_t max, size_t *outlen)
{
	const char *end = NULL;

	if (n == 0 || sodium_base642bin(out, max, s, n, NULL, outlen, &end,
	                                sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return end == s + n ? 0 : -1;
}

/* Whether a saslname needs no escaping and a nonce is printable without ','. */
static bool plain_attr(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < 0x21 || *s > 0x7e || *s == ',' || *s == '=')
			return false;
	}
	return true;
}

int lg_scram_first(struct lg_scram *s, const char *user, const char *cnonce, char *out, size_t cap)
{
	int n;

	memset(s, 0, sizeof(*s));
	if (!plain_attr(user) || !plain_attr(cnonce) ||
	    str_copy(s->cnonce, cnonce, sizeof(s->cnonce)) >= sizeof(s->cnonce))
		return -1;
	n = snprintf(s->bare, sizeof(s->bare), "n=%s,r=%s", user, cnonce);
	if (n < 0 || (size_t)n >= sizeof(s->bare))
		return -1;
	n = snprintf(out, cap, "n,,%s", s->bare);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Value of attribute "X=" at p (msg ends at end): start and length. 0 or -1. */
static int attr(const char *p, const char *end, char name, const char **val, size_t *n)
{
	const char *comma;

	if (end - p < 2 || p[0] != name || p[1] != '=')
		return -1;
	*val = p + 2;
	comma = memchr(*val, ',', (size_t)(end - *val));
	*n = (size_t)((comma ? comma : end) - *val);
	return 0;
}

/* Split server-first into nonce, salt (base64) and iteration text. 0 or -1. */
static int split_server_first(const char *msg, size_t len, const char *part[3], size_t plen[3])
{
	static const char names[3] = {'r', 's', 'i'};
	const char *p = msg, *end = msg + len;
	int k;

	for (k = 0; k < 3; k++) {
		if (attr(p, end, names[k], &part[k], &plen[k]) < 0 || plen[k] == 0)
			return -1;
		p = part[k] + plen[k];
		if (p < end)
			p++; /* the ',' */
		else if (k < 2)
			return -1;
	}
	return 0;
}

int lg_scram_parse_server_first(const struct lg_scram *s, const char *msg, size_t len,
                                struct lg_scram_key *key)
{
	unsigned char salt[LG_SCRAM_SALT_MAX];
	const char *part[3];
	size_t plen[3], cl = strlen(s->cnonce), saltlen;
	char num[16];
	int64_t it;

	if (split_server_first(msg, len, part, plen) < 0)
		return -1;
	if (plen[0] <= cl || memcmp(part[0], s->cnonce, cl) != 0 || plen[2] >= sizeof(num))
		return -1;
	memcpy(num, part[2], plen[2]);
	num[plen[2]] = '\0';
	if (str_to_i64(num, 1, INT32_MAX, &it) < 0)
		return -1;
	if (b64_decode(part[1], plen[1], salt, sizeof(salt), &saltlen) < 0)
		return -1;
	if (!key->known || key->iterations != (int)it || key->salt_len != saltlen ||
	    memcmp(key->salt, salt, saltlen) != 0) {
		key->derived = false;
		key->iterations = (int)it;
		key->salt_len = saltlen;
		memcpy(key->salt, salt, saltlen);
	}
	key->known = true;
	return 0;
}

int lg_scram_derive(struct lg_scram_key *key, const char *password)
{
	unsigned char salted[LG_SCRAM_KEY_LEN];
	int rc = -1;

	if (!key->known)
		goto out;
	if (!PKCS5_PBKDF2_HMAC(password, (int)strlen(password), key->salt, (int)key->salt_len,
	                       key->iterations, EVP_sha256(), sizeof(salted), salted))
		goto out;
	hmac256(salted, sizeof(salted), "Client Key", 10, key->client_key);
	hmac256(salted, sizeof(salted), "Server Key", 10, key->server_key);
	key->derived = true;
	rc = 0;
out:
	OPENSSL_cleanse(salted, sizeof(salted));
	return rc;
}

/* ClientProof and ServerSignature over the AuthMessage (RFC 5802 §3). */
static void proof_and_sig(struct lg_scram *s, const struct lg_scram_key *key, const char *auth,
                          size_t n, unsigned char proof[LG_SCRAM_KEY_LEN])
{
	unsigned char stored[LG_SCRAM_KEY_LEN], sig[LG_SCRAM_KEY_LEN];
	size_t i;

	sha256(key->client_key, LG_SCRAM_KEY_LEN, stored);
	hmac256(stored, sizeof(stored), auth, n, sig);
	for (i = 0; i < LG_SCRAM_KEY_LEN; i++)
		proof[i] = key->client_key[i] ^ sig[i];
	hmac256(key->server_key, LG_SCRAM_KEY_LEN, auth, n, s->server_sig);
	s->sig_ready = true;
}

int lg_scram_final(struct lg_scram *s, const struct lg_scram_key *key, const char *msg, size_t len,
                   char *out, size_t cap)
{
	char auth[3 * LG_SCRAM_MSG_MAX], without[LG_SCRAM_MSG_MAX];
	char p64[sodium_base64_ENCODED_LEN(LG_SCRAM_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)];
	unsigned char proof[LG_SCRAM_KEY_LEN];
	const char *part[3];
	size_t plen[3];
	int n, rc = -1;

	if (!key->derived || len >= LG_SCRAM_MSG_MAX ||
	    split_server_first(msg, len, part, plen) < 0)
		goto out;
	n = snprintf(without, sizeof(without), "c=" GS2_HEADER_B64 ",r=%.*s", (int)plen[0],
	             part[0]);
	if (n < 0 || (size_t)n >= sizeof(without))
		goto out;
	n = snprintf(auth, sizeof(auth), "%s,%.*s,%s", s->bare, (int)len, msg, without);
	if (n < 0 || (size_t)n >= sizeof(auth))
		goto out;
	proof_and_sig(s, key, auth, (size_t)n, proof);
	sodium_bin2base64(p64, sizeof(p64), proof, sizeof(proof), sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(out, cap, "%s,p=%s", without, p64);
	rc = n < 0 || (size_t)n >= cap ? -1 : 0;
out:
	OPENSSL_cleanse(proof, sizeof(proof));
	return rc;
}

int lg_scram_check_server_final(const struct lg_scram *s, const char *msg, size_t len)
{
	unsigned char sig[LG_SCRAM_KEY_LEN + 8];
	const char *val;
	size_t n, siglen;

	if (!s->sig_ready || attr(msg, msg + len, 'v', &val, &n) < 0)
		return -1; /* includes "e=..." */
	if (b64_decode(val, n, sig, sizeof(sig), &siglen) < 0 || siglen != LG_SCRAM_KEY_LEN)
		return -1;
	return CRYPTO_memcmp(sig, s->server_sig, LG_SCRAM_KEY_LEN) == 0 ? 0 : -1;
}
