/*
 * scram.c — SCRAM-SHA-256 (RFC 5802, RFC 7677): the stored keys and the
 * server side of one exchange (password.h).
 *
 * Stored form (PostgreSQL's): "SCRAM-SHA-256$ITER:SALT$STOREDKEY:SERVERKEY",
 * base64 fields. The exchange keeps the three messages that make up the
 * AuthMessage and checks the proof in constant time. For an unknown account
 * (or an unreadable stored form) it answers with a salt derived from the
 * name and a per-process secret and fails only at the proof, so a client
 * cannot tell whether an account exists (within one server run: the secret
 * is new at each start).
 *
 * Deliberately not here:
 *  - SASLprep (RFC 4013). Usernames and passwords are taken as the bytes the
 *    client sends; for ASCII this is what SASLprep gives, non-ASCII is
 *    compared bytewise (a client that normalises differently fails).
 *  - channel binding: "p=" gs2 headers are refused (SCRAM-SHA-256-PLUS is
 *    not advertised); "n" and "y" are accepted.
 *  - account look-up and any logging.
 */
#include "chat/password.h"

#include "chat/password_int.h"
#include "common/b64.h"
#include "common/id.h"
#include "common/str.h"
#include "common/xmalloc.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCRAM_MSG_MAX    4096 /* bytes of a client message */
#define SCRAM_NONCE_MAX  256  /* bytes of the client nonce */
#define SCRAM_SNONCE_LEN 24   /* random bytes of the server nonce */
#define SCRAM_SALT_MAX   64   /* bytes of a stored salt we accept */
#define SCRAM_PREFIX     "SCRAM-SHA-256$"

enum scram_state {
	SCRAM_NEW,    /* waiting for client-first */
	SCRAM_FIRST,  /* client-first parsed, server-first not made */
	SCRAM_SENT,   /* server-first sent, waiting for client-final */
	SCRAM_DONE,   /* success */
	SCRAM_FAILED, /* any error: every later call fails */
};

struct scram {
	enum scram_state state;                  /* where the exchange is */
	char user[256];                          /* authcid, decoded */
	char *gs2;                               /* gs2 header as sent ("n,,"), owned */
	char *bare;                              /* client-first-message-bare, owned */
	char cnonce[SCRAM_NONCE_MAX + 1];        /* client nonce */
	char *server_first;                      /* server-first-message, owned */
	char nonce[SCRAM_NONCE_MAX + 64];        /* client + server nonce */
	char test_snonce[64];                    /* test hook: fixed server nonce, or "" */
	unsigned char stored_key[SCRAM_KEY_LEN]; /* StoredKey */
	unsigned char server_key[SCRAM_KEY_LEN]; /* ServerKey */
	bool fake;                               /* unknown account: the proof fails */
};

/* --- primitives ------------------------------------------------------------ */

