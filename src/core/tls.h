/*
 * tls.h — TLS server contexts for the network core (internal to src/core).
 *
 * Builds an OpenSSL SSL_CTX from a PEM certificate and key, generating a
 * self-signed pair first when neither file exists. It does not touch
 * sockets or connections: net.c makes one SSL per connection from the
 * context it currently holds.
 */
#ifndef PCHAT_CORE_TLS_H
#define PCHAT_CORE_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

/*
 * Make a server SSL_CTX (TLS 1.2 minimum, server cipher preference, no
 * compression, no renegotiation) holding cert_path and key_path, after
 * checking that they match. When both files are missing, a self-signed
 * EC P-256 certificate (CN=pchat, SAN localhost and 127.0.0.1, 10 years) is
 * written there first (parent directory 0700, key 0600, certificate 0644).
 * Logs the certificate's path and SHA-256 fingerprint.
 *
 * Returns a new context owned by the caller (SSL_CTX_free), or NULL with a
 * message in err.
 */
SSL_CTX *tls_ctx_load(const char *cert_path, const char *key_path, char *err, size_t errlen);

/*
 * Write a new self-signed EC P-256 pair to cert_path and key_path. Neither
 * file may exist (the key is created O_EXCL with mode 0600, so it is never
 * readable by others, even briefly). 0, or -1 with a message in err; on
 * failure neither file is left behind.
 */
int tls_generate_self_signed(const char *cert_path, const char *key_path, char *err, size_t errlen);

#endif
