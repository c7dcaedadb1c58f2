/*
 * fuzz_sasl.c — libFuzzer target for the SASL parsers: the SCRAM-SHA-256
 * server (src/chat/scram.c) and the SASL PLAIN payload layout (RFC 4616,
 * as src/irc/sasl.c reads it).
 *
 * One credential is derived at start-up with password_derive() (cheap
 * parameters: 4096 PBKDF2 iterations), for the account "user". The first
 * input byte picks a mode; the rest is split at the first NUL:
 *  '0' raw:    client-first NUL client-final, both from the fuzzer. Only a
 *              real account may ever succeed.
 *  '1' proof:  client-first NUL extension; the harness computes the right
 *              client-final (RFC 5802 §3) for the fuzzer's client-first,
 *              with the extension attribute, and the exchange must succeed
 *              exactly when the account is "user" and the message is valid,
 *              with the right server signature.
 *  '2' stored: the rest is a stored SCRAM form (as read from a damaged
 *              database); server-first must still be well-formed.
 *  '3' plain:  the rest is the base64 AUTHENTICATE payload of PLAIN,
 *              decoded with args_sasl_decode (src/irc/cmd/args.c) as
 *              sasl.c does; the reading of sasl.c (copied here: it is
 *              static there) must agree with a reference reading of
 *              RFC 4616.
 *
 * Deliberately not here: the AUTHENTICATE chunking and the account look-up
 * (they need a client and a store).
 */
#include "chat/chat.h"
#include "chat/password.h"
#include "chat/password_int.h"
#include "common/xmalloc.h"
#include "fuzz_util.h"
#include "irc/cmd/args.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KNOWN_USER "user"
#define PASSWORD   "pencil"
#define SNONCE     "fUzZsErVeRnOnCe" /* fixed server nonce (test hook) */
#define ITER       4096
#define KEY_LEN    32
#define MSG_MAX    4096 /* scram.c SCRAM_MSG_MAX */
#define B64        sodium_base64_VARIANT_ORIGINAL

static char *stored;                      /* the account's stored SCRAM form */
static unsigned char client_key[KEY_LEN]; /* HMAC(SaltedPassword, "Client Key") */
static unsigned char stored_key[KEY_LEN]; /* H(ClientKey) */
static unsigned char server_key[KEY_LEN]; /* HMAC(SaltedPassword, "Server Key") */

/* A new NUL-terminated base64 string of n bytes. */
static char *b64(const void *bin, size_t n)
{
	size_t len = sodium_base64_ENCODED_LEN(n, B64);
	char *out = xmalloc(len);

	sodium_bin2base64(out, len, bin, n, B64);
	return out;
}

static void hmac(const unsigned char *key, const void *msg, size_t n, unsigned char *out)
{
	unsigned int len = KEY_LEN;

	FUZZ_CHECK(HMAC(EVP_sha256(), key, KEY_LEN, msg, n, out, &len) != NULL);
}

/* Recompute the keys of the stored form from the password; they must match. */
static void keys_from_stored(void)
{
	const char *p = stored + strlen("SCRAM-SHA-256$"), *dollar;
	unsigned char salt[64], salted[KEY_LEN];
	unsigned int len = KEY_LEN;
	size_t saltlen;
	char *e, *k1, *k2, want[256];

	FUZZ_CHECK(strncmp(stored, "SCRAM-SHA-256$", 14) == 0);
	FUZZ_CHECK(strtol(p, &e, 10) == ITER && *e == ':');
	dollar = strchr(e, '$');
	FUZZ_CHECK(dollar && sodium_base642bin(salt, sizeof salt, e + 1, (size_t)(dollar - e - 1),
	                                       NULL, &saltlen, NULL, B64) == 0);
	FUZZ_CHECK(PKCS5_PBKDF2_HMAC(PASSWORD, strlen(PASSWORD), salt, (int)saltlen, ITER,
	                             EVP_sha256(), KEY_LEN, salted) == 1);
	hmac(salted, "Client Key", 10, client_key);
	FUZZ_CHECK(EVP_Digest(client_key, KEY_LEN, stored_key, &len, EVP_sha256(), NULL) == 1);
	hmac(salted, "Server Key", 10, server_key);
	k1 = b64(stored_key, KEY_LEN);
	k2 = b64(server_key, KEY_LEN);
	snprintf(want, sizeof want, "$%s:%s", k1, k2);
	FUZZ_CHECK(strcmp(dollar, want) == 0);
	free(k1);
	free(k2);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct password_params p = {.argon2_opslimit = 1, /* cheap: test parameters */
	                            .argon2_memlimit_kib = 8,
	                            .scram_iterations = ITER};
	char *argon2 = NULL;

	(void)argc;
	(void)argv;
	FUZZ_CHECK(password_derive(PASSWORD, &p, &argon2, &stored) == 0);
	FUZZ_CHECK(password_verify(argon2, PASSWORD) && !password_verify(argon2, "pencil2"));
	free(argon2);
	keys_from_stored();
	scram_set_default_iterations(ITER);
	return 0;
}

