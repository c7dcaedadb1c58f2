/*
 * id.c — time-ordered random ids.
 */
#include "common/id.h"

#include <sodium.h>
#include <string.h>

static const char crockford[] = "0123456789abcdefghjkmnpqrstvwxyz";

void id_random(void *buf, unsigned n)
{
	randombytes_buf(buf, n);
}

/*
 * Random bytes for ids, drawn from the CSPRNG 4 KiB at a time: one system
 * call per ~400 ids instead of one per id. Per thread, so no lock.
 */
static void id_entropy(uint8_t *out, unsigned n)
{
	static __thread uint8_t pool[4096];
	static __thread unsigned left;

	if (left < n) {
		randombytes_buf(pool, sizeof(pool));
		left = sizeof(pool);
	}
	memcpy(out, pool + sizeof(pool) - left, n);
	sodium_memzero(pool + sizeof(pool) - left, n);
	left -= n;
}

void id_new(int64_t ms, char out[ID_LEN + 1])
{
	uint8_t b[16];
	uint64_t t = (uint64_t)ms, hi = 0, lo = 0;

	for (int i = 0; i < 6; i++)
		b[i] = (uint8_t)(t >> (40 - 8 * i));
	id_entropy(b + 6, 10);
	/*
	 * 128 bits -> 26 base32 digits (130 bits; the first digit holds 3),
	 * five bits at a time from the right of the 128-bit number hi:lo.
	 */
	for (int i = 0; i < 8; i++) {
		hi = hi << 8 | b[i];
		lo = lo << 8 | b[8 + i];
	}
	for (int i = ID_LEN - 1; i >= 0; i--) {
		out[i] = crockford[lo & 31];
		lo = lo >> 5 | hi << 59;
		hi >>= 5;
	}
	out[ID_LEN] = '\0';
}
