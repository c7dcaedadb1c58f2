/*
 * b64.c — strict base64 decoding (b64.h) over libsodium.
 */
#include "common/b64.h"

#include <sodium.h>
#include <string.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";

int b64_decode(const char *s, size_t n, unsigned char *out, size_t max, size_t *outlen)
{
	const char *end = NULL;

	*outlen = 0;
	if (strnlen(s, n) != n || strspn(s, alphabet) < n)
		return -1;
	if (sodium_base642bin(out, max, s, n, NULL, outlen, &end, sodium_base64_VARIANT_ORIGINAL) !=
	    0)
		return -1;
	return end == s + n ? 0 : -1;
}
