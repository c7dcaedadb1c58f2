/*
 * test_password.c — password.c, scram.c and names.c: Argon2id derive/verify,
 * the RFC 7677 SCRAM-SHA-256 test vector, full exchanges driven by a client
 * written here, wrong passwords, unknown accounts, malformed messages, and
 * the account/room name rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "chat/names.h"
#include "chat/password.h"
#include "chat/password_int.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Test buffers are sized generously; truncation would fail an assertion. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/* Cheap parameters so the tests run fast. */
static const struct password_params fast = {
    .argon2_opslimit = 1, .argon2_memlimit_kib = 8192, .scram_iterations = 4096};

/* --- a SCRAM client ---------------------------------------------------------- */

static void hmac256(const unsigned char *k, size_t kl, const char *d, size_t dl, unsigned char *o)
{
	unsigned int l = 32;

	HMAC(EVP_sha256(), k, (int)kl, (const unsigned char *)d, dl, o, &l);
}

/* Value of attribute "X=" in a comma-separated message (copied into out). */
static void attr(const char *msg, char key, char *out, size_t outlen)
{
	const char *p = msg;

	for (;;) {
		if (p[0] == key && p[1] == '=') {
			size_t n = strcspn(p + 2, ",");

			assert_true(n < outlen);
			memcpy(out, p + 2, n);
			out[n] = '\0';
			return;
		}
		p = strchr(p, ',');
		assert_non_null(p);
		p++;
	}
}

/*
 * Given client-first-bare, server-first and a password, build the
 * client-final message (gs2 header "n,,") into out and the expected server
 * signature (base64) into sig.
 */
static void client_final(const char *bare, const char *server_first, const char *password,
                         const char *gs2, char *out, size_t outlen, char *sig, size_t siglen)
{
	char nonce[512], salt_b64[128], iter_s[16], cb[64], auth[2048], without[512];
	unsigned char salt[64], salted[32], ck[32], sk[32], stored[32], csig[32], proof[32],
	    ssig[32];
	size_t saltlen;
	unsigned int l = 32;

	attr(server_first, 'r', nonce, sizeof nonce);
	attr(server_first, 's', salt_b64, sizeof salt_b64);
	attr(server_first, 'i', iter_s, sizeof iter_s);
	assert_int_equal(sodium_base642bin(salt, sizeof salt, salt_b64, strlen(salt_b64), NULL,
	                                   &saltlen, NULL, sodium_base64_VARIANT_ORIGINAL),
	                 0);
	PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)saltlen, atoi(iter_s),
	                  EVP_sha256(), 32, salted);
	hmac256(salted, 32, "Client Key", 10, ck);
	EVP_Digest(ck, 32, stored, &l, EVP_sha256(), NULL);
	hmac256(salted, 32, "Server Key", 10, sk);
	sodium_bin2base64(cb, sizeof cb, (const unsigned char *)gs2, strlen(gs2),
	                  sodium_base64_VARIANT_ORIGINAL);
	snprintf(without, sizeof without, "c=%s,r=%s", cb, nonce);
	snprintf(auth, sizeof auth, "%s,%s,%s", bare, server_first, without);
	hmac256(stored, 32, auth, strlen(auth), csig);
	for (int i = 0; i < 32; i++)
		proof[i] = ck[i] ^ csig[i];
	hmac256(sk, 32, auth, strlen(auth), ssig);
	{
		char p64[64], s64[64];

		sodium_bin2base64(p64, sizeof p64, proof, 32, sodium_base64_VARIANT_ORIGINAL);
		sodium_bin2base64(s64, sizeof s64, ssig, 32, sodium_base64_VARIANT_ORIGINAL);
		snprintf(out, outlen, "%s,p=%s", without, p64);
		snprintf(sig, siglen, "v=%s", s64);
	}
}

/* Run a whole exchange; returns scram_client_final's result. */
static int exchange(const char *stored, const char *gs2, const char *bare, const char *password)
{
	struct scram *s = scram_new();
	char first[512], user[64], final[1024], sig[128], *sf = NULL, *sv = NULL;
	int rc;

	snprintf(first, sizeof first, "%s%s", gs2, bare);
	assert_int_equal(scram_client_first(s, first, strlen(first), user, sizeof user), 0);
	assert_int_equal(scram_server_first(s, stored, &sf), 0);
	client_final(bare, sf, password, gs2, final, sizeof final, sig, sizeof sig);
	rc = scram_client_final(s, final, strlen(final), &sv);
	if (rc == 0)
		assert_string_equal(sv, sig);
	else
		assert_null(sv);
	free(sf);
	free(sv);
	scram_free(s);
	return rc;
}

/* --- tests --------------------------------------------------------------------- */

