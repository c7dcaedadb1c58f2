/*
 * fill_history.c — fill a pchat database with realistic room history for
 * the rooms-issue benchmarks (bench/run_rooms.sh).
 *
 * Usage: fill_history --data-dir DIR | --database URL
 *                     [--room NAME --messages N]
 *                     [--rooms PREFIX --n-rooms M --per-room K]
 *                     [--follow ACCOUNT] [--senders a,b,c] [--seed S]
 *                     [--batch N]
 *
 * It opens the database through store.h (created when missing, no mailbox:
 * synchronous use on store_direct) and inserts N messages into room NAME,
 * then K messages into each of the rooms PREFIX0 .. PREFIX(M-1), in
 * transactions of --batch inserts (store_begin / store_msg_insert /
 * store_commit). With --follow, ACCOUNT follows those M rooms
 * (store_follow_add). Texts are 4 to 18 words drawn with a fixed xorshift
 * generator and a skewed choice over a small English vocabulary; besides,
 * the word RARE_WORD is put into about 0.1% of the messages and COMMON_WORD
 * into about 10%, so that searches have a selective and a common word.
 * Message times are one second apart and end now. The last line of output
 * is "key=value" pairs (messages, seconds, rate, the two words and how many
 * messages hold each) for the orchestration script.
 *
 * It deliberately does not create rooms or accounts (pchatctl does that,
 * with the server's rules), nor talk to a running pchatd.
 */
#include "common/id.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RARE_WORD    "kumquat" /* in about 1 message of 1,000 */
#define COMMON_WORD  "deploy"  /* in about 1 message of 10 */
#define RARE_PER     1000      /* 1 / probability of RARE_WORD */
#define COMMON_PER   10        /* 1 / probability of COMMON_WORD */
#define MAX_SENDERS  32        /* names accepted by --senders */
#define TEXT_MAX     512       /* bytes of one generated text */
#define URL_MAX      1100      /* bytes of a database URL */
#define DEFAULT_SEED 0x9e3779b97f4a7c15ULL

/* Words of generated texts; earlier words are drawn more often. */
static const char *const vocab[] = {
    "the",      "to",       "and",      "a",          "is",       "it",        "we",
    "i",        "for",      "on",       "that",       "this",     "in",        "you",
    "of",       "be",       "can",      "with",       "will",     "not",       "have",
    "are",      "do",       "at",       "so",         "just",     "but",       "if",
    "now",      "ok",       "yes",      "no",         "think",    "build",     "test",
    "server",   "today",    "meeting",  "please",     "check",    "thanks",    "team",
    "update",   "issue",    "fix",      "branch",     "review",   "merge",     "ticket",
    "customer", "release",  "report",   "looks",      "good",     "after",     "before",
    "lunch",    "call",     "room",     "chat",       "history",  "search",    "message",
    "config",   "database", "backup",   "restore",    "network",  "latency",   "queue",
    "client",   "login",    "password", "account",    "policy",   "audit",     "compliance",
    "budget",   "quarter",  "forecast", "invoice",    "contract", "vendor",    "schedule",
    "tomorrow", "monday",   "friday",   "weekend",    "deadline", "priority",  "blocked",
    "waiting",  "done",     "started",  "finished",   "broken",   "working",   "slow",
    "fast",     "error",    "warning",  "log",        "metrics",  "dashboard", "alert",
    "oncall",   "pager",    "incident", "postmortem", "rollback", "staging",   "production",
    "cluster",  "node",     "disk",     "memory",     "cpu",      "upgrade",   "patch",
    "version",  "feature",  "design",   "document",   "draft",    "slides",    "demo",
    "question", "answer",   "idea",     "plan",       "goal",     "risk",      "trade",
    "market",   "price",    "order",    "client's",   "desk",     "london",    "tokyo",
    "newyork",  "office",   "remote",   "coffee",     "weather",  "train",     "late",
    "early",    "agree",    "disagree", "maybe",      "sure",     "great",     "sorry",
};

#define N_VOCAB (sizeof(vocab) / sizeof(vocab[0]))

struct fill_opts {
	char url[URL_MAX];                /* database URL */
	const char *room;                 /* the big room, or NULL */
	long n_messages;                  /* messages for it */
	const char *prefix;               /* small rooms' prefix, or NULL */
	long n_rooms;                     /* how many small rooms */
	long per_room;                    /* messages in each */
	const char *follow;               /* account following the small rooms, or NULL */
	const char *senders[MAX_SENDERS]; /* sender names */
	size_t n_senders;                 /* how many */
	char senders_buf[1024];           /* storage for --senders */
	uint64_t seed;                    /* generator seed */
	long batch;                       /* inserts per transaction */
};