static char *b64_encode(const unsigned char *bin, size_t n)
{
	size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *out = xmalloc(len);

	sodium_bin2base64(out, len, bin, n, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

/* Decode exactly the n characters at s, strictly (common/b64.h). 0 or -1. */
static int decode_b64(const char *s, size_t n, unsigned char *out, size_t max, size_t *outlen)
{
	return n == 0 ? -1 : b64_decode(s, n, out, max, outlen);
}

static void hmac256(const unsigned char *key, size_t keylen, const void *data, size_t n,
                    unsigned char out[SCRAM_KEY_LEN])
{
	unsigned int len = SCRAM_KEY_LEN;

	HMAC(EVP_sha256(), key, (int)keylen, data, n, out, &len);
}

static void sha256(const unsigned char *data, size_t n, unsigned char out[SCRAM_KEY_LEN])
{
	unsigned int len = SCRAM_KEY_LEN;

	EVP_Digest(data, n, out, &len, EVP_sha256(), NULL);
}

static pthread_once_t secret_once = PTHREAD_ONCE_INIT;
static unsigned char server_secret[32]; /* keys fake salts for unknown accounts */

static void secret_init(void)
{
	password_crypto_init();
	id_random(server_secret, sizeof server_secret);
}

/* HMAC(server secret, label NUL user): stable per name for this process. */
static void secret_derive(const char *label, const char *user, unsigned char out[SCRAM_KEY_LEN])
{
	char buf[300];
	size_t n;

	pthread_once(&secret_once, secret_init);
	n = (size_t)snprintf(buf, sizeof buf, "%s%c%s", label, '\0', user);
	if (n >= sizeof buf)
		n = sizeof buf - 1;
	hmac256(server_secret, sizeof server_secret, buf, n, out);
}

/* --- stored form ----------------------------------------------------------- */

int scram_stored_make(const char *password, const unsigned char *salt, size_t saltlen,
                      int iterations, char **out)
{
	unsigned char salted[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN];
	unsigned char stored[SCRAM_KEY_LEN], server[SCRAM_KEY_LEN];
	char *b_salt, *b_stored, *b_server;
	size_t len;
	int rc = -1;

	*out = NULL;
	if (!PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)saltlen, iterations,
	                       EVP_sha256(), sizeof salted, salted))
		goto out;
	hmac256(salted, sizeof salted, "Client Key", 10, client_key);
	sha256(client_key, sizeof client_key, stored);
	hmac256(salted, sizeof salted, "Server Key", 10, server);
	b_salt = b64_encode(salt, saltlen);
	b_stored = b64_encode(stored, sizeof stored);
	b_server = b64_encode(server, sizeof server);
	len = strlen(SCRAM_PREFIX) + 12 + strlen(b_salt) + strlen(b_stored) + strlen(b_server) + 4;
	*out = xmalloc(len);
	snprintf(*out, len, SCRAM_PREFIX "%d:%s$%s:%s", iterations, b_salt, b_stored, b_server);
	free(b_salt);
	free(b_stored);
	free(b_server);
	rc = 0;
out:
	OPENSSL_cleanse(salted, sizeof salted);
	OPENSSL_cleanse(client_key, sizeof client_key);
	return rc;
}

/*
 * Parse a stored form into salt (b64 text, for server-first), iterations and
 * the two keys. 0 or -1.
 */
static int stored_parse(const char *stored, char *salt_b64, size_t saltcap, int *iter,
                        struct scram *s)
{
	const char *p, *colon, *dollar, *colon2;
	unsigned char salt[SCRAM_SALT_MAX];
	size_t n;
	int64_t it;
	char num[16];

	if (!stored || strncmp(stored, SCRAM_PREFIX, strlen(SCRAM_PREFIX)) != 0)
		return -1;
	p = stored + strlen(SCRAM_PREFIX);
	colon = strchr(p, ':');
	dollar = colon ? strchr(colon, '$') : NULL;
	colon2 = dollar ? strchr(dollar, ':') : NULL;
	if (!colon2 || (size_t)(colon - p) >= sizeof num || (size_t)(dollar - colon - 1) >= saltcap)
		return -1;
	memcpy(num, p, (size_t)(colon - p));
	num[colon - p] = '\0';
	if (str_to_i64(num, 1, INT32_MAX, &it) < 0)
		return -1;
	if (decode_b64(colon + 1, (size_t)(dollar - colon - 1), salt, sizeof salt, &n) < 0)
		return -1;
	if (decode_b64(dollar + 1, (size_t)(colon2 - dollar - 1), s->stored_key,
	               sizeof s->stored_key, &n) < 0 ||
	    n != SCRAM_KEY_LEN)
		return -1;
	if (decode_b64(colon2 + 1, strlen(colon2 + 1), s->server_key, sizeof s->server_key, &n) <
	        0 ||
	    n != SCRAM_KEY_LEN)
		return -1;
	memcpy(salt_b64, colon + 1, (size_t)(dollar - colon - 1));
	salt_b64[dollar - colon - 1] = '\0';
	*iter = (int)it;
	return 0;
}

/* --- exchange -------------------------------------------------------------- */

struct scram *scram_new(void)
{
	return xcalloc(1, sizeof(struct scram));
}

void scram_free(struct scram *s)
{
	if (!s)
		return;
	free(s->gs2);
	free(s->bare);
	free(s->server_first);
	OPENSSL_cleanse(s, sizeof *s);
	free(s);
}

void scram_test_set_server_nonce(struct scram *s, const char *nonce)
{
	str_copy(s->test_snonce, nonce, sizeof s->test_snonce);
}

