/*
 * b64.h — strict base64 (RFC 4648, standard alphabet, padded) decoding for
 * what clients send (SASL PLAIN payloads, SCRAM messages).
 */
#ifndef PCHAT_COMMON_B64_H
#define PCHAT_COMMON_B64_H

#include <stddef.h>

/*
 * Decode exactly the n characters at s into out (max bytes), *outlen the
 * bytes written. Every character must be of the alphabet (libsodium 1.0.18
 * alone accepts some bytes >= 0x80, e.g. "\xd5JQD", found by fuzzing) and
 * all of them must be read. 0, or -1 (out's content then undefined).
 */
int b64_decode(const char *s, size_t n, unsigned char *out, size_t max, size_t *outlen);

#endif