/* "r=CNONCE" SNONCE ",s=SALT,i=N": N must be iter (if > 0) or positive. */
static void check_server_first(const char *sf, int iter)
{
	size_t rlen = strcspn(sf, ",");
	const char *s = sf + rlen, *i;
	long n;
	char *e;

	FUZZ_CHECK(strncmp(sf, "r=", 2) == 0 && rlen > 2 + strlen(SNONCE));
	FUZZ_CHECK(strncmp(s - strlen(SNONCE), SNONCE, strlen(SNONCE)) == 0);
	for (const char *c = sf + 2; c < s; c++)
		FUZZ_CHECK(*c > 0x20 && *c < 0x7f);
	FUZZ_CHECK(strncmp(s, ",s=", 3) == 0);
	i = strstr(s + 3, ",i=");
	FUZZ_CHECK(i && i > s + 3 && memchr(s + 3, ',', (size_t)(i - s - 3)) == NULL);
	n = strtol(i + 3, &e, 10);
	FUZZ_CHECK(*e == '\0' && n > 0 && (iter == 0 || n == iter));
}

/* Start an exchange: client-first, then server-first for the account. */
static struct scram *start(const char *m1, size_t n1, char **sf, bool *known)
{
	struct scram *s = scram_new();
	char user[256];

	*sf = NULL;
	scram_test_set_server_nonce(s, SNONCE);
	if (scram_client_first(s, m1, n1, user, sizeof user) != 0) {
		FUZZ_CHECK(scram_server_first(s, stored, sf) != 0 && *sf == NULL);
		scram_free(s);
		return NULL;
	}
	FUZZ_CHECK(user[0] != '\0');
	*known = strcmp(user, KNOWN_USER) == 0;
	FUZZ_CHECK(scram_server_first(s, *known ? stored : NULL, sf) == 0);
	/* an unknown account is announced with the same iterations */
	check_server_first(*sf, ITER);
	return s;
}

static void run_raw(const char *m1, size_t n1, const char *m2, size_t n2)
{
	char *sf, *out = NULL;
	bool known;
	struct scram *s = start(m1, n1, &sf, &known);
	int rc;

	if (!s)
		return;
	rc = scram_client_final(s, m2, n2, &out);
	FUZZ_CHECK(rc == 0 || out == NULL);
	FUZZ_CHECK(rc != 0 || (known && strncmp(out, "v=", 2) == 0));
	free(out);
	/* the exchange is over: nothing more is accepted */
	FUZZ_CHECK(scram_client_final(s, m2, n2, &out) != 0 && out == NULL);
	free(sf);
	scram_free(s);
}

