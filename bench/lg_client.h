/*
 * lg_client.h — one load-generator connection: connect, CAP 302
 * negotiation (echo-message, server-time, message-tags, batch, sasl), SASL
 * PLAIN or SCRAM-SHA-256, NICK/USER, JOIN, then sending and receiving benchmark messages.
 *
 * It deliberately keeps no per-message state beyond a counter: the send
 * time travels inside the message body, so acknowledgements and deliveries
 * are matched without look-ups or allocation.
 */
#ifndef PCHAT_BENCH_LG_CLIENT_H
#define PCHAT_BENCH_LG_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lg;
struct lg_scram;
struct event;
struct evbuffer;

enum lg_cstate {
	LG_C_IDLE,        /* not started */
	LG_C_CONNECTING,  /* TCP connect in progress */
	LG_C_CAP,         /* CAP LS / REQ in progress */
	LG_C_SASL,        /* AUTHENTICATE in progress */
	LG_C_REGISTERING, /* CAP END sent, waiting for 001 */
	LG_C_JOINING,     /* JOIN sent, waiting for every 366 */
	LG_C_READY,       /* registered and joined */
	LG_C_FAILED,      /* gave up during setup */
	LG_C_CLOSED,      /* closed after setup */
	LG_C_PRIMED,      /* SCRAM warm-up: salt learnt, connection closed */
};

struct lg_client {
	struct lg *lg;          /* the run that owns this client */
	int fd;                 /* the socket, when rd is set */
	struct event *rd;       /* readable; NULL when closed */
	struct event *wr;       /* connect done / room for queued output */
	struct evbuffer *out;   /* output the socket has not taken yet, or NULL */
	char *carry;            /* the unfinished last line read, or NULL */
	size_t carry_len;       /* its length */
	bool broken;            /* a write failed: close at the next safe point */
	int idx;                /* index in lg->clients */
	enum lg_cstate state;   /* lifecycle */
	char nick[40];          /* current nick */
	size_t nick_len;        /* strlen(nick) */
	unsigned caps_offered;  /* LG_CAP_* the server listed */
	unsigned caps_wanted;   /* LG_CAP_* requested */
	unsigned caps_enabled;  /* LG_CAP_* acknowledged */
	int cap_pending;        /* CAP REQ lines not yet answered */
	bool cap_split;         /* REQ retried one cap per line after a NAK */
	bool sender;            /* whether this client sends */
	int n_joined;           /* rooms joined (366 seen) */
	int next_room;          /* which of its rooms gets the next message */
	int inflight;           /* messages sent and not yet acknowledged */
	uint64_t seq;           /* next sequence number */
	int64_t t_connect;      /* ns: connection started */
	int64_t t_sasl;         /* ns: AUTHENTICATE <mech> sent */
	int sasl_step;          /* SCRAM: server messages received so far */
	struct lg_scram *scram; /* SCRAM exchange in progress, owned, or NULL */
};

/*
 * Start connecting c (index idx) to lg's server. Returns 0, or -1 when the
 * socket could not be created (c is then LG_C_FAILED; the caller counts it).
 */
int lg_client_start(struct lg *lg, struct lg_client *c, int idx);

/*
 * Write one benchmark PRIVMSG (plus a PING when acknowledgements come by
 * PONG) to the next of c's rooms. Returns 0, or -1 when c is not ready.
 */
int lg_client_send_msg(struct lg_client *c);

/* Send until c's window of unacknowledged messages is full. */
void lg_client_fill_window(struct lg_client *c);

/* Bytes waiting in c's output buffer (0 when closed). */
size_t lg_client_backlog(const struct lg_client *c);

/*
 * Close c's connection (if open) and free what it holds (the SCRAM
 * exchange too); c stays valid.
 */
void lg_client_close(struct lg_client *c);

/* Room index of c's j-th room. */
int lg_client_room(const struct lg *lg, int idx, int j);

/* Names of the LG_CAP_* flags in caps, space-separated, into buf. */
void lg_caps_str(unsigned caps, char *buf, size_t cap);

#endif
