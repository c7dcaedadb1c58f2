/*
 * lg.h — the load generator's shared state: options, the run, its clients
 * and the counters they update.
 *
 * One libevent loop drives everything on one thread; the run (struct lg)
 * owns every client. lg_client.c speaks IRC for one client; loadgen.c
 * parses options, paces the phases and reports. Nothing here is
 * thread-safe, on purpose.
 */
#ifndef PCHAT_BENCH_LG_H
#define PCHAT_BENCH_LG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lg_hist.h"

struct event_base;
struct event;

enum lg_mode {
	LG_MODE_THROUGHPUT, /* senders keep a window of unacknowledged messages full */
	LG_MODE_LATENCY,    /* a fixed aggregate rate */
	LG_MODE_IDLE,       /* connect, register, measure server RSS */
	LG_MODE_CONNECT,    /* measure how fast everyone gets registered and joined */
};

enum lg_phase {
	LG_PHASE_SETUP,   /* connecting, registering, joining */
	LG_PHASE_WARMUP,  /* sending, not counting */
	LG_PHASE_MEASURE, /* sending and counting */
	LG_PHASE_DRAIN,   /* not sending, waiting for what is in flight */
	LG_PHASE_SETTLE,  /* idle mode: waiting before reading the RSS */
	LG_PHASE_DONE,    /* leaving the loop */
};

/* Capabilities the load generator asks for (bit flags). */
enum lg_cap {
	LG_CAP_ECHO = 1 << 0,  /* echo-message */
	LG_CAP_TIME = 1 << 1,  /* server-time */
	LG_CAP_TAGS = 1 << 2,  /* message-tags */
	LG_CAP_BATCH = 1 << 3, /* batch */
	LG_CAP_SASL = 1 << 4,  /* sasl (only when --sasl is given) */
	LG_CAP_ALL = (1 << 5) - 1,
};

/* SASL mechanisms the load generator speaks (--sasl-mech). */
enum lg_sasl_mech {
	LG_SASL_PLAIN, /* RFC 4616: the server runs Argon2id per login */
	LG_SASL_SCRAM, /* SCRAM-SHA-256 (RFC 7677): PBKDF2 on the client, cached */
};

struct lg_opts {
	const char *host;        /* server address (numeric or name) */
	int port;                /* server port */
	int port2;               /* second server of a pool, 0 = none (lg_server_of) */
	int n_clients;           /* connections to open */
	int n_rooms;             /* rooms #bench0..#bench{R-1}; 0 = no JOIN */
	int rooms_per_client;    /* rooms each client joins */
	int n_senders;           /* clients that send (the first ones) */
	double rate;             /* aggregate msgs/s; 0 = window-paced */
	int window;              /* unacknowledged messages per sender */
	int size;                /* message body bytes */
	double duration;         /* measured seconds */
	double warmup;           /* unmeasured seconds before */
	double settle;           /* idle mode: seconds to wait before reading RSS */
	double drain;            /* seconds to wait for in-flight messages after */
	double setup_timeout;    /* seconds allowed for connecting everyone */
	const char *sasl_user;   /* printf pattern with one %d, or NULL */
	const char *sasl_pass;   /* SASL password, or NULL */
	enum lg_sasl_mech mech;  /* --sasl-mech */
	const char *scram_cache; /* --scram-cache file of derived keys, or NULL */
	bool scram_warmup;       /* SCRAM: untimed pass learning salts first */
	const char *nick_prefix; /* nick = prefix + client index */
	const char *oper_name;   /* OPER after 001 (e.g. to lift flood limits), or NULL */
	const char *oper_pass;   /* OPER password */
	const char *umode;       /* MODE <nick> <umode> after 001, or NULL */
	enum lg_mode mode;       /* what to measure */
	pid_t server_pid;        /* 0 = unknown */
	pid_t server_pid2;       /* second server (--port2), 0 = unknown */
	bool json;               /* one JSON object on stdout */
	double connect_rate;     /* new connections per second, 0 = all at once */
	int max_inflight;        /* connections handshaking at once */
	uint32_t bind_first;     /* first local source address (host order), 0 = none */
	uint32_t bind_last;      /* last local source address (host order) */
	int verbose;             /* print protocol problems to stderr */
};

struct lg_counters {
	uint64_t sent;           /* PRIVMSGs written */
	uint64_t acked;          /* acknowledged by echo or PONG */
	uint64_t delivered;      /* received by a client other than the sender */
	uint64_t errors;         /* error numerics and FAIL after registration */
	uint64_t other;          /* lines counted and ignored */
	uint64_t skipped;        /* rate mode: sends skipped, output backlogged */
	struct lg_hist delivery; /* send-to-delivery latency, ns */
	struct lg_hist ack;      /* send-to-acknowledgement latency, ns */
	struct lg_hist local;    /* --port2: deliveries from a sender on the same server, ns */
	struct lg_hist cross;    /* --port2: deliveries from a sender on the other server, ns */
	uint64_t unclassified;   /* --port2: deliveries whose sender nick is not ours */
};

struct lg_client;
struct lg_scram_key;