static void test_rfc7677_vector(void **state)
{
	unsigned char salt[16];
	size_t saltlen;
	char *stored = NULL, *sf = NULL, *sv = NULL, user[32];
	struct scram *s;
	const char *c1 = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
	const char *c2 = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	                 "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";

	(void)state;
	assert_int_equal(sodium_base642bin(salt, sizeof salt, "W22ZaJ0SNY7soEsUEjb6gQ==", 24, NULL,
	                                   &saltlen, NULL, sodium_base64_VARIANT_ORIGINAL),
	                 0);
	assert_int_equal(scram_stored_make("pencil", salt, saltlen, 4096, &stored), 0);
	assert_true(strncmp(stored, "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$", 44) == 0);
	s = scram_new();
	scram_test_set_server_nonce(s, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
	assert_int_equal(scram_client_first(s, c1, strlen(c1), user, sizeof user), 0);
	assert_string_equal(user, "user");
	assert_int_equal(scram_server_first(s, stored, &sf), 0);
	assert_string_equal(sf, "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	                        "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
	assert_int_equal(scram_client_final(s, c2, strlen(c2), &sv), 0);
	assert_string_equal(sv, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
	free(sf);
	free(sv);
	free(stored);
	scram_free(s);
}

static void test_rfc7677_wrong_proof(void **state)
{
	unsigned char salt[16] = {1};
	char *stored = NULL, *sf = NULL, *sv = NULL, user[32];
	struct scram *s = scram_new();
	const char *c1 = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
	const char *c2 = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	                 "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";

	(void)state;
	/* Same messages, different salt in the stored keys: the proof must fail. */
	assert_int_equal(scram_stored_make("pencil", salt, sizeof salt, 4096, &stored), 0);
	scram_test_set_server_nonce(s, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
	assert_int_equal(scram_client_first(s, c1, strlen(c1), user, sizeof user), 0);
	assert_int_equal(scram_server_first(s, stored, &sf), 0);
	assert_int_equal(scram_client_final(s, c2, strlen(c2), &sv), -1);
	assert_null(sv);
	free(sf);
	free(stored);
	scram_free(s);
}

static void test_full_exchange(void **state)
{
	char *argon = NULL, *stored = NULL;

	(void)state;
	assert_int_equal(password_derive("correct horse", &fast, &argon, &stored), 0);
	assert_true(strncmp(argon, "$argon2id$", 10) == 0);
	assert_true(strncmp(stored, "SCRAM-SHA-256$4096:", 19) == 0);
	assert_int_equal(exchange(stored, "n,,", "n=alice,r=abcdefghijklmnop", "correct horse"), 0);
	assert_int_equal(exchange(stored, "y,,", "n=alice,r=xyz123", "correct horse"), 0);
	assert_int_equal(exchange(stored, "n,a=alice,", "n=alice,r=q", "correct horse"), 0);
	assert_int_equal(exchange(stored, "n,,", "n=alice,r=q,x=ext", "correct horse"), 0);
	assert_int_equal(exchange(stored, "n,,", "n=alice,r=abc", "wrong horse"), -1);
	assert_int_equal(exchange(stored, "n,,", "n=alice,r=abc", "correct hors"), -1);
	free(argon);
	free(stored);
}

static void test_unknown_user(void **state)
{
	struct scram *s1 = scram_new(), *s2 = scram_new(), *s3 = scram_new();
	char user[64], *a = NULL, *b = NULL, *c = NULL, salt_a[64], salt_b[64], salt_c[64];
	char it[16];

	(void)state;
	/* The exchange proceeds and fails only at the proof. */
	assert_int_equal(exchange(NULL, "n,,", "n=ghost,r=abc", "anything"), -1);
	assert_int_equal(exchange("garbage", "n,,", "n=ghost,r=abc", "anything"), -1);
	/* The fake salt is stable per name, differs between names. */
	assert_int_equal(scram_client_first(s1, "n,,n=ghost,r=a", 14, user, sizeof user), 0);
	assert_int_equal(scram_client_first(s2, "n,,n=ghost,r=b", 14, user, sizeof user), 0);
	assert_int_equal(scram_client_first(s3, "n,,n=other,r=b", 14, user, sizeof user), 0);
	assert_int_equal(scram_server_first(s1, NULL, &a), 0);
	assert_int_equal(scram_server_first(s2, NULL, &b), 0);
	assert_int_equal(scram_server_first(s3, NULL, &c), 0);
	attr(a, 's', salt_a, sizeof salt_a);
	attr(b, 's', salt_b, sizeof salt_b);
	attr(c, 's', salt_c, sizeof salt_c);
	assert_string_equal(salt_a, salt_b);
	assert_string_not_equal(salt_a, salt_c);
	attr(a, 'i', it, sizeof it);
	assert_int_equal(atoi(it), SCRAM_FAKE_ITER);
	assert_int_equal(strlen(salt_a), 24); /* 16 bytes, like a real salt */
	free(a);
	free(b);
	free(c);
	scram_free(s1);
	scram_free(s2);
	scram_free(s3);
}

static void test_client_first_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "n,,",
	    "p=tls-unique,,n=user,r=abc", /* channel binding refused */
	    "x,,n=user,r=abc",
	    "n,n=user,r=abc",
	    "n,,m=ext,n=user,r=abc", /* mandatory extension */
	    "n,,n=,r=abc",
	    "n,,n=user",
	    "n,,n=user,r=",
	    "n,,r=abc,n=user",
	    "n,,n=us=er,r=abc",     /* bad saslname escape */
	    "n,,n=user=2,r=abc",    /* truncated escape */
	    "n,a=bob,n=user,r=abc", /* authzid differs */
	    "n,,n=user,r=a b",
	};
	char user[64];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct scram *s = scram_new();

		if (scram_client_first(s, bad[i], strlen(bad[i]), user, sizeof user) != -1)
			fail_msg("accepted '%s'", bad[i]);
		scram_free(s);
	}
	{
		/* NUL inside, over-long name for the caller's buffer, calls out of order */
		struct scram *s = scram_new();
		char *out = NULL;

		assert_int_equal(scram_client_first(s, "n,,n=u\0x,r=a", 12, user, sizeof user), -1);
		scram_free(s);
		s = scram_new();
		assert_int_equal(scram_client_first(s, "n,,n=longname,r=a", 17, user, 4), -1);
		scram_free(s);
		s = scram_new();
		assert_int_equal(scram_server_first(s, NULL, &out), -1);
		assert_null(out);
		assert_int_equal(scram_client_final(s, "c=biws,r=a,p=AA==", 17, &out), -1);
		scram_free(s);
	}
}

static void test_saslname_escapes(void **state)
{
	struct scram *s = scram_new();
	char user[64];

	(void)state;
	assert_int_equal(scram_client_first(s, "n,,n=a=2Cb=3Dc,r=x", 18, user, sizeof user), 0);
	assert_string_equal(user, "a,b=c");
	scram_free(s);
}

/* Drive an exchange to server-first for stored; return s (caller frees). */
static struct scram *to_server_first(const char *stored, char **sf)
{
	struct scram *s = scram_new();
	char user[64];

	assert_int_equal(scram_client_first(s, "n,,n=alice,r=abc", 16, user, sizeof user), 0);
	assert_int_equal(scram_server_first(s, stored, sf), 0);
	return s;
}

/* Build client-final case i for nonce and a valid message good. */
static void final_case(int i, const char *nonce, const char *good, char *msg, size_t len)
{
	const char *proof = strstr(good, ",p=");

	switch (i) {
	case 0: /* channel-binding data is "y,," instead of "n,," */
		snprintf(msg, len, "c=eSws,r=%s%s", nonce, proof);
		break;
	case 1: /* nonce differs */
		snprintf(msg, len, "c=biws,r=%sX%s", nonce, proof);
		break;
	case 2: /* no proof */
		snprintf(msg, len, "c=biws,r=%s", nonce);
		break;
	case 3: /* short proof */
		snprintf(msg, len, "c=biws,r=%s,p=AAAA", nonce);
		break;
	case 4: /* attributes out of order */
		snprintf(msg, len, "r=%s,c=biws%s", nonce, proof);
		break;
	case 5: /* proof not last */
		snprintf(msg, len, "c=biws,r=%s%s,x=1", nonce, proof);
		break;
	case 6: /* proof flipped in one character */
		snprintf(msg, len, "%s", good);
		msg[strlen(msg) - 3] = msg[strlen(msg) - 3] == 'A' ? 'B' : 'A';
		break;
	default:
		snprintf(msg, len, "c=!!!,r=%s%s", nonce, proof);
		break;
	}
}

static void test_client_final_malformed(void **state)
{
	char *argon = NULL, *stored = NULL, *sf = NULL, *out = NULL;
	char good[1024], sig[128], msg[1200], nonce[256];

	(void)state;
	assert_int_equal(password_derive("pw", &fast, &argon, &stored), 0);
	for (int i = 0; i < 8; i++) {
		struct scram *s = to_server_first(stored, &sf);

		client_final("n=alice,r=abc", sf, "pw", "n,,", good, sizeof good, sig, sizeof sig);
		attr(sf, 'r', nonce, sizeof nonce);
		final_case(i, nonce, good, msg, sizeof msg);
		if (scram_client_final(s, msg, strlen(msg), &out) != -1)
			fail_msg("accepted client-final case %d: %s", i, msg);
		assert_null(out);
		/* a failed exchange stays failed, even with the right message */
		assert_int_equal(scram_client_final(s, good, strlen(good), &out), -1);
		scram_free(s);
		free(sf);
	}
	/* control: the good message passes on a fresh exchange */
	struct scram *s = to_server_first(stored, &sf);

	client_final("n=alice,r=abc", sf, "pw", "n,,", good, sizeof good, sig, sizeof sig);
	assert_int_equal(scram_client_final(s, good, strlen(good), &out), 0);
	assert_string_equal(out, sig);
	free(out);
	free(sf);
	scram_free(s);
	free(argon);
	free(stored);
}

static void test_argon2(void **state)
{
	char *argon = NULL, *stored = NULL, *argon2 = NULL, *stored2 = NULL;

	(void)state;
	assert_int_equal(password_derive("s3cret", &fast, &argon, &stored), 0);
	assert_non_null(strstr(argon, "m=8192,t=1"));
	assert_true(password_verify(argon, "s3cret"));
	assert_false(password_verify(argon, "s3cre"));
	assert_false(password_verify(argon, "S3cret"));
	assert_false(password_verify("not a hash", "s3cret"));
	assert_false(password_verify(NULL, "s3cret"));
	/* a fresh salt every time */
	assert_int_equal(password_derive("s3cret", &fast, &argon2, &stored2), 0);
	assert_string_not_equal(argon, argon2);
	assert_string_not_equal(stored, stored2);
	free(argon);
	free(stored);
	free(argon2);
	free(stored2);
	/* unacceptable passwords are refused */
	assert_int_equal(password_derive("", &fast, &argon, &stored), -1);
	assert_null(argon);
	assert_null(stored);
	assert_int_equal(password_derive("a\nb", &fast, &argon, &stored), -1);
}

static void test_params_and_acceptable(void **state)
{
	struct password_params p;
	char big[600];

	(void)state;
	password_params_default(&p);
	assert_int_equal(p.argon2_opslimit, 2);
	assert_int_equal(p.argon2_memlimit_kib, 19456);
	assert_int_equal(p.scram_iterations, 600000);
	assert_true(password_acceptable("x"));
	assert_false(password_acceptable(""));
	assert_false(password_acceptable(NULL));
	assert_false(password_acceptable("a\rb"));
	memset(big, 'a', 512);
	big[512] = '\0';
	assert_true(password_acceptable(big));
	big[512] = 'a';
	big[513] = '\0';
	assert_false(password_acceptable(big));
}

static void test_names(void **state)
{
	static const char *const good_acc[] = {"a",   "alice", "Bob-2",
	                                       "x_y", "Z9",    "abcdefghijklmnopqrstuvwxyz012345"};
	static const char *const bad_acc[] = {"",
	                                      "1abc",
	                                      "-a",
	                                      "_a",
	                                      "a b",
	                                      "a.b",
	                                      "é",
	                                      "al#ice",
	                                      "pchat",
	                                      "ChanServ",
	                                      "NICKSERV",
	                                      "server",
	                                      "abcdefghijklmnopqrstuvwxyz0123456"};
	static const char *const good_room[] = {"a", "general", "dev.ops", "1-2_3", "X"};
	static const char *const bad_room[] = {"", "#general", "a b", "a,b", "ü", "a:b"};
	char room50[52];

	(void)state;
	for (size_t i = 0; i < sizeof good_acc / sizeof *good_acc; i++)
		if (!names_account_valid(good_acc[i]))
			fail_msg("refused account '%s'", good_acc[i]);
	for (size_t i = 0; i < sizeof bad_acc / sizeof *bad_acc; i++)
		if (names_account_valid(bad_acc[i]))
			fail_msg("accepted account '%s'", bad_acc[i]);
	assert_false(names_account_valid(NULL));
	assert_true(names_account_valid("pchat2"));
	for (size_t i = 0; i < sizeof good_room / sizeof *good_room; i++)
		if (!names_room_valid(good_room[i]))
			fail_msg("refused room '%s'", good_room[i]);
	for (size_t i = 0; i < sizeof bad_room / sizeof *bad_room; i++)
		if (names_room_valid(bad_room[i]))
			fail_msg("accepted room '%s'", bad_room[i]);
	memset(room50, 'r', 50);
	room50[50] = '\0';
	assert_true(names_room_valid(room50));
	room50[50] = 'r';
	room50[51] = '\0';
	assert_false(names_room_valid(room50));
	assert_false(names_room_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc7677_vector),
	    cmocka_unit_test(test_rfc7677_wrong_proof),
	    cmocka_unit_test(test_full_exchange),
	    cmocka_unit_test(test_unknown_user),
	    cmocka_unit_test(test_client_first_malformed),
	    cmocka_unit_test(test_saslname_escapes),
	    cmocka_unit_test(test_client_final_malformed),
	    cmocka_unit_test(test_argon2),
	    cmocka_unit_test(test_params_and_acceptable),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
