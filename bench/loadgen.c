/*
 * loadgen.c — pchat-loadgen: an IRC load generator for benchmarking pchatd
 * (and, for comparison, other IRC servers such as ngIRCd or InspIRCd).
 *
 * This file parses the options, opens the connections at a bounded pace,
 * drives the phases (setup, warmup, measure, drain) from one periodic
 * timer, paces the fixed-rate mode and hands the counters to lg_report.c.
 * With --port2 the clients are split over two servers of one pool
 * (lg_server_of in lg.h) and deliveries are classified as same-server or
 * cross-server (lg_client.c). With --sasl-mech SCRAM-SHA-256 an untimed
 * warm-up pass first learns every account's salt, the keys are derived on
 * every core (lg_keys.c), and only then does the timed pass start: a storm
 * of clients that reconnect with cached keys (RFC 5802 §5.1). The IRC
 * conversation of each connection lives in lg_client.c. It deliberately runs one thread and one
 * libevent loop: the server under test usually shares the machine's cores with it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/event.h>
#include <sodium.h>

#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "lg.h"
#include "lg_client.h"
#include "lg_keys.h"
#include "lg_proc.h"
#include "lg_report.h"

#define TICK_US          5000         /* pacing timer period */
#define KICK_EVERY_TICKS 20           /* throughput mode: re-fill windows every 100 ms */
#define BACKLOG_LIMIT    (256 * 1024) /* rate mode: skip a sender with this much queued */
#define NS               1000000000.0

enum {
	OPT_HOST = 256,
	OPT_PORT,
	OPT_PORT2,
	OPT_SERVER_PID2,
	OPT_CLIENTS,
	OPT_ROOMS,
	OPT_RPC,
	OPT_SENDERS,
	OPT_RATE,
	OPT_WINDOW,
	OPT_SIZE,
	OPT_DURATION,
	OPT_WARMUP,
	OPT_DRAIN,
	OPT_SETTLE,
	OPT_SETUP_TIMEOUT,
	OPT_SASL,
	OPT_NICK_PREFIX,
	OPT_MODE,
	OPT_SERVER_PID,
	OPT_JSON,
	OPT_CONNECT_RATE,
	OPT_MAX_HANDSHAKES,
	OPT_BIND_RANGE,
	OPT_OPER,
	OPT_UMODE,
	OPT_SASL_MECH,
	OPT_SCRAM_CACHE,
	OPT_NO_WARMUP,
};

