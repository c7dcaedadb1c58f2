/*
 * fuzz_cap.c — libFuzzer target for the client-side input of capability
 * negotiation and of the AUTHENTICATE framing (src/irc/cmd/args.c:
 * args_cap_ls_version, args_cap_req, args_sasl_chunk, args_sasl_decode).
 *
 * The first input byte picks a mode, the rest is the data:
 *  '0' CAP LS:   the data is the version argument; 302 exactly for a
 *                decimal integer >= 302 (IRCv3 capability negotiation:
 *                a newer client gets our newest version), else 301.
 *  '1' CAP REQ:  the next byte picks version 301/302, the rest is the
 *                list. Compared with a reference reading over the
 *                capability list of docs/protocol.md: all or nothing,
 *                the exact add/remove masks, cap-notify kept under 302;
 *                the ACK/NAK line echoing the list is well-formed.
 *  '2' chunks:   the data split at '\n' is a sequence of AUTHENTICATE
 *                parameters. The gathered base64 must be exactly the
 *                chunks since the last payload, a payload ends exactly at
 *                "+" or a chunk under 400 bytes, a chunk over 400 bytes or
 *                a payload over the limit is refused, and the decoding
 *                agrees with a strict RFC 4648 reference decoder.
 *  '3' payload:  the data is a payload; the harness encodes and chunks it
 *                as IRCv3 sasl says (400-byte chunks, "+" after a full last
 *                one or alone for an empty payload): it must complete at
 *                the last chunk, not before, and decode to the same bytes.
 *
 * Deliberately not here: the mechanisms (fuzz_sasl.c), the replies'
 * wording and client state (those need a connection).
 */
#include "common/xmalloc.h"
#include "fuzz_util.h"
#include "irc/cmd/args.h"
#include "irc/irc_int.h"

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* docs/protocol.md "Capabilities", in IRC_CAPS order (the CAP LS order). */
static const char *const doc_caps[] = {
    "account-notify",
    "account-tag",
    "away-notify",
    "batch",
    "cap-notify",
    "chathistory",
    "draft/chathistory",
    "echo-message",
    "draft/event-playback",
    "extended-join",
    "invite-notify",
    "labeled-response",
    "message-tags",
    "multi-prefix",
    "sasl",
    "server-time",
    "draft/read-marker",
    "draft/message-redaction",
    "setname",
    "soju.im/search",
    "standard-replies",
    "userhost-in-names",
};
#define N_DOC_CAPS ((int)(sizeof(doc_caps) / sizeof(doc_caps[0])))

/* The table the server uses (irc_int.h). */
static const char *const irc_caps[] = {
#define X(id, name) name,
    IRC_CAPS(X)
#undef X
};

static int doc_cap(const char *name)
{
	for (int i = 0; i < N_DOC_CAPS; i++)
		if (strcmp(doc_caps[i], name) == 0)
			return i;
	return -1;
}

static void run_ls(const char *arg)
{
	size_t n = strlen(arg), z = strspn(arg, "0");
	bool digits = n > 0 && strspn(arg, "0123456789") == n;
	/* compare as decimal strings: no overflow whatever the length */
	bool big = digits && (n - z > 3 || (n - z == 3 && strcmp(arg + z, "302") >= 0));
	int v = args_cap_ls_version(arg);

	FUZZ_CHECK(v == (big ? 302 : 301));
	FUZZ_CHECK(args_cap_ls_version(NULL) == 301);
}

/* Reference: split on spaces, look every name up in the documented list. */
static int req_reference(const char *arg, int version, uint32_t *add, uint32_t *del)
{
	char *copy = xstrdup(arg), *save = NULL;
	int rc = 0;

	*add = *del = 0;
	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		bool minus = tok[0] == '-';
		int c = doc_cap(tok + minus);

		if (c < 0 || (minus && c == CAP_CAP_NOTIFY && version >= 302)) {
			*add = *del = 0;
			rc = -1;
			break;
		}
		*(minus ? del : add) |= CAPBIT(c);
	}
	free(copy);
	return rc;
}

/* The ACK/NAK echo of the list, as cap.c builds it, is a well-formed line. */
static void check_reply(const char *arg, bool ack)
{
	static struct irc_out o; /* ~8.7 KiB: not on the fuzzer's stack */
	static struct irc_msg m;
	char *copy = NULL;

	irc_out_init(&o);
	irc_out_source(&o, "pchat.example");
	irc_out_cmd(&o, "CAP");
	irc_out_param(&o, "*");
	irc_out_param(&o, ack ? "ACK" : "NAK");
	irc_out_trailing(&o, arg);
	irc_out_end(&o);
	fuzz_check_out(&o, true, &copy, &m);
	FUZZ_CHECK(m.n_params == 3 && strcmp(m.params[1], ack ? "ACK" : "NAK") == 0);
	free(copy);
}

static void run_req(const char *data)
{
	int version = data[0] && (data[0] & 1) ? 302 : 301;
	const char *arg = data[0] ? data + 1 : data;
	uint32_t add, del, radd, rdel;
	int rc = args_cap_req(arg, version, &add, &del);

	FUZZ_CHECK(N_DOC_CAPS == N_CAPS);
	for (int i = 0; i < N_CAPS; i++)
		FUZZ_CHECK(strcmp(irc_caps[i], doc_caps[i]) == 0);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(rc == req_reference(arg, version, &radd, &rdel));
	FUZZ_CHECK(add == radd && del == rdel);
	FUZZ_CHECK(((add | del) >> N_CAPS) == 0);
	FUZZ_CHECK(version < 302 || !(del & CAPBIT(CAP_CAP_NOTIFY)));
	if (strlen(arg) <= IRC_BODY_MAX && !strpbrk(arg, "\r\n"))
		check_reply(arg, rc == 0);
}

