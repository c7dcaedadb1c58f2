/*
 * tls.c — server TLS contexts: load a certificate and key, or generate a
 * self-signed pair on first start.
 *
 * Deliberately not here: anything about connections, handshakes or I/O
 * (net.c drives those through libevent's OpenSSL bufferevents), client
 * certificates, and OCSP.
 */
#include "core/tls.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "common/str.h"

#define TLS_CERT_DAYS 3650 /* validity of a generated certificate */

/* Put "what: openssl reason" in err and clear the thread's error queue. */
static void tls_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	else
		str_copy(buf, errno ? strerror(errno) : "unknown error", sizeof(buf));
	snprintf(err, errlen, "%s: %s", what, buf);
	ERR_clear_error();
}

static bool tls_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* mkdir -p for the directory holding path; new directories are 0700. */
static int tls_mkdir_parent(const char *path, char *err, size_t errlen)
{
	char dir[4096];
	size_t len = str_copy(dir, path, sizeof(dir));
	char *slash;

	if (len >= sizeof(dir)) {
		snprintf(err, errlen, "path too long: %s", path);
		return -1;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			goto out_err;
		*p = '/';
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		goto out_err;
	return 0;
out_err:
	snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
	return -1;
}

/* Add one X509v3 extension given in openssl.cnf syntax. 0 or -1. */
static int tls_add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int rc;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -1;
	rc = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

/* A self-signed certificate for pkey, or NULL. */
static X509 *tls_make_cert(EVP_PKEY *pkey)
{
	X509 *x = X509_new();
	X509_NAME *name;
	unsigned char serial[16];
	BIGNUM *bn;
	bool ok;

	if (x == NULL)
		return NULL;
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto out_free;
	serial[0] &= 0x7f; /* a positive serial number (RFC 5280 §4.1.2.2) */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	if (!ok || X509_set_version(x, 2) != 1)
		goto out_free;
	if (X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), TLS_CERT_DAYS, 0, NULL) == NULL ||
	    X509_set_pubkey(x, pkey) != 1)
		goto out_free;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"pchat", -1,
	                               -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1)
		goto out_free;
	if (tls_add_ext(x, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	    tls_add_ext(x, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1") != 0 ||
	    tls_add_ext(x, NID_ext_key_usage, "serverAuth") != 0)
		goto out_free;
	if (X509_sign(x, pkey, EVP_sha256()) <= 0)
		goto out_free;
	return x;
out_free:
	X509_free(x);
	return NULL;
}

/* Create path exclusively with mode and open it for writing, or NULL. */
static FILE *tls_create(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f;

	if (fd < 0)
		return NULL;
	if (fchmod(fd, mode) != 0 || (f = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(path);
		return NULL;
	}
	return f;
}

/* Write pkey to key_path (0600) and x to cert_path (0644). 0 or -1. */
static int tls_write_pair(const char *cert_path, const char *key_path, EVP_PKEY *pkey, X509 *x,
                          char *err, size_t errlen)
{
	FILE *f = tls_create(key_path, 0600);
	int ok;

	if (f == NULL) {
		snprintf(err, errlen, "cannot create %s: %s", key_path, strerror(errno));
		return -1;
	}
	ok = PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) == 1;
	if (fclose(f) != 0 || !ok)
		goto out_unlink_key;
	f = tls_create(cert_path, 0644);
	if (f == NULL)
		goto out_unlink_key;
	ok = PEM_write_X509(f, x) == 1;
	if (fclose(f) != 0 || !ok)
		goto out_unlink_cert;
	return 0;
out_unlink_cert:
	unlink(cert_path);
out_unlink_key:
	tls_err(err, errlen, "cannot write the TLS key pair");
	unlink(key_path);
	return -1;
}

int tls_generate_self_signed(const char *cert_path, const char *key_path, char *err, size_t errlen)
{
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	int rc = -1;

	if (tls_mkdir_parent(key_path, err, errlen) != 0 ||
	    tls_mkdir_parent(cert_path, err, errlen) != 0)
		return -1;
	pkey = EVP_EC_gen("P-256");
	if (pkey == NULL) {
		tls_err(err, errlen, "cannot generate an EC key");
		goto out;
	}
	x = tls_make_cert(pkey);
	if (x == NULL) {
		tls_err(err, errlen, "cannot make a certificate");
		goto out_free_key;
	}
	rc = tls_write_pair(cert_path, key_path, pkey, x, err, errlen);
	if (rc == 0)
		log_info("net", "generated a self-signed TLS certificate in %s", cert_path);
	X509_free(x);
out_free_key:
	EVP_PKEY_free(pkey);
out:
	return rc;
}

/* Log cert_path with the SHA-256 fingerprint of the context's certificate. */
static void tls_log_fingerprint(SSL_CTX *ctx, const char *cert_path)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char hex[EVP_MAX_MD_SIZE * 3 + 1];
	size_t len = 0;

	hex[0] = '\0';
	if (x == NULL || X509_digest(x, EVP_sha256(), md, &n) != 1)
		return;
	for (unsigned int i = 0; i < n; i++)
		str_appendf(hex, sizeof(hex), &len, "%s%02X", i ? ":" : "", md[i]);
	log_info("net", "TLS certificate %s, SHA-256 fingerprint %s", cert_path, hex);
}

/* A context with the protocol settings and no certificate, or NULL. */
static SSL_CTX *tls_ctx_base(char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		tls_err(err, errlen, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
	                             SSL_OP_NO_RENEGOTIATION);
	/* Idle connections give their record buffers back (memory per conn). */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	return ctx;
}

SSL_CTX *tls_ctx_load(const char *cert_path, const char *key_path, char *err, size_t errlen)
{
	bool have_cert = tls_exists(cert_path);
	bool have_key = tls_exists(key_path);
	SSL_CTX *ctx;

	if (!have_cert && !have_key) {
		if (tls_generate_self_signed(cert_path, key_path, err, errlen) != 0)
			return NULL;
	} else if (!have_cert || !have_key) {
		snprintf(err, errlen, "TLS %s %s exists but %s does not",
		         have_cert ? "certificate" : "key", have_cert ? cert_path : key_path,
		         have_cert ? key_path : cert_path);
		return NULL;
	}
	ctx = tls_ctx_base(err, errlen);
	if (ctx == NULL)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
		tls_err(err, errlen, cert_path);
		goto out_free;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1) {
		tls_err(err, errlen, key_path);
		goto out_free;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_err(err, errlen, "TLS key does not match the certificate");
		goto out_free;
	}
	tls_log_fingerprint(ctx, cert_path);
	return ctx;
out_free:
	SSL_CTX_free(ctx);
	return NULL;
}