struct fill_stats {
	long n_done;     /* messages inserted */
	long n_rare;     /* holding RARE_WORD */
	long n_common;   /* holding COMMON_WORD */
	int64_t t0_ms;   /* monotonic start of the fill */
	int64_t next_ts; /* time of the next message, in seconds */
};

static uint64_t rng_state = DEFAULT_SEED;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A vocabulary index, skewed towards the start (frequent words). */
static size_t skewed_word(void)
{
	double u = (double)(rng() % 1000000) / 1e6;

	return (size_t)(u * u * N_VOCAB);
}

/*
 * Write a message text into buf (len bytes); *rare and *common tell
 * whether the marker words went in.
 */
static void gen_text(char *buf, size_t len, bool *rare, bool *common)
{
	int n = 4 + (int)(rng() % 15);
	int rare_at = rng() % RARE_PER == 0 ? (int)(rng() % (uint64_t)n) : -1;
	int common_at = rng() % COMMON_PER == 0 ? (int)(rng() % (uint64_t)n) : -1;
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		const char *w = vocab[skewed_word()];

		if (i == rare_at)
			w = RARE_WORD;
		else if (i == common_at)
			w = COMMON_WORD;
		str_appendf(buf, len, &used, "%s%s", i ? " " : "", w);
	}
	if (rng() % 4 == 0)
		str_appendf(buf, len, &used, "%s", rng() % 2 ? "?" : ".");
	if (buf[0] >= 'a' && buf[0] <= 'z')
		buf[0] = (char)(buf[0] - 'a' + 'A');
	*rare = rare_at >= 0;
	*common = common_at >= 0;
}

/* Insert n messages into room_id in transactions of o->batch. */
static int fill_room(struct store_conn *c, const struct fill_opts *o, int64_t room_id, long n,
                     struct fill_stats *s)
{
	char text[TEXT_MAX];
	int rc = 0;

	for (long i = 0; i < n && rc == 0; i += o->batch) {
		if ((rc = store_begin(c)) != 0)
			break;
		for (long j = i; j < n && j < i + o->batch && rc == 0; j++) {
			struct store_msg m = {0};
			bool rare, common;

			m.room_id = room_id;
			m.ts_ms = s->next_ts++ * 1000;
			id_new(m.ts_ms, m.msgid);
			str_copy(m.sender, o->senders[rng() % o->n_senders], sizeof(m.sender));
			str_copy(m.kind, "PRIVMSG", sizeof(m.kind));
			gen_text(text, sizeof(text), &rare, &common);
			m.text = text;
			rc = store_msg_insert(c, &m);
			s->n_done += rc == 0;
			s->n_rare += rc == 0 && rare;
			s->n_common += rc == 0 && common;
		}
		if (rc == 0)
			rc = store_commit(c);
		else
			store_rollback(c);
	}
	return rc;
}

/* Fill the named room (which must exist). */
static int fill_named(struct store_conn *c, const struct fill_opts *o, const char *name, long n,
                      struct fill_stats *s)
{
	struct store_room r = {0};
	int rc = store_room_get(c, name, &r);

	if (rc != 0) {
		fprintf(stderr, "fill_history: room %s: %s (create it with pchatctl room add)\n",
		        name, store_strerror(rc));
		return rc;
	}
	rc = fill_room(c, o, r.id, n, s);
	if (rc != 0)
		fprintf(stderr, "fill_history: filling %s: %s\n", name, store_strerror(rc));
	store_room_free(&r);
	return rc;
}

/* The small rooms: fill each, and add the follow when asked. */
static int fill_small(struct store_conn *c, const struct fill_opts *o, struct fill_stats *s)
{
	char name[STORE_NAME_MAX];
	int rc = 0;

	for (long i = 0; i < o->n_rooms && rc == 0; i++) {
		snprintf(name, sizeof(name), "%s%ld", o->prefix, i);
		rc = fill_named(c, o, name, o->per_room, s);
		if (rc == 0 && o->follow && (rc = store_follow_add(c, o->follow, name)) != 0)
			fprintf(stderr, "fill_history: %s following %s: %s\n", o->follow, name,
			        store_strerror(rc));
	}
	return rc;
}

