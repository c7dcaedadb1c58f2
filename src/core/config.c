/*
 * config.c — the INI configuration of pchatd and pchatctl (inih).
 *
 * One table row per key says where the value goes, its type and its range;
 * one handler checks every key against that table, so an unknown section, an
 * unknown key or a value out of range is always an error naming the file and
 * line. Lines are read through our own reader so that the handler knows the
 * line it is looking at and a line longer than inih's buffer is refused
 * instead of being cut silently.
 *
 * Deliberately not here: command-line flags (each program applies its own on
 * top of the loaded struct), reloading (the caller loads into a fresh struct
 * and swaps), and anything that touches the file system besides reading the
 * one file (config_finish only computes paths).
 */
#include "core/config.h"

#include "common/log.h"
#include "common/str.h"

#include <errno.h>
#include <stdarg.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>

enum cfg_type {
	CFG_STR,    /* free text: printable, no CR/LF */
	CFG_HOST,   /* letters, digits, '.', '-' */
	CFG_TOKEN,  /* printable ASCII without spaces */
	CFG_INT,    /* integer in [min, max] */
	CFG_BOOL,   /* yes/no/true/false/on/off/1/0 */
	CFG_LISTEN, /* "[tls://]ADDR:PORT", comma-separated, repeatable */
	CFG_LEVEL,  /* log level name */
	CFG_SECS,   /* duration: N, Ns, Nm, Nh or Nd, stored as seconds in [min, max] */
	CFG_CHOICE, /* one of the words of choices ("xml|jsonl") */
};

struct cfg_key {
	const char *section; /* INI section */
	const char *name;    /* key */
	enum cfg_type type;  /* how the value is checked */
	size_t off;          /* offset of the field in struct config */
	size_t size;         /* field size (strings: buffer size) */
	int64_t min;         /* CFG_INT: smallest value; strings: shortest length */
	int64_t max;         /* CFG_INT: largest value */
	const char *choices; /* CFG_CHOICE: the words allowed, '|'-separated */
};

#define F(field) offsetof(struct config, field), sizeof(((struct config *)0)->field)
#define S(sec, key, type, field, minlen)                                                           \
	{                                                                                          \
		sec, key, type, F(field), minlen, 0, NULL                                          \
	}
#define I(sec, key, field, lo, hi)                                                                 \
	{                                                                                          \
		sec, key, CFG_INT, F(field), lo, hi, NULL                                          \
	}

static const struct cfg_key cfg_keys[] = {
    S("server", "name", CFG_HOST, server_name, 1),
    S("server", "network", CFG_TOKEN, network, 1),
    S("server", "data_dir", CFG_STR, data_dir, 1),
    S("server", "motd_file", CFG_STR, motd_file, 0),
    {"server", "listen", CFG_LISTEN, 0, 0, 0, 0, NULL},
    S("tls", "cert", CFG_STR, tls_cert, 0),
    S("tls", "key", CFG_STR, tls_key, 0),
    S("database", "url", CFG_STR, db_url, 0),
    {"auth", "allow_guests", CFG_BOOL, F(allow_guests), 0, 0, NULL},
    I("auth", "scram_iterations", scram_iterations, 4096, 10000000),
    I("auth", "argon2_opslimit", argon2_opslimit, 1, 100),
    I("auth", "argon2_memlimit_kib", argon2_memlimit_kib, 8, 4194304),
    I("auth", "auth_fail_delay_ms", auth_fail_delay_ms, 0, 60000),
    I("limits", "max_clients", max_clients, 1, 1000000),
    I("limits", "sendq", sendq, 1024, 1073741824),
    I("limits", "flood_rate", flood_rate, 0, 10000),
    I("limits", "flood_burst", flood_burst, 1, 100000),
    I("limits", "flood_kill_seconds", flood_kill_seconds, 1, 3600),
    I("limits", "ping_interval", ping_interval, 5, 86400),
    I("limits", "ping_timeout", ping_timeout, 5, 3600),
    I("limits", "coalesce_us", coalesce_us, 0, 20000),
    I("limits", "register_timeout", register_timeout, 5, 3600),
    I("chat", "default_history", default_history, 0, 500),
    S("chat", "default_category", CFG_TOKEN, default_category, 1),
    I("chat", "participant_update_limit", participant_update_limit, 1, 1000000),
    {"compliance", "enabled", CFG_BOOL, F(comp_enabled), 0, 0, NULL},
    {"compliance", "run_interval", CFG_SECS, F(comp_run_interval), 60, 30 * 86400, NULL},
    S("compliance", "output_dir", CFG_STR, comp_output_dir, 0),
    {"compliance", "format", CFG_CHOICE, F(comp_format), 0, 0, "xml|jsonl"},
    {"compliance", "one_room_per_file", CFG_BOOL, F(comp_one_room_per_file), 0, 0, NULL},
    {"compliance", "add_room_details", CFG_BOOL, F(comp_add_room_details), 0, 0, NULL},
    {"compliance", "add_user_details", CFG_BOOL, F(comp_add_user_details), 0, 0, NULL},
    I("compliance", "max_events_per_file", comp_max_events_per_file, 1000, 1000000),
    S("pool", "topology", CFG_STR, pool_topology, 0),
    S("pool", "server", CFG_HOST, pool_server, 0),
    {"pool", "unconfirmed", CFG_CHOICE, F(pool_unconfirmed), 0, 0, "fail-closed|serve"},
    S("log", "level", CFG_LEVEL, log_level, 1),
};