/* Append n bytes to *buf (length *len, NUL kept). */
static void cat(char **buf, size_t *len, const char *s, size_t n)
{
	*buf = xrealloc(*buf, *len + n + 1);
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/* client-final-message-without-proof for this exchange (RFC 5802 §7). */
static char *final_head(const char *m1, size_t n1, const char *sf, const char *ext, size_t *len)
{
	const char *c1 = memchr(m1, ',', n1);
	const char *c2 = c1 ? memchr(c1 + 1, ',', n1 - (size_t)(c1 + 1 - m1)) : NULL;
	char *head = NULL, *g;

	FUZZ_CHECK(c2 != NULL); /* client_first accepted a gs2 header */
	*len = 0;
	g = b64(m1, (size_t)(c2 + 1 - m1));
	cat(&head, len, "c=", 2);
	cat(&head, len, g, strlen(g));
	cat(&head, len, ",r=", 3);
	cat(&head, len, sf + 2, strcspn(sf + 2, ","));
	if (*ext) {
		cat(&head, len, ",", 1);
		cat(&head, len, ext, strlen(ext));
	}
	free(g);
	return head;
}

static void run_proof(const char *m1, size_t n1, const char *ext)
{
	char *sf, *out = NULL, *head, *auth = NULL, *p64, *v64;
	unsigned char sig[KEY_LEN], proof[KEY_LEN];
	size_t hlen, alen = 0, bare_at;
	bool known, expect;
	struct scram *s = start(m1, n1, &sf, &known);
	int rc;

	if (!s)
		return;
	head = final_head(m1, n1, sf, ext, &hlen);
	bare_at = strcspn(m1, ",") + 1;
	bare_at += strcspn(m1 + bare_at, ",") + 1;
	cat(&auth, &alen, m1 + bare_at, n1 - bare_at);
	cat(&auth, &alen, ",", 1);
	cat(&auth, &alen, sf, strlen(sf));
	cat(&auth, &alen, ",", 1);
	cat(&auth, &alen, head, hlen);
	hmac(stored_key, auth, alen, sig);
	for (int i = 0; i < KEY_LEN; i++)
		proof[i] = client_key[i] ^ sig[i];
	p64 = b64(proof, KEY_LEN);
	cat(&head, &hlen, ",p=", 3);
	expect = known && strstr(head, ",p=") == head + hlen - 3;
	cat(&head, &hlen, p64, strlen(p64));
	expect = expect && hlen <= MSG_MAX;
	rc = scram_client_final(s, head, hlen, &out);
	FUZZ_CHECK((rc == 0) == expect);
	if (rc == 0) {
		hmac(server_key, auth, alen, sig);
		v64 = b64(sig, KEY_LEN);
		FUZZ_CHECK(strncmp(out, "v=", 2) == 0 && strcmp(out + 2, v64) == 0);
		free(v64);
	}
	free(out);
	free(p64);
	free(auth);
	free(head);
	free(sf);
	scram_free(s);
}

static void run_stored(const char *form)
{
	static const char m1[] = "n,,n=" KNOWN_USER ",r=abc";
	struct scram *s = scram_new();
	char user[64], *sf = NULL;

	scram_test_set_server_nonce(s, SNONCE);
	FUZZ_CHECK(scram_client_first(s, m1, strlen(m1), user, sizeof user) == 0);
	FUZZ_CHECK(scram_server_first(s, form, &sf) == 0);
	check_server_first(sf, 0);
	FUZZ_CHECK(strncmp(sf, "r=abc" SNONCE ",s=", 5 + strlen(SNONCE) + 3) == 0);
	free(sf);
	scram_free(s);
}

/* sasl.c plain_step()'s reading, copied (static there): 0 accept, -1 not. */
static int plain_sasl_c(const char *data, size_t len)
{
	const char *authz = data;
	const char *authc = authz + strlen(authz) + 1;
	const char *pass;

	if (authc >= data + len)
		return -1;
	pass = authc + strlen(authc) + 1;
	if (pass > data + len || pass + strlen(pass) != data + len || !*authc ||
	    strlen(authc) >= CHAT_NAME_MAX || (*authz && strcmp(authz, authc) != 0) ||
	    !password_acceptable(pass))
		return -1;
	return 0;
}

/* RFC 4616 §2: [authzid] NUL authcid NUL passwd, read with lengths. */
static int plain_reference(const char *data, size_t len)
{
	const char *z1 = memchr(data, '\0', len), *z2, *end = data + len;
	size_t zlen, clen, plen;

	if (!z1 || !(z2 = memchr(z1 + 1, '\0', (size_t)(end - z1 - 1))))
		return -1;
	if (memchr(z2 + 1, '\0', (size_t)(end - z2 - 1)))
		return -1; /* NUL in the password */
	zlen = (size_t)(z1 - data);
	clen = (size_t)(z2 - z1 - 1);
	plen = (size_t)(end - z2 - 1);
	if (clen == 0 || clen >= CHAT_NAME_MAX || plen == 0 || plen > 512)
		return -1;
	if (zlen && (zlen != clen || memcmp(data, z1 + 1, clen) != 0))
		return -1;
	if (memchr(z2 + 1, '\r', plen) || memchr(z2 + 1, '\n', plen))
		return -1;
	return 0;
}

/* sasl.c sasl_payload(): args_sasl_decode, then plain_step's reading. */
static void run_plain(const char *text)
{
	size_t len;
	char *data;

	if (args_sasl_decode(text, strlen(text), &data, &len) != 0)
		return;
	FUZZ_CHECK(data[len] == '\0');
	FUZZ_CHECK(plain_sasl_c(data, len) == plain_reference(data, len));
	free(data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *rest;
	size_t n1;

	if (size < 1 || size > 2 * MSG_MAX + 64)
		return 0;
	/* buf: the input after the mode byte, with a NUL after it */
	buf = xmalloc(size);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	n1 = strlen(buf);
	rest = n1 + 1 < size ? buf + n1 + 1 : buf + n1;
	switch (data[0] % 4) {
	case 0:
		run_raw(buf, n1, rest, strlen(rest));
		break;
	case 1:
		run_proof(buf, n1, rest);
		break;
	case 2:
		run_stored(buf);
		break;
	default:
		run_plain(buf);
		break;
	}
	free(buf);
	return 0;
}
