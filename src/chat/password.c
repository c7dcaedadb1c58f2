/*
 * password.c — deriving and checking stored credentials (password.h).
 *
 * Argon2id through libsodium's crypto_pwhash_str, whose output string
 * carries its own parameters, so raising the cost later only affects new
 * passwords. The SCRAM half is computed by scram.c.
 *
 * Deliberately not here: any policy on password strength (administrators
 * set passwords; pchatctl generates random ones) and any logging.
 */
#include "chat/password.h"

#include "chat/password_int.h"
#include "common/id.h"
#include "common/str.h"
#include "common/xmalloc.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static int crypto_status; /* result of sodium_init, read after the once */

static void crypto_init_once(void)
{
	crypto_status = sodium_init() < 0 ? -1 : 0;
}

int password_crypto_init(void)
{
	pthread_once(&crypto_once, crypto_init_once);
	return crypto_status;
}

void password_params_default(struct password_params *p)
{
	p->argon2_opslimit = 2;
	p->argon2_memlimit_kib = 19456;
	p->scram_iterations = 600000;
}

bool password_acceptable(const char *password)
{
	size_t n;

	if (!password)
		return false;
	n = strlen(password);
	return n >= 1 && n <= 512 && !str_has_crlfnul(password, n);
}

static int argon2_make(const char *password, const struct password_params *p, char **out)
{
	char buf[crypto_pwhash_STRBYTES];
	unsigned long long ops = (unsigned long long)p->argon2_opslimit;
	size_t mem = (size_t)p->argon2_memlimit_kib * 1024u;

	if (crypto_pwhash_str(buf, password, strlen(password), ops, mem) != 0)
		return -1;
	*out = xstrdup(buf);
	sodium_memzero(buf, sizeof buf);
	return 0;
}

int password_derive(const char *password, const struct password_params *p, char **argon2,
                    char **scram)
{
	unsigned char salt[SCRAM_SALT_LEN];
	char *a = NULL;
	int rc = -1;

	*argon2 = NULL;
	*scram = NULL;
	if (password_crypto_init() < 0 || !password_acceptable(password))
		goto out;
	if (argon2_make(password, p, &a) < 0)
		goto out;
	id_random(salt, sizeof salt);
	if (scram_stored_make(password, salt, sizeof salt, p->scram_iterations, scram) < 0)
		goto out_free_argon2;
	*argon2 = a;
	a = NULL;
	rc = 0;
out_free_argon2:
	free(a);
out:
	return rc;
}

bool password_verify(const char *argon2, const char *password)
{
	if (!argon2 || !password || password_crypto_init() < 0)
		return false;
	return crypto_pwhash_str_verify(argon2, password, strlen(password)) == 0;
}
