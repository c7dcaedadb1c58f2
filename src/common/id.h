/*
 * id.h — message ids: 26 characters of Crockford base32 holding 48 bits of
 * milliseconds and 80 random bits, so ids sort by time and never collide in
 * practice (IRCv3 msgid).
 */
#ifndef PCHAT_COMMON_ID_H
#define PCHAT_COMMON_ID_H

#include <stdint.h>

#define ID_LEN 26 /* characters, without the NUL */

/* Write a new id for time ms into out (ID_LEN + 1 bytes). */
void id_new(int64_t ms, char out[ID_LEN + 1]);

/* Fill buf with n random bytes from the system CSPRNG (libsodium). */
void id_random(void *buf, unsigned n);

#endif