#undef F
#undef S
#undef I

#define N_KEYS (sizeof cfg_keys / sizeof cfg_keys[0])

/* State of one config_load: where we are and the first error. */
struct cfg_parse {
	struct config *cfg; /* filled in place */
	const char *path;   /* file name for messages */
	FILE *fp;           /* the open file */
	int line;           /* number of the line last read */
	bool listen_seen;   /* a listen key replaced the defaults already */
	bool failed;        /* err holds the first error */
	char *err;          /* caller's buffer */
	size_t errlen;      /* its size */
};

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	str_copy(cfg->server_name, "pchat.local", sizeof cfg->server_name);
	str_copy(cfg->network, "pchat", sizeof cfg->network);
	str_copy(cfg->data_dir, "./pchat-data", sizeof cfg->data_dir);
	str_copy(cfg->listen[0].addr, "127.0.0.1", sizeof cfg->listen[0].addr);
	cfg->listen[0].port = 6667;
	str_copy(cfg->listen[1].addr, "127.0.0.1", sizeof cfg->listen[1].addr);
	cfg->listen[1].port = 6697;
	cfg->listen[1].tls = true;
	cfg->n_listen = 2;
	cfg->allow_guests = false;
	cfg->scram_iterations = 600000;
	cfg->argon2_opslimit = 2;
	cfg->argon2_memlimit_kib = 19456;
	cfg->auth_fail_delay_ms = 1000;
	cfg->max_clients = 20000;
	cfg->sendq = 262144;
	cfg->flood_rate = 20;
	cfg->flood_burst = 40;
	cfg->flood_kill_seconds = 30;
	cfg->ping_interval = 120;
	cfg->ping_timeout = 60;
	cfg->coalesce_us = 15000;
	cfg->register_timeout = 60;
	cfg->default_history = 30;
	str_copy(cfg->default_category, "general", sizeof cfg->default_category);
	cfg->participant_update_limit = 75;
	str_copy(cfg->log_level, "info", sizeof cfg->log_level);
	cfg->comp_run_interval = 15 * 60;
	str_copy(cfg->comp_format, "xml", sizeof cfg->comp_format);
	cfg->comp_max_events_per_file = 100000;
	str_copy(cfg->pool_unconfirmed, "fail-closed", sizeof cfg->pool_unconfirmed);
}

static bool host_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

/* Split "ADDR:PORT" / "[V6]:PORT" into addr (copied) and the port text. */
static int listen_split(const char *s, char *addr, size_t addrlen, const char **port)
{
	const char *colon;
	size_t n;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -1;
		n = (size_t)(close - s - 1);
		s++;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -1; /* a bare IPv6 literal needs brackets */
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= addrlen)
		return -1;
	memcpy(addr, s, n);
	addr[n] = '\0';
	*port = colon + 1;
	return 0;
}

int config_parse_listen(const char *spec, struct config_listen *l)
{
	struct config_listen out = {0};
	const char *port;
	int64_t p;

	if (strncmp(spec, "tls://", 6) == 0) {
		out.tls = true;
		spec += 6;
	}
	if (listen_split(spec, out.addr, sizeof out.addr, &port) < 0)
		return -1;
	for (const char *c = out.addr; *c; c++)
		if (!host_char((unsigned char)*c) && *c != ':')
			return -1;
	if (str_to_i64(port, 1, 65535, &p) < 0 || *port == '+' || *port == '-')
		return -1;
	out.port = (uint16_t)p;
	*l = out;
	return 0;
}