/* Copy a message into a NUL-terminated string; NULL if too long or has NUL. */
static char *msg_dup(const char *msg, size_t len)
{
	if (!msg || len == 0 || len > SCRAM_MSG_MAX || memchr(msg, '\0', len))
		return NULL;
	return xstrndup(msg, len);
}

/* Decode a saslname (RFC 5802 §5.1: "=2C" is ',', "=3D" is '='). 0 or -1. */
static int saslname_decode(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '=') {
			if (n - i < 3)
				return -1;
			if (strncmp(s + i, "=2C", 3) == 0)
				c = ',';
			else if (strncmp(s + i, "=3D", 3) == 0)
				c = '=';
			else
				return -1;
			i += 2;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* Length of the attribute value at p (up to ',' or the end). */
static size_t attr_len(const char *p)
{
	return strcspn(p, ",");
}

static bool nonce_valid(const char *p, size_t n)
{
	if (n == 0 || n > SCRAM_NONCE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',')
			return false;
	return true;
}

/* Parse the gs2 header at buf; sets *bare to what follows. 0 or -1. */
static int parse_gs2(struct scram *s, char *buf, char **bare, char *authz, size_t authzlen)
{
	char *p = buf;
	size_t n;

	authz[0] = '\0';
	if ((p[0] != 'n' && p[0] != 'y') || p[1] != ',')
		return -1; /* "p=" (channel binding) or garbage */
	p += 2;
	if (strncmp(p, "a=", 2) == 0) {
		n = attr_len(p + 2);
		if (saslname_decode(p + 2, n, authz, authzlen) < 0)
			return -1;
		p += 2 + n;
	}
	if (*p != ',')
		return -1;
	p++;
	s->gs2 = xstrndup(buf, (size_t)(p - buf));
	*bare = p;
	return 0;
}

/* Parse client-first-message-bare: n=USER,r=NONCE[,ext...]. 0 or -1. */
static int parse_bare(struct scram *s, const char *bare)
{
	const char *p = bare;
	size_t n;

	if (strncmp(p, "n=", 2) != 0)
		return -1; /* includes the reserved "m=" mandatory extension */
	n = attr_len(p + 2);
	if (n == 0 || saslname_decode(p + 2, n, s->user, sizeof s->user) < 0)
		return -1;
	p += 2 + n;
	if (strncmp(p, ",r=", 3) != 0)
		return -1;
	p += 3;
	n = attr_len(p);
	if (!nonce_valid(p, n))
		return -1;
	memcpy(s->cnonce, p, n);
	s->cnonce[n] = '\0';
	s->bare = xstrdup(bare);
	return 0;
}

int scram_client_first(struct scram *s, const char *msg, size_t len, char *user, size_t userlen)
{
	char *buf = msg_dup(msg, len);
	char authz[256], *bare;
	int rc = -1;

	if (!buf || s->state != SCRAM_NEW)
		goto out;
	if (parse_gs2(s, buf, &bare, authz, sizeof authz) < 0 || parse_bare(s, bare) < 0)
		goto out;
	if (authz[0] != '\0' && !str_ieq(authz, s->user))
		goto out;
	if (str_copy(user, s->user, userlen) >= userlen)
		goto out;
	rc = 0;
out:
	s->state = rc == 0 ? SCRAM_FIRST : SCRAM_FAILED;
	free(buf);
	return rc;
}

/* Iterations announced for unknown accounts: the site's own setting. */
static int fake_iterations = SCRAM_FAKE_ITER;

void scram_set_default_iterations(int n)
{
	if (n >= 4096)
		fake_iterations = n;
}

/* Set up the keys of an unknown account: the proof will never match. */
static void fake_account(struct scram *s, char *salt_b64, size_t saltcap, int *iter)
{
	unsigned char salt[SCRAM_KEY_LEN];
	char *b;

	secret_derive("salt", s->user, salt);
	secret_derive("stored", s->user, s->stored_key);
	secret_derive("server", s->user, s->server_key);
	b = b64_encode(salt, SCRAM_SALT_LEN);
	str_copy(salt_b64, b, saltcap);
	free(b);
	*iter = fake_iterations;
	s->fake = true;
}

int scram_server_first(struct scram *s, const char *stored, char **out)
{
	char salt_b64[SCRAM_SALT_MAX * 2], *snonce;
	unsigned char rnd[SCRAM_SNONCE_LEN];
	size_t len;
	int iter;

	*out = NULL;
	if (s->state != SCRAM_FIRST) {
		s->state = SCRAM_FAILED;
		return -1;
	}
	if (stored_parse(stored, salt_b64, sizeof salt_b64, &iter, s) < 0)
		fake_account(s, salt_b64, sizeof salt_b64, &iter);
	if (s->test_snonce[0]) {
		snonce = xstrdup(s->test_snonce);
	} else {
		id_random(rnd, sizeof rnd);
		snonce = b64_encode(rnd, sizeof rnd);
	}
	snprintf(s->nonce, sizeof s->nonce, "%s%s", s->cnonce, snonce);
	free(snonce);
	len = strlen(s->nonce) + strlen(salt_b64) + 32;
	s->server_first = xmalloc(len);
	snprintf(s->server_first, len, "r=%s,s=%s,i=%d", s->nonce, salt_b64, iter);
	*out = xstrdup(s->server_first);
	s->state = SCRAM_SENT;
	return 0;
}

/* Check "c=B64(gs2),r=NONCE[,ext]" (client-final without proof). 0 or -1. */
static int check_final_head(const struct scram *s, const char *p)
{
	unsigned char gs2[300];
	size_t n, glen;

	if (strncmp(p, "c=", 2) != 0)
		return -1;
	n = attr_len(p + 2);
	if (decode_b64(p + 2, n, gs2, sizeof gs2, &glen) < 0)
		return -1;
	if (glen != strlen(s->gs2) || memcmp(gs2, s->gs2, glen) != 0)
		return -1;
	p += 2 + n;
	if (strncmp(p, ",r=", 3) != 0)
		return -1;
	p += 3;
	n = attr_len(p);
	if (n != strlen(s->nonce) || memcmp(p, s->nonce, n) != 0)
		return -1;
	return 0;
}

/* Verify the proof over the AuthMessage; on success *out = "v=...". */
static int check_proof(struct scram *s, const char *without_proof, const unsigned char *proof,
                       char **out)
{
	unsigned char sig[SCRAM_KEY_LEN], key[SCRAM_KEY_LEN], h[SCRAM_KEY_LEN];
	size_t len = strlen(s->bare) + strlen(s->server_first) + strlen(without_proof) + 3;
	char *auth = xmalloc(len), *v;
	int ok;

	snprintf(auth, len, "%s,%s,%s", s->bare, s->server_first, without_proof);
	hmac256(s->stored_key, sizeof s->stored_key, auth, strlen(auth), sig);
	for (size_t i = 0; i < SCRAM_KEY_LEN; i++)
		key[i] = proof[i] ^ sig[i];
	sha256(key, sizeof key, h);
	ok = CRYPTO_memcmp(h, s->stored_key, SCRAM_KEY_LEN) == 0 && !s->fake;
	if (ok) {
		hmac256(s->server_key, sizeof s->server_key, auth, strlen(auth), sig);
		v = b64_encode(sig, sizeof sig);
		len = strlen(v) + 3;
		*out = xmalloc(len);
		snprintf(*out, len, "v=%s", v);
		free(v);
	}
	OPENSSL_cleanse(key, sizeof key);
	free(auth);
	return ok ? 0 : -1;
}

int scram_client_final(struct scram *s, const char *msg, size_t len, char **out)
{
	char *buf = msg_dup(msg, len);
	unsigned char proof[SCRAM_KEY_LEN + 8];
	char *p;
	size_t plen;
	int rc = -1;

	*out = NULL;
	if (!buf || s->state != SCRAM_SENT)
		goto out;
	p = strstr(buf, ",p=");
	if (!p || strchr(p + 3, ','))
		goto out; /* the proof must be the last attribute */
	*p = '\0';
	p += 3;
	if (decode_b64(p, strlen(p), proof, sizeof proof, &plen) < 0 || plen != SCRAM_KEY_LEN)
		goto out;
	if (check_final_head(s, buf) < 0)
		goto out;
	rc = check_proof(s, buf, proof, out);
out:
	s->state = rc == 0 ? SCRAM_DONE : SCRAM_FAILED;
	free(buf);
	return rc;
}