/* Strict RFC 4648 §4 base64 with padding and zero pad bits: -1 when not. */
static int b64_reference(const char *s, size_t n, unsigned char *out, size_t *out_len)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t pad = 0;
	uint32_t acc = 0;

	*out_len = 0;
	if (n % 4)
		return -1;
	while (pad < 2 && pad < n && s[n - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < n - pad; i++) {
		const char *p = s[i] ? strchr(abc, s[i]) : NULL;

		if (!p)
			return -1;
		acc = acc << 6 | (uint32_t)(p - abc);
		if (i % 4 == 3) {
			out[(*out_len)++] = (unsigned char)(acc >> 16);
			out[(*out_len)++] = (unsigned char)(acc >> 8);
			out[(*out_len)++] = (unsigned char)acc;
			acc = 0;
		}
	}
	if (pad == 2 && (acc & 0xf) == 0) {
		out[(*out_len)++] = (unsigned char)(acc >> 4);
	} else if (pad == 1 && (acc & 0x3) == 0) {
		out[(*out_len)++] = (unsigned char)(acc >> 10);
		out[(*out_len)++] = (unsigned char)(acc >> 2);
	} else if (pad) {
		return -1;
	}
	return 0;
}

static void check_decode(const char *b64, size_t n)
{
	unsigned char *want = xmalloc(n + 1);
	size_t want_len, len;
	char *got;
	int rc = args_sasl_decode(b64, n, &got, &len);

	FUZZ_CHECK(rc == b64_reference(b64, n, want, &want_len));
	if (rc == 0) {
		FUZZ_CHECK(got && len == want_len && memcmp(got, want, len) == 0);
		FUZZ_CHECK(got[len] == '\0' && len <= ARGS_SASL_MAX);
	} else {
		FUZZ_CHECK(got == NULL);
	}
	free(got);
	free(want);
}

static void drop(char **buf, size_t *len)
{
	free(*buf);
	*buf = NULL;
	*len = 0;
}

/* One AUTHENTICATE parameter; ref holds the chunks since the last payload. */
static void chunk_step(char **buf, size_t *len, char **ref, size_t *ref_len, const char *c)
{
	size_t n = strlen(c);
	bool plus = strcmp(c, "+") == 0, done;
	bool refuse = !plus && (n > ARGS_SASL_CHUNK || *ref_len + n > ARGS_SASL_B64_MAX);
	int rc = args_sasl_chunk(buf, len, c, &done);

	FUZZ_CHECK(rc == (refuse ? -1 : 0));
	if (rc != 0) {
		drop(buf, len);
		drop(ref, ref_len);
		return;
	}
	FUZZ_CHECK(done == (plus || n < ARGS_SASL_CHUNK));
	if (!plus) {
		*ref = xrealloc(*ref, *ref_len + n + 1);
		memcpy(*ref + *ref_len, c, n + 1);
		*ref_len += n;
	}
	FUZZ_CHECK(*len == *ref_len && *len <= ARGS_SASL_B64_MAX);
	FUZZ_CHECK(*len == 0 || (memcmp(*buf, *ref, *len) == 0 && (*buf)[*len] == '\0'));
	if (done) {
		check_decode(*buf ? *buf : "", *len);
		drop(buf, len);
		drop(ref, ref_len);
	}
}

static void run_chunks(char *data)
{
	char *buf = NULL, *ref = NULL;
	size_t len = 0, ref_len = 0;

	/* strsep keeps empty parameters (AUTHENTICATE :) */
	for (char *c = strsep(&data, "\n"); c; c = strsep(&data, "\n"))
		chunk_step(&buf, &len, &ref, &ref_len, c);
	free(buf);
	free(ref);
}

static void run_payload(const uint8_t *p, size_t n)
{
	size_t b64len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = xmalloc(b64len), *buf = NULL, *got = NULL;
	size_t len = 0, off = 0, total, got_len;
	bool done = false;

	if (n > ARGS_SASL_MAX)
		goto out;
	sodium_bin2base64(b64, b64len, p, n, sodium_base64_VARIANT_ORIGINAL);
	total = strlen(b64);
	while (!done) {
		char chunk[ARGS_SASL_CHUNK + 1];
		size_t k = total - off > ARGS_SASL_CHUNK ? ARGS_SASL_CHUNK : total - off;

		memcpy(chunk, b64 + off, k);
		chunk[k] = '\0';
		FUZZ_CHECK(args_sasl_chunk(&buf, &len, k ? chunk : "+", &done) == 0);
		off += k;
		/* complete exactly after the last chunk (or the "+" after it) */
		FUZZ_CHECK(done == (off == total && k < ARGS_SASL_CHUNK));
	}
	FUZZ_CHECK(len == total);
	FUZZ_CHECK(args_sasl_decode(buf ? buf : "", len, &got, &got_len) == 0);
	FUZZ_CHECK(got_len == n && memcmp(got, p, n) == 0);
	free(got);
	free(buf);
out:
	free(b64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1 || size > 3 * ARGS_SASL_B64_MAX)
		return 0;
	s = xmalloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0'; /* the parameters are C strings: they stop at a NUL */
	switch (data[0] % 4) {
	case 0:
		run_ls(s);
		break;
	case 1:
		run_req(s);
		break;
	case 2:
		run_chunks(s);
		break;
	default:
		run_payload(data + 1, size - 1);
		break;
	}
	free(s);
	return 0;
}