static void cfg_fail(struct cfg_parse *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Record the first error as "FILE:LINE: message". */
static void cfg_fail(struct cfg_parse *ps, const char *fmt, ...)
{
	size_t len = 0;
	va_list ap;

	if (ps->failed)
		return;
	ps->failed = true; /* a failure even when the caller gave no room for the message */
	if (ps->errlen == 0)
		return;
	str_appendf(ps->err, ps->errlen, &len, "%s:%d: ", ps->path, ps->line);
	va_start(ap, fmt);
	vsnprintf(ps->err + len, ps->errlen - len, fmt, ap);
	va_end(ap);
}

/* Trim spaces around one comma-separated item into buf. */
static void trim_item(const char *s, size_t n, char *buf, size_t buflen)
{
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= buflen)
		n = buflen - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

static int set_listen(struct cfg_parse *ps, const char *value)
{
	struct config *cfg = ps->cfg;
	const char *p = value;

	if (!ps->listen_seen) {
		cfg->n_listen = 0; /* the file's listeners replace the defaults */
		ps->listen_seen = true;
	}
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char item[300];

		trim_item(p, n, item, sizeof item);
		if (cfg->n_listen >= CONFIG_MAX_LISTEN) {
			cfg_fail(ps, "[server] listen: more than %d listeners", CONFIG_MAX_LISTEN);
			return -1;
		}
		if (config_parse_listen(item, &cfg->listen[cfg->n_listen]) < 0) {
			cfg_fail(ps,
			         "[server] listen: '%s' is not [tls://]ADDR:PORT "
			         "(port 1-65535, IPv6 in brackets)",
			         item);
			return -1;
		}
		cfg->n_listen++;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

static bool str_ok(const struct cfg_key *k, const char *v)
{
	size_t n = strlen(v);

	if (n < (size_t)k->min || n >= k->size || str_has_crlfnul(v, n))
		return false;
	for (const char *c = v; *c; c++) {
		unsigned char u = (unsigned char)*c;

		if (k->type == CFG_HOST && !host_char(u))
			return false;
		if (k->type == CFG_TOKEN && (u <= ' ' || u == 0x7f))
			return false;
	}
	return true;
}

static const char *str_expect(const struct cfg_key *k)
{
	switch (k->type) {
	case CFG_HOST:
		return "a host name (letters, digits, '.', '-', '_')";
	case CFG_TOKEN:
		return "a word without spaces";
	case CFG_LEVEL:
		return "one of debug, info, warn, error";
	default:
		return k->min ? "a non-empty value" : "a value";
	}
}

int config_parse_duration(const char *v, int64_t min, int64_t max, int64_t *out)
{
	static const struct {
		char unit;    /* suffix */
		int64_t mult; /* seconds per unit */
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
	char num[32];
	size_t n = strlen(v);
	int64_t mult = 1, x;

	if (n == 0 || n >= sizeof num)
		return -1;
	str_copy(num, v, sizeof num);
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (num[n - 1] == units[i].unit) {
			mult = units[i].mult;
			num[n - 1] = '\0';
		}
	if (str_to_i64(num, 0, INT64_MAX / 86400, &x) < 0 || x * mult < min || x * mult > max)
		return -1;
	*out = x * mult;
	return 0;
}

/* Whether v is one of the '|'-separated words of choices. */
static bool choice_ok(const char *choices, const char *v)
{
	size_t n = strlen(v);

	for (const char *p = choices; *p;) {
		size_t w = strcspn(p, "|");

		if (w == n && strncmp(p, v, n) == 0)
			return true;
		p += w + (p[w] == '|');
	}
	return false;
}

/* Store one value according to its table row. 0 or -1 (error recorded). */
static int set_value(struct cfg_parse *ps, const struct cfg_key *k, const char *v)
{
	char *field = (char *)ps->cfg + k->off;
	enum log_level lvl;
	int64_t i;

	switch (k->type) {
	case CFG_INT:
		if (str_to_i64(v, k->min, k->max, &i) == 0) {
			*(int *)field = (int)i;
			return 0;
		}
		cfg_fail(ps, "[%s] %s: expected an integer from %lld to %lld", k->section, k->name,
		         (long long)k->min, (long long)k->max);
		return -1;
	case CFG_BOOL:
		if (str_to_bool(v, (bool *)field) == 0)
			return 0;
		cfg_fail(ps, "[%s] %s: expected yes or no", k->section, k->name);
		return -1;
	case CFG_LISTEN:
		return set_listen(ps, v);
	case CFG_SECS:
		if (config_parse_duration(v, k->min, k->max, &i) == 0) {
			*(int *)field = (int)i;
			return 0;
		}
		cfg_fail(ps, "[%s] %s: expected a duration from %llds to %llds (90s, 15m, 2h, 30d)",
		         k->section, k->name, (long long)k->min, (long long)k->max);
		return -1;
	case CFG_CHOICE:
		if (choice_ok(k->choices, v)) {
			str_copy(field, v, k->size);
			return 0;
		}
		cfg_fail(ps, "[%s] %s: expected one of %s", k->section, k->name, k->choices);
		return -1;
	case CFG_LEVEL:
		if (log_level_parse(v, &lvl) == 0) {
			str_copy(field, v, k->size);
			return 0;
		}
		break;
	default:
		if (str_ok(k, v)) {
			str_copy(field, v, k->size);
			return 0;
		}
		break;
	}
	if (strlen(v) >= k->size)
		cfg_fail(ps, "[%s] %s: value longer than %zu bytes", k->section, k->name,
		         k->size - 1);
	else
		cfg_fail(ps, "[%s] %s: expected %s", k->section, k->name, str_expect(k));
	return -1;
}

static bool section_known(const char *section)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(cfg_keys[i].section, section) == 0)
			return true;
	return false;
}

static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_parse *ps = user;

	if (ps->failed)
		return 1; /* report only the first error */
	if (!section_known(section)) {
		cfg_fail(ps, "unknown section [%s]", section);
		return 0;
	}
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];

		if (strcmp(k->section, section) == 0 && strcmp(k->name, name) == 0)
			return set_value(ps, k, value) == 0;
	}
	cfg_fail(ps, "unknown key '%s' in [%s]", name, section);
	return 0;
}

