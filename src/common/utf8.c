/*
 * utf8.c — a strict UTF-8 validator (RFC 3629 §4 table).
 */
#include "common/utf8.h"

#include <stdint.h>

bool utf8_valid(const char *str, size_t n)
{
	const uint8_t *s = (const uint8_t *)str;
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t len;
		uint8_t lo = 0x80, hi = 0xBF;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			len = 2;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			if (c == 0xE0)
				lo = 0xA0; /* overlong */
			else if (c == 0xED)
				hi = 0x9F; /* surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			if (c == 0xF0)
				lo = 0x90; /* overlong */
			else if (c == 0xF4)
				hi = 0x8F; /* above U+10FFFF */
		} else {
			return false;
		}
		if (i + len > n)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k < len; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xBF)
				return false;
		i += len;
	}
	return true;
}

size_t utf8_trunc(const char *str, size_t n)
{
	const uint8_t *s = (const uint8_t *)str;
	size_t i = n;

	/* Step back over continuation bytes to the start of the last sequence. */
	while (i > 0 && (s[i - 1] & 0xC0) == 0x80 && n - i < 3)
		i--;
	if (i > 0 && s[i - 1] >= 0xC0) {
		size_t start = i - 1;
		size_t need = s[start] >= 0xF0 ? 4 : s[start] >= 0xE0 ? 3 : 2;

		if (n - start < need)
			return start;
	}
	return n;
}