static const struct option long_opts[] = {
    {"host", required_argument, NULL, OPT_HOST},
    {"port", required_argument, NULL, OPT_PORT},
    {"port2", required_argument, NULL, OPT_PORT2},
    {"server-pid2", required_argument, NULL, OPT_SERVER_PID2},
    {"clients", required_argument, NULL, OPT_CLIENTS},
    {"rooms", required_argument, NULL, OPT_ROOMS},
    {"rooms-per-client", required_argument, NULL, OPT_RPC},
    {"senders", required_argument, NULL, OPT_SENDERS},
    {"rate", required_argument, NULL, OPT_RATE},
    {"window", required_argument, NULL, OPT_WINDOW},
    {"size", required_argument, NULL, OPT_SIZE},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"drain", required_argument, NULL, OPT_DRAIN},
    {"settle", required_argument, NULL, OPT_SETTLE},
    {"setup-timeout", required_argument, NULL, OPT_SETUP_TIMEOUT},
    {"sasl", required_argument, NULL, OPT_SASL},
    {"nick-prefix", required_argument, NULL, OPT_NICK_PREFIX},
    {"mode", required_argument, NULL, OPT_MODE},
    {"server-pid", required_argument, NULL, OPT_SERVER_PID},
    {"json", no_argument, NULL, OPT_JSON},
    {"connect-rate", required_argument, NULL, OPT_CONNECT_RATE},
    {"max-handshakes", required_argument, NULL, OPT_MAX_HANDSHAKES},
    {"bind-range", required_argument, NULL, OPT_BIND_RANGE},
    {"oper", required_argument, NULL, OPT_OPER},
    {"umode", required_argument, NULL, OPT_UMODE},
    {"sasl-mech", required_argument, NULL, OPT_SASL_MECH},
    {"scram-cache", required_argument, NULL, OPT_SCRAM_CACHE},
    {"no-scram-warmup", no_argument, NULL, OPT_NO_WARMUP},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int parse_int(const char *s, int min, int max, int *out)
{
	int64_t v;

	if (str_to_i64(s, min, max, &v) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

static int parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_mode(const char *s, enum lg_mode *mode)
{
	static const char *const names[] = {"throughput", "latency", "idle", "connect"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*mode = (enum lg_mode)i;
			return 0;
		}
	}
	return -1;
}

/* "user%d:password": exactly one %d and no other conversion in the pattern. */
static int parse_sasl(char *s, struct lg_opts *o)
{
	char *colon = strchr(s, ':');
	const char *pct;

	if (!colon)
		return -1;
	*colon = '\0';
	pct = strchr(s, '%');
	if (!pct || pct[1] != 'd' || strchr(pct + 2, '%') || strlen(s) > 40)
		return -1;
	o->sasl_user = s;
	o->sasl_pass = colon + 1;
	return 0;
}

static int parse_mech(const char *s, struct lg_opts *o)
{
	if (str_ieq(s, "PLAIN"))
		o->mech = LG_SASL_PLAIN;
	else if (str_ieq(s, "SCRAM-SHA-256"))
		o->mech = LG_SASL_SCRAM;
	else
		return -1;
	return 0;
}

static int parse_oper(char *s, struct lg_opts *o)
{
	char *colon = strchr(s, ':');

	if (!colon || colon == s || strchr(s, ' '))
		return -1;
	*colon = '\0';
	o->oper_name = s;
	o->oper_pass = colon + 1;
	return 0;
}

static int parse_bind_range(char *s, struct lg_opts *o)
{
	char *dash = strchr(s, '-');
	struct in_addr a, b;

	if (dash)
		*dash = '\0';
	if (inet_pton(AF_INET, s, &a) != 1 || inet_pton(AF_INET, dash ? dash + 1 : s, &b) != 1)
		return -1;
	o->bind_first = ntohl(a.s_addr);
	o->bind_last = ntohl(b.s_addr);
	return o->bind_first <= o->bind_last ? 0 : -1;
}

static void opts_default(struct lg_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->port = 6667;
	o->n_clients = 50;
	o->n_rooms = 1;
	o->rooms_per_client = 1;
	o->n_senders = -1;
	o->window = 10;
	o->size = 100;
	o->duration = 10;
	o->warmup = 2;
	o->drain = 3;
	o->settle = 3;
	o->setup_timeout = 120;
	o->nick_prefix = "bench";
	o->mode = LG_MODE_THROUGHPUT;
	o->max_inflight = 200;
	o->mech = LG_SASL_PLAIN;
	o->scram_warmup = true;
}

/* A numeric option; returns 0, -1 when its value is bad, 1 when not numeric. */
static int parse_number(int opt, const char *arg, struct lg_opts *o)
{
	int pid = 0, rc = 1;

	switch (opt) {
	case OPT_PORT:
		rc = parse_int(arg, 1, 65535, &o->port);
		break;
	case OPT_PORT2:
		rc = parse_int(arg, 1, 65535, &o->port2);
		break;
	case OPT_CLIENTS:
		rc = parse_int(arg, 1, 1000000, &o->n_clients);
		break;
	case OPT_ROOMS:
		rc = parse_int(arg, 0, 1000000, &o->n_rooms);
		break;
	case OPT_RPC:
		rc = parse_int(arg, 0, 1000, &o->rooms_per_client);
		break;
	case OPT_SENDERS:
		rc = parse_int(arg, 0, 1000000, &o->n_senders);
		break;
	case OPT_RATE:
		rc = parse_double(arg, 0, 1e8, &o->rate);
		break;
	case OPT_WINDOW:
		rc = parse_int(arg, 1, 100000, &o->window);
		break;
	case OPT_SIZE:
		rc = parse_int(arg, 1, 8000, &o->size);
		break;
	case OPT_DURATION:
		rc = parse_double(arg, 0.1, 86400, &o->duration);
		break;
	case OPT_WARMUP:
		rc = parse_double(arg, 0, 86400, &o->warmup);
		break;
	case OPT_DRAIN:
		rc = parse_double(arg, 0, 3600, &o->drain);
		break;
	case OPT_SETTLE:
		rc = parse_double(arg, 0, 3600, &o->settle);
		break;
	case OPT_SETUP_TIMEOUT:
		rc = parse_double(arg, 1, 86400, &o->setup_timeout);
		break;
	case OPT_SERVER_PID:
		rc = parse_int(arg, 1, 1 << 30, &pid);
		o->server_pid = pid;
		break;
	case OPT_SERVER_PID2:
		rc = parse_int(arg, 1, 1 << 30, &pid);
		o->server_pid2 = pid;
		break;
	case OPT_CONNECT_RATE:
		rc = parse_double(arg, 0, 1e7, &o->connect_rate);
		break;
	case OPT_MAX_HANDSHAKES:
		rc = parse_int(arg, 1, 1000000, &o->max_inflight);
		break;
	}
	return rc;
}

/* One option; returns 0, or -1 when its value is bad. */
static int parse_one(int opt, char *arg, struct lg_opts *o, bool *mode_set)
{
	int rc = parse_number(opt, arg, o);

	if (rc <= 0)
		return rc;
	rc = 0;
	switch (opt) {
	case OPT_HOST:
		o->host = arg;
		break;
	case OPT_SASL:
		rc = parse_sasl(arg, o);
		break;
	case OPT_NICK_PREFIX:
		o->nick_prefix = arg;
		break;
	case OPT_MODE:
		rc = parse_mode(arg, &o->mode);
		*mode_set = true;
		break;
	case OPT_JSON:
		o->json = true;
		break;
	case OPT_BIND_RANGE:
		rc = parse_bind_range(arg, o);
		break;
	case OPT_OPER:
		rc = parse_oper(arg, o);
		break;
	case OPT_UMODE:
		o->umode = arg;
		break;
	case OPT_SASL_MECH:
		rc = parse_mech(arg, o);
		break;
	case OPT_SCRAM_CACHE:
		o->scram_cache = arg;
		break;
	case OPT_NO_WARMUP:
		o->scram_warmup = false;
		break;
	case 'v':
		o->verbose++;
		break;
	default:
		rc = -1;
		break;
	}
	return rc;
}

static int check_opts(struct lg_opts *o, bool mode_set)
{
	if (!mode_set && o->rate > 0)
		o->mode = LG_MODE_LATENCY;
	if (o->n_senders < 0 || o->n_senders > o->n_clients)
		o->n_senders = o->n_clients;
	if (o->rooms_per_client > o->n_rooms)
		o->rooms_per_client = o->n_rooms;
	if ((o->mode == LG_MODE_THROUGHPUT || o->mode == LG_MODE_LATENCY) &&
	    (o->n_rooms == 0 || o->rooms_per_client == 0 || o->n_senders == 0)) {
		fprintf(stderr, "pchat-loadgen: this mode needs --rooms >= 1 and senders\n");
		return -1;
	}
	if (o->mode == LG_MODE_LATENCY && o->rate <= 0) {
		fprintf(stderr, "pchat-loadgen: --mode latency needs --rate > 0\n");
		return -1;
	}
	if (o->mode == LG_MODE_THROUGHPUT)
		o->rate = 0;
	if (o->mech == LG_SASL_SCRAM && !o->sasl_user) {
		fprintf(stderr, "pchat-loadgen: --sasl-mech SCRAM-SHA-256 needs --sasl\n");
		return -1;
	}
	if (strlen(o->nick_prefix) > 20) {
		fprintf(stderr, "pchat-loadgen: --nick-prefix too long\n");
		return -1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct lg_opts *o)
{
	bool mode_set = false;
	int opt;

	opts_default(o);
	while ((opt = getopt_long(argc, argv, "hv", long_opts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(lg_usage_text, stdout);
			exit(0);
		}
		if (parse_one(opt, optarg, o, &mode_set) < 0) {
			if (opt != '?')
				fprintf(stderr, "pchat-loadgen: bad value for option: %s\n",
				        argv[optind - 1]);
			fprintf(stderr, "Try 'pchat-loadgen --help'.\n");
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pchat-loadgen: unexpected argument: %s\n", argv[optind]);
		return -1;
	}
	return check_opts(o, mode_set);
}

/* ---- environment ------------------------------------------------------ */

static void raise_nofile(const struct lg_opts *o)
{
	struct rlimit rl;
	FILE *f;
	int lo = 0, hi = 0;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < (rlim_t)o->n_clients + 32)
			fprintf(stderr, "pchat-loadgen: warning: open files limited to %llu\n",
			        (unsigned long long)rl.rlim_cur);
	}
	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	if (!f)
		return;
	if (fscanf(f, "%d %d", &lo, &hi) == 2 && !o->bind_first && o->n_clients > hi - lo - 1000)
		fprintf(stderr,
		        "pchat-loadgen: warning: %d clients and %d ephemeral ports; "
		        "consider --bind-range 127.0.0.2-127.0.0.9\n",
		        o->n_clients, hi - lo + 1);
	fclose(f);
}

static int resolve(struct lg *lg)
{
	struct addrinfo hints, *res = NULL;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(lg->o.host, NULL, &hints, &res);
	if (rc != 0 || !res) {
		fprintf(stderr, "pchat-loadgen: %s: %s\n", lg->o.host, gai_strerror(rc));
		return -1;
	}
	memcpy(&lg->addr, res->ai_addr, sizeof(lg->addr));
	lg->addr.sin_port = htons((uint16_t)lg->o.port);
	lg->addr2 = lg->addr;
	lg->addr2.sin_port = htons((uint16_t)lg->o.port2);
	freeaddrinfo(res);
	return 0;
}

static double self_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static void read_pid(pid_t pid, int64_t *rss, double *cpu)
{
	*rss = -1;
	*cpu = -1;
	if (!pid)
		return;
	if (lg_proc_rss_kib(pid, rss) < 0)
		*rss = -1;
	if (lg_proc_cpu_s(pid, cpu) < 0)
		*cpu = -1;
}

static void read_server(const struct lg *lg, int64_t *rss, double *cpu)
{
	read_pid(lg->o.server_pid, rss, cpu);
}

/* ---- phases ------------------------------------------------------------- */

static void set_phase(struct lg *lg, enum lg_phase phase, int64_t now)
{
	lg->phase = phase;
	lg->t_phase = now;
	if (phase == LG_PHASE_DONE)
		event_base_loopbreak(lg->base);
}

static void fill_all(struct lg *lg)
{
	int i;

	for (i = 0; i < lg->o.n_senders; i++)
		lg_client_fill_window(&lg->clients[i]);
}

static void begin_measure(struct lg *lg, int64_t now)
{
	double cpu;
	int64_t rss;

	memset(&lg->c, 0, sizeof(lg->c));
	read_server(lg, &rss, &cpu);
	lg->cpu_before = cpu;
	if (lg->o.mode != LG_MODE_IDLE)
		lg->rss_before = rss;
	read_pid(lg->o.server_pid2, &rss, &lg->cpu2_before);
	if (lg->o.mode != LG_MODE_IDLE)
		lg->rss2_before = rss;
	lg->self_cpu_before = self_cpu_s();
	lg->t_measure = now;
	set_phase(lg, LG_PHASE_MEASURE, now);
}

static void end_measure(struct lg *lg, int64_t now)
{
	lg->t_measure_end = now;
	read_server(lg, &lg->rss_after, &lg->cpu_after);
	read_pid(lg->o.server_pid2, &lg->rss2_after, &lg->cpu2_after);
	lg->self_cpu_after = self_cpu_s();
	set_phase(lg, LG_PHASE_DRAIN, now);
}

static void setup_done(struct lg *lg, int64_t now)
{
	double cpu;
	int64_t rss;

	lg->t_setup_done = now;
	read_server(lg, &rss, &cpu);
	lg->storm_cpu_after = cpu;
	if (lg->o.mode == LG_MODE_CONNECT)
		lg->rss_after = rss;
	if (lg->n_ready == 0) {
		fprintf(stderr, "pchat-loadgen: no client got ready\n");
		set_phase(lg, LG_PHASE_DONE, now);
		return;
	}
	switch (lg->o.mode) {
	case LG_MODE_CONNECT:
		set_phase(lg, LG_PHASE_DONE, now);
		break;
	case LG_MODE_IDLE:
		set_phase(lg, LG_PHASE_SETTLE, now);
		break;
	default:
		set_phase(lg, LG_PHASE_WARMUP, now);
		lg->t_rate = now;
		lg->rate_sent = 0;
		if (lg->o.warmup <= 0)
			begin_measure(lg, now);
		if (lg->o.rate == 0)
			fill_all(lg);
		break;
	}
}

static void start_more(struct lg *lg, int64_t now);

/* The timed pass: every client again, from a clean slate. */
static void begin_timed(struct lg *lg, int64_t now)
{
	int64_t rss;

	lg->scram.t_timed = 0;
	lg->n_started = lg->n_inflight = lg->n_ready = lg->n_failed = 0;
	lg->bind_next = lg->o.bind_first;
	lg->t_start = lg->t_phase = now;
	read_server(lg, &rss, &lg->storm_cpu_before);
	if (lg->o.mode == LG_MODE_IDLE || lg->o.mode == LG_MODE_CONNECT)
		lg->rss_before = rss;
	start_more(lg, now);
}

/*
 * The SCRAM warm-up pass is over: every client knows its salt. Derive the
 * missing keys on every core (the loop waits: nothing is timed), keep them
 * in --scram-cache, and start the timed pass a second later, once the
 * server has reaped the warm-up connections.
 */
static void prime_done(struct lg *lg, int64_t now)
{
	struct lg_scram_run *sr = &lg->scram;
	int64_t t0 = time_mono_ns();
	int i;

	sr->warmup_s = (double)(now - lg->t_start) / NS;
	sr->n_prime_failed = lg->n_failed;
	sr->priming = false;
	for (i = 0; i < lg->o.n_clients; i++) {
		lg_client_close(&lg->clients[i]);
		memset(&lg->clients[i], 0, sizeof(lg->clients[i]));
	}
	sr->n_derived =
	    lg_keys_derive(sr->keys, lg->o.n_clients, lg->o.sasl_pass, 0, &sr->n_derive_failed);
	sr->derive_s = (double)(time_mono_ns() - t0) / NS;
	if (lg->o.scram_cache &&
	    lg_keys_save(lg->o.scram_cache, lg->o.sasl_user, sr->keys, lg->o.n_clients) < 0)
		fprintf(stderr, "pchat-loadgen: cannot write %s: %s\n", lg->o.scram_cache,
		        strerror(errno));
	sr->t_timed = time_mono_ns() + (int64_t)NS;
}

/* Every client of the current pass is ready (or primed) or failed. */
static void check_pass_done(struct lg *lg, int64_t now)
{
	int done = lg->scram.priming ? lg->scram.n_primed : lg->n_ready;

	if (lg->phase != LG_PHASE_SETUP || done + lg->n_failed != lg->o.n_clients)
		return;
	if (lg->scram.priming)
		prime_done(lg, now);
	else
		setup_done(lg, now);
}

void lg_on_client_primed(struct lg *lg, struct lg_client *c)
{
	(void)c;
	lg->n_inflight--;
	lg->scram.n_primed++;
	check_pass_done(lg, time_mono_ns());
}

void lg_on_client_ready(struct lg *lg, struct lg_client *c)
{
	int64_t now = time_mono_ns();
	int j;

	lg->n_inflight--;
	lg->n_ready++;
	for (j = 0; lg->o.n_rooms && j < lg->o.rooms_per_client; j++)
		lg->room_members[lg_client_room(lg, c->idx, j)]++;
	lg_hist_add(&lg->handshake, (uint64_t)(now - c->t_connect));
	if (lg->n_ready == 1)
		lg->caps_seen = c->caps_enabled;
	check_pass_done(lg, now);
}

void lg_on_client_closed(struct lg *lg, struct lg_client *c)
{
	int j;

	lg->n_closed++;
	for (j = 0; lg->o.n_rooms && j < lg->o.rooms_per_client; j++)
		lg->room_members[lg_client_room(lg, c->idx, j)]--;
}

void lg_on_client_failed(struct lg *lg, struct lg_client *c)
{
	(void)c;
	lg->n_inflight--;
	lg->n_failed++;
	check_pass_done(lg, time_mono_ns());
}

static void start_more(struct lg *lg, int64_t now)
{
	int64_t allowed = lg->o.n_clients;

	if (lg->o.connect_rate > 0)
		allowed = 1 + (int64_t)(lg->o.connect_rate * (double)(now - lg->t_start) / NS);
	while (lg->n_started < lg->o.n_clients && lg->n_started < allowed &&
	       lg->n_inflight < lg->o.max_inflight) {
		lg->n_started++;
		lg->n_inflight++;
		lg_client_start(lg, &lg->clients[lg->n_started - 1], lg->n_started - 1);
	}
}

/* Give up on every client still handshaking when the setup time is over. */
static void setup_timeout(struct lg *lg, int64_t now)
{
	struct lg_client *c;
	int i, n = 0;

	for (i = 0; i < lg->o.n_clients; i++) {
		c = &lg->clients[i];
		if (c->state == LG_C_READY || c->state == LG_C_FAILED || c->state == LG_C_PRIMED)
			continue;
		if (c->state == LG_C_IDLE) {
			lg->n_inflight++; /* never started: count it as failed too */
			lg->n_started++;
		}
		c->state = LG_C_FAILED;
		lg_client_close(c);
		n++;
		lg_on_client_failed(lg, c);
	}
	fprintf(stderr, "pchat-loadgen: %s timeout: %d clients not ready\n",
	        lg->scram.priming ? "warm-up" : "setup", n);
	check_pass_done(lg, now);
}

/* ---- pacing ------------------------------------------------------------- */

/* The next ready, not backlogged sender after lg->rr, or NULL. */
static struct lg_client *next_sender(struct lg *lg)
{
	struct lg_client *c;
	int tries;

	for (tries = 0; tries < lg->o.n_senders; tries++) {
		c = &lg->clients[lg->rr];
		lg->rr = (lg->rr + 1) % lg->o.n_senders;
		if (c->state == LG_C_READY && lg_client_backlog(c) < BACKLOG_LIMIT)
			return c;
	}
	return NULL;
}

/* Fixed-rate mode: send what is due since pacing began, spread round-robin. */
static void pace(struct lg *lg, int64_t now)
{
	uint64_t due = (uint64_t)(lg->o.rate * (double)(now - lg->t_rate) / NS);
	uint64_t burst_max = (uint64_t)lg->o.rate + 1;
	struct lg_client *c;

	if (due > lg->rate_sent + burst_max) {
		/* fell more than a second behind: drop the excess, it shows in the rate */
		if (lg_measuring(lg))
			lg->c.skipped += due - lg->rate_sent - burst_max;
		lg->rate_sent = due - burst_max;
	}
	while (lg->rate_sent < due) {
		lg->rate_sent++;
		c = next_sender(lg);
		if (!c || lg_client_send_msg(c) < 0) {
			if (lg_measuring(lg))
				lg->c.skipped++;
		}
	}
}

static bool drained(const struct lg *lg)
{
	return lg->delivered_all >= lg->expected && lg->acked_all >= lg->sent_all;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;
	int64_t now = time_mono_ns(), in_phase = now - lg->t_phase;
	static unsigned ticks;

	switch (lg->phase) {
	case LG_PHASE_SETUP:
		if (lg->scram.t_timed) {
			if (now >= lg->scram.t_timed)
				begin_timed(lg, now);
			break;
		}
		start_more(lg, now);
		if (now - lg->t_start > (int64_t)(lg->o.setup_timeout * NS))
			setup_timeout(lg, now);
		break;
	case LG_PHASE_WARMUP:
		if (in_phase >= (int64_t)(lg->o.warmup * NS))
			begin_measure(lg, now);
		break;
	case LG_PHASE_MEASURE:
		if (now - lg->t_measure >= (int64_t)(lg->o.duration * NS))
			end_measure(lg, now);
		break;
	case LG_PHASE_DRAIN:
		if (drained(lg) || in_phase >= (int64_t)(lg->o.drain * NS))
			set_phase(lg, LG_PHASE_DONE, now);
		break;
	case LG_PHASE_SETTLE:
		if (in_phase >= (int64_t)(lg->o.settle * NS)) {
			read_server(lg, &lg->rss_after, &lg->cpu_after);
			read_pid(lg->o.server_pid2, &lg->rss2_after, &lg->cpu2_after);
			set_phase(lg, LG_PHASE_DONE, now);
		}
		break;
	case LG_PHASE_DONE:
		break;
	}
	if (!lg_sending(lg))
		return;
	if (lg->o.rate > 0)
		pace(lg, now);
	else if (++ticks % KICK_EVERY_TICKS == 0)
		fill_all(lg);
}

static void on_sigint(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;
	int64_t now = time_mono_ns();

	fprintf(stderr, "pchat-loadgen: interrupted\n");
	if (lg->phase == LG_PHASE_MEASURE)
		end_measure(lg, now);
	set_phase(lg, LG_PHASE_DONE, now);
}

/* ---- main --------------------------------------------------------------- */

/* How our nicks read (lg_irc_nick_index): prefix + index, or the --sasl pattern. */
static void set_peer_names(struct lg *lg)
{
	const char *pct;

	if (!lg->o.sasl_user) {
		str_copy(lg->peer_prefix, lg->o.nick_prefix, sizeof(lg->peer_prefix));
		lg->peer_suffix[0] = '\0';
		return;
	}
	pct = strstr(lg->o.sasl_user, "%d"); /* parse_sasl checked: exactly one */
	snprintf(lg->peer_prefix, sizeof(lg->peer_prefix), "%.*s", (int)(pct - lg->o.sasl_user),
	         lg->o.sasl_user);
	str_copy(lg->peer_suffix, pct + 2, sizeof(lg->peer_suffix));
}

/* The key table, what --scram-cache holds, and whether to warm up first. */
static void scram_init(struct lg *lg)
{
	struct lg_scram_run *sr = &lg->scram;

	sr->keys = xcalloc((size_t)lg->o.n_clients, sizeof(*sr->keys));
	sr->priming = lg->o.scram_warmup;
	if (!lg->o.scram_cache)
		return;
	sr->n_loaded = lg_keys_load(lg->o.scram_cache, lg->o.sasl_user, sr->keys, lg->o.n_clients);
	if (sr->n_loaded < 0) {
		fprintf(stderr, "pchat-loadgen: cannot read %s: %s\n", lg->o.scram_cache,
		        strerror(errno));
		sr->n_loaded = 0;
	}
}

static void lg_init(struct lg *lg)
{
	lg->clients = xcalloc((size_t)lg->o.n_clients, sizeof(*lg->clients));
	lg->room_members = xcalloc((size_t)(lg->o.n_rooms ? lg->o.n_rooms : 1), sizeof(int));
	lg->bind_next = lg->o.bind_first;
	lg->rss_before = lg->rss_after = -1;
	lg->cpu_before = lg->cpu_after = -1;
	lg->rss2_before = lg->rss2_after = -1;
	lg->cpu2_before = lg->cpu2_after = -1;
	lg->storm_cpu_before = lg->storm_cpu_after = -1;
	set_peer_names(lg);
	if (lg->o.mech == LG_SASL_SCRAM)
		scram_init(lg);
}

static void lg_fini(struct lg *lg)
{
	int i;

	for (i = 0; i < lg->o.n_clients; i++)
		lg_client_close(&lg->clients[i]);
	free(lg->clients);
	free(lg->room_members);
	if (lg->scram.keys) {
		sodium_memzero(lg->scram.keys, (size_t)lg->o.n_clients * sizeof(*lg->scram.keys));
		free(lg->scram.keys);
	}
}

static int run(struct lg *lg)
{
	struct timeval tv = {0, TICK_US};
	struct event *sig;
	int64_t rss;
	double cpu;
	int rc = -1;

	lg->base = event_base_new();
	if (!lg->base)
		goto out;
	lg->tick = event_new(lg->base, -1, EV_PERSIST, on_tick, lg);
	sig = evsignal_new(lg->base, SIGINT, on_sigint, lg);
	if (!lg->tick || !sig)
		goto out_free_events;
	lg_init(lg);
	if (lg->o.mode == LG_MODE_IDLE || lg->o.mode == LG_MODE_CONNECT) {
		read_server(lg, &lg->rss_before, &cpu);
		read_pid(lg->o.server_pid2, &lg->rss2_before, &cpu);
	}
	lg->t_start = lg->t_phase = time_mono_ns();
	read_server(lg, &rss, &lg->storm_cpu_before);
	lg->phase = LG_PHASE_SETUP;
	start_more(lg, lg->t_start);
	event_add(lg->tick, &tv);
	event_add(sig, NULL);
	event_base_dispatch(lg->base);
	rc = 0;
	lg_report(lg);
	lg_fini(lg);
out_free_events:
	if (sig)
		event_free(sig);
	if (lg->tick)
		event_free(lg->tick);
	event_base_free(lg->base);
out:
	return rc;
}

int main(int argc, char **argv)
{
	static struct lg lg; /* large (histograms): not on the stack */

	if (parse_args(argc, argv, &lg.o) < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(&lg.o);
	if (resolve(&lg) < 0)
		return 1;
	if (run(&lg) < 0)
		return 1;
	return lg.exit_code;
}