/* Check a "[section]" line ourselves: inih does not report empty sections. */
static void check_section_line(struct cfg_parse *ps, const char *line)
{
	const char *s = line + strspn(line, " \t");
	const char *end;
	char name[64];

	if (*s != '[')
		return;
	end = strchr(s, ']');
	if (!end)
		return; /* inih reports the syntax error */
	trim_item(s + 1, (size_t)(end - s - 1), name, sizeof name);
	if (!section_known(name))
		cfg_fail(ps, "unknown section [%s]", name);
}

int config_read_line(char *str, int num, FILE *fp, int *line)
{
	size_t n;

	if (!fgets(str, num, fp))
		return CONFIG_LINE_END;
	(*line)++;
	n = strlen(str);
	if (n == (size_t)num - 1 && str[n - 1] != '\n' && !feof(fp))
		return CONFIG_LINE_LONG;
	return 0;
}

/* ini_reader: fgets that counts lines and refuses lines inih would cut. */
static char *cfg_reader(char *str, int num, void *stream)
{
	struct cfg_parse *ps = stream;
	int n;

	if (ps->failed || (n = config_read_line(str, num, ps->fp, &ps->line)) == CONFIG_LINE_END)
		return NULL;
	if (n == CONFIG_LINE_LONG) {
		cfg_fail(ps, "line longer than %d bytes", num - 2);
		return NULL;
	}
	check_section_line(ps, str);
	return ps->failed ? NULL : str;
}

int config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct cfg_parse ps = {.cfg = cfg, .path = path, .err = err, .errlen = errlen};
	int rc = -1;
	int r;

	if (errlen > 0)
		err[0] = '\0';
	ps.fp = fopen(path, "r");
	if (!ps.fp) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	r = ini_parse_stream(cfg_reader, &ps, cfg_handler, &ps);
	if (!ps.failed && r > 0) {
		ps.line = r;
		cfg_fail(&ps, "syntax error: expected 'key = value' or '[section]'");
	} else if (!ps.failed && r < 0) {
		snprintf(err, errlen, "%s: cannot read the file", path);
		goto out_close;
	}
	if (!ps.failed && ferror(ps.fp)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out_close;
	}
	if (!ps.failed && cfg->pool_topology[0] && cfg->db_url[0])
		snprintf(err, errlen,
		         "%s: [database] url and [pool] topology are both set: with a topology the "
		         "database comes from the topology file (remove [database] url)",
		         path);
	else
		rc = ps.failed ? -1 : 0;
out_close:
	fclose(ps.fp);
out:
	return rc;
}

void config_finish(struct config *cfg)
{
	const char *dir = cfg->data_dir;

	size_t n = 0;

	if (cfg->db_url[0] == '\0' && cfg->pool_topology[0] == '\0')
		str_appendf(cfg->db_url, sizeof cfg->db_url, &n, "sqlite:%s/pchat.db", dir);
	if (cfg->pool_server[0] == '\0')
		str_copy(cfg->pool_server, cfg->server_name, sizeof cfg->pool_server);
	n = 0;
	if (cfg->tls_cert[0] == '\0')
		str_appendf(cfg->tls_cert, sizeof cfg->tls_cert, &n, "%s/tls/cert.pem", dir);
	n = 0;
	if (cfg->tls_key[0] == '\0')
		str_appendf(cfg->tls_key, sizeof cfg->tls_key, &n, "%s/tls/key.pem", dir);
	n = 0;
	if (cfg->comp_output_dir[0] == '\0')
		str_appendf(cfg->comp_output_dir, sizeof cfg->comp_output_dir, &n, "%s/compliance",
		            dir);
}