/* The SCRAM warm-up pass and key cache (--sasl-mech SCRAM-SHA-256). */
struct lg_scram_run {
	struct lg_scram_key *keys; /* n_clients entries, by client index */
	bool priming;              /* the warm-up pass is running */
	int n_primed;              /* warm-up: clients whose salt was learnt */
	int n_prime_failed;        /* warm-up: clients that failed */
	int n_loaded;              /* keys read from --scram-cache */
	int n_derived;             /* keys derived between the passes */
	int n_derive_failed;       /* derivations that failed */
	double warmup_s;           /* warm-up pass, seconds */
	double derive_s;           /* derivation between the passes, seconds */
	int n_inline;              /* timed pass: keys derived during a login (cache miss) */
	int n_bad_sig;             /* timed pass: server signatures that were wrong */
	int64_t t_timed;           /* ns: when the timed pass starts, 0 = not waiting */
};

struct lg {
	struct lg_opts o;          /* options */
	struct event_base *base;   /* the one loop */
	struct event *tick;        /* periodic pacing timer */
	struct sockaddr_in addr;   /* server address */
	struct sockaddr_in addr2;  /* second server's address (--port2) */
	char peer_prefix[48];      /* our nicks are peer_prefix + index + peer_suffix */
	char peer_suffix[48];      /* (a --sasl pattern split at its %d) */
	struct lg_client *clients; /* n_clients clients */
	int *room_members;         /* members per room */
	enum lg_phase phase;       /* where the run is */
	int n_started;             /* connections started */
	int n_inflight;            /* started, neither ready nor failed */
	int n_ready;               /* registered and joined */
	int n_failed;              /* gave up during setup */
	int n_closed;              /* closed by the server after setup */
	uint32_t bind_next;        /* next source address to bind */
	int64_t t_start;           /* ns: run start */
	int64_t t_setup_done;      /* ns: every client ready or failed */
	int64_t t_phase;           /* ns: current phase began */
	int64_t t_measure;         /* ns: measurement began */
	int64_t t_measure_end;     /* ns: measurement ended */
	uint64_t rate_sent;        /* rate mode: messages sent since pacing began */
	int64_t t_rate;            /* ns: rate pacing began */
	int rr;                    /* rate mode: next sender, round robin */
	uint64_t expected;         /* deliveries owed for every message sent */
	uint64_t delivered_all;    /* deliveries received, measured or not */
	uint64_t sent_all;         /* messages sent, measured or not */
	uint64_t acked_all;        /* acknowledgements, measured or not */
	struct lg_counters c;      /* counted during LG_PHASE_MEASURE */
	struct lg_hist handshake;  /* connect-to-ready times, ns */
	struct lg_hist sasl;       /* AUTHENTICATE <mech> to 903, ns */
	struct lg_scram_run scram; /* SCRAM warm-up and key cache */
	double storm_cpu_before;   /* connect mode: server CPU s at the timed start */
	double storm_cpu_after;    /* connect mode: server CPU s when setup ended */
	unsigned caps_seen;        /* caps enabled on the first ready client */
	int64_t rss_before;        /* KiB, -1 unknown */
	int64_t rss_after;         /* KiB, -1 unknown */
	double cpu_before;         /* server CPU seconds, -1 unknown */
	double cpu_after;          /* server CPU seconds, -1 unknown */
	int64_t rss2_before;       /* second server, KiB, -1 unknown */
	int64_t rss2_after;        /* second server, KiB, -1 unknown */
	double cpu2_before;        /* second server CPU seconds, -1 unknown */
	double cpu2_after;         /* second server CPU seconds, -1 unknown */
	double self_cpu_before;    /* our CPU seconds at measurement start */
	double self_cpu_after;     /* our CPU seconds at measurement end */
	int exit_code;             /* process exit status */
};

/* Whether phase counts traffic. */
static inline bool lg_measuring(const struct lg *lg)
{
	return lg->phase == LG_PHASE_MEASURE;
}

/* Whether senders may send in the current phase. */
static inline bool lg_sending(const struct lg *lg)
{
	return lg->phase == LG_PHASE_WARMUP || lg->phase == LG_PHASE_MEASURE;
}

/*
 * Which server client idx talks to when there are two (--port2): 0 for
 * --port, 1 for --port2. The clients of each room alternate between the
 * servers: client idx joins rooms idx*K .. idx*K+K-1 (mod R), so the
 * (idx*K / R)-th pass over the rooms goes to one server and the next pass
 * to the other. With one room or none that is simply the index's parity
 * (odd clients on --port2). A plain parity rule would put every member of
 * a room on one server whenever R is even (room r holds r, r+R, r+2R...).
 */
static inline int lg_server_of(int idx, int n_rooms, int rooms_per_client)
{
	if (n_rooms <= 1 || rooms_per_client <= 0)
		return idx & 1;
	return (int)(((int64_t)idx * rooms_per_client / n_rooms) & 1);
}

/* Called by lg_client when a client finished setup (ok) or gave up. */
void lg_on_client_ready(struct lg *lg, struct lg_client *c);
void lg_on_client_failed(struct lg *lg, struct lg_client *c);
/* Called by lg_client in the SCRAM warm-up pass when c learnt its salt. */
void lg_on_client_primed(struct lg *lg, struct lg_client *c);
/* Called by lg_client when a ready client's connection ends. */
void lg_on_client_closed(struct lg *lg, struct lg_client *c);

/* The --help text (lg_usage.c). */
extern const char lg_usage_text[];

#endif