static void usage(FILE *f)
{
	fputs("usage: fill_history --data-dir DIR | --database URL\n"
	      "                    [--room NAME --messages N]\n"
	      "                    [--rooms PREFIX --n-rooms M --per-room K]\n"
	      "                    [--follow ACCOUNT] [--senders a,b,c] [--seed S] [--batch N]\n",
	      f);
}

static int split_senders(struct fill_opts *o, const char *list)
{
	char *save = NULL;

	str_copy(o->senders_buf, list, sizeof(o->senders_buf));
	o->n_senders = 0;
	for (char *t = strtok_r(o->senders_buf, ",", &save); t && o->n_senders < MAX_SENDERS;
	     t = strtok_r(NULL, ",", &save))
		o->senders[o->n_senders++] = t;
	return o->n_senders > 0 ? 0 : -1;
}

static int num_opt(const char *v, long min, long *out)
{
	int64_t x;

	if (!v || str_to_i64(v, min, 1000000000, &x) != 0)
		return -1;
	*out = (long)x;
	return 0;
}

/* One option k with its value v (NULL when missing); returns 0 or -1. */
static int parse_one(struct fill_opts *o, const char *k, const char *v)
{
	long x;

	if (!v)
		return -1;
	if (strcmp(k, "--data-dir") == 0)
		snprintf(o->url, sizeof(o->url), "sqlite:%s/pchat.db", v);
	else if (strcmp(k, "--database") == 0)
		str_copy(o->url, v, sizeof(o->url));
	else if (strcmp(k, "--room") == 0)
		o->room = v;
	else if (strcmp(k, "--rooms") == 0)
		o->prefix = v;
	else if (strcmp(k, "--follow") == 0)
		o->follow = v;
	else if (strcmp(k, "--senders") == 0)
		return split_senders(o, v);
	else if (strcmp(k, "--messages") == 0)
		return num_opt(v, 0, &o->n_messages);
	else if (strcmp(k, "--n-rooms") == 0)
		return num_opt(v, 0, &o->n_rooms);
	else if (strcmp(k, "--per-room") == 0)
		return num_opt(v, 0, &o->per_room);
	else if (strcmp(k, "--batch") == 0)
		return num_opt(v, 1, &o->batch);
	else if (strcmp(k, "--seed") == 0 && num_opt(v, 1, &x) == 0)
		o->seed = (uint64_t)x;
	else
		return -1;
	return 0;
}

static int parse_args(struct fill_opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	o->seed = DEFAULT_SEED;
	o->batch = 50000;
	split_senders(o, "alice,bob,carol,dave,erin,frank,grace,heidi,ivan,judy");
	for (int i = 1; i < argc; i += 2) {
		if (parse_one(o, argv[i], i + 1 < argc ? argv[i + 1] : NULL) != 0) {
			fprintf(stderr, "fill_history: bad option or value: %s\n", argv[i]);
			return -1;
		}
	}
	if (!o->url[0] || (!o->room && !o->prefix) || (o->room && o->n_messages == 0) ||
	    (o->prefix && (o->n_rooms == 0 || o->per_room == 0))) {
		fprintf(stderr, "fill_history: give a database, and --room with --messages or "
		                "--rooms with --n-rooms and --per-room\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct fill_opts o;
	struct store_options so = {0};
	struct fill_stats s = {0};
	struct store *st;
	char err[512];
	int rc = 0;
	double secs;

	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (parse_args(&o, argc, argv) != 0) {
		usage(stderr);
		return 2;
	}
	rng_state = o.seed;
	so.url = o.url;
	so.create = true;
	st = store_open(&so, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "fill_history: cannot open %s: %s\n", o.url, err);
		return 1;
	}
	s.t0_ms = time_mono_ms();
	s.next_ts = time_now_ms() / 1000 - (o.room ? o.n_messages : 0) -
	            (o.prefix ? o.n_rooms * o.per_room : 0);
	if (o.room && o.n_messages > 0)
		rc = fill_named(store_direct(st), &o, o.room, o.n_messages, &s);
	if (rc == 0 && o.prefix)
		rc = fill_small(store_direct(st), &o, &s);
	secs = (double)(time_mono_ms() - s.t0_ms) / 1e3;
	store_close(st);
	printf("messages=%ld seconds=%.2f rate=%.0f rare_word=%s rare_count=%ld common_word=%s "
	       "common_count=%ld\n",
	       s.n_done, secs, secs > 0 ? (double)s.n_done / secs : 0.0, RARE_WORD, s.n_rare,
	       COMMON_WORD, s.n_common);
	return rc == 0 ? 0 : 1;
}
