/*
 * pchatd.c — the chat server's main: configuration, data directory, the
 * store, the first administrator, listeners, signals, the loop.
 *
 * It wires the layers together and does nothing else: no IRC, no SQL here.
 */
#include "chat/password.h"
#include "common/log.h"
#include "common/mailbox.h"
#include "common/str.h"
#include "common/workq.h"
#include "common/xmalloc.h"
#include "compliance/service.h"
#include "core/config.h"
#include "core/net.h"
#include "irc/irc.h"
#include "pool/pool.h"
#include "store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_CONFIG 2 /* bad configuration or command line */
#define EXIT_START  3 /* could not start (database, listener, TLS) */

/*
 * A restart onto the other database of a pool tells the new image where
 * the pool went ("backup 7": database and generation) so that pool_prepare
 * need not wait for the database it leaves (pool_open_read).
 */
#define PCHATD_MOVED_ENV "PCHATD_POOL_MOVED"
/*
 * At that restart, how long the store's threads are waited for when the
 * database left behind is unreachable: they can only be trying to connect
 * to it (the exec ends them; the database is no longer the pool's).
 */
#define PCHATD_RESTART_GRACE_MS 250

struct server {
	struct config cfg;                                  /* configuration in force */
	const char *config_path;                            /* -c FILE, or NULL */
	struct config_listen cli_listen[CONFIG_MAX_LISTEN]; /* --listen flags */
	int n_cli_listen;                                   /* how many */
	const char *cli_data_dir;                           /* --data-dir */
	const char *cli_database;                           /* --database */
	const char *cli_log_level;                          /* --log-level */
	struct event_base *base;                            /* the loop */
	struct mailbox *mb;                                 /* store/worker completions */
	struct store *store;                                /* chat database */
	struct workq *workq;                                /* password hashing */
	struct net *net;                                    /* listeners and connections */
	struct irc *irc;                                    /* the IRC face */
	struct comp_service *comp;                          /* compliance adapter thread */
	struct topology topo;                               /* [pool] topology, when set */
	struct pool_member *pool;                           /* heartbeat and pool state */
	enum pool_db_index pool_db;                         /* the pool database in use */
	struct store_pool_state pool_row;                   /* pool state read at start */
	char comp_owner[128];                               /* its name in claims */
	struct event *sig_term;                             /* SIGTERM */
	struct event *sig_int;                              /* SIGINT */
	struct event *sig_hup;                              /* SIGHUP */
	struct event *sig_usr1;                             /* SIGUSR1 */
	bool stopping;                                      /* shutdown under way */
	bool restart; /* exec again when stopped: the pool moved to the other database */
	enum pool_db_index moved_to; /* that database (restart) */
	int64_t moved_generation;    /* the generation that moved it (restart) */
	bool unconfirmed; /* started fail-closed: the backup database could not be read */
};

static const char usage_text[] =
    "NAME\n"
    "    pchatd - the pchat persistent chat server (IRC + IRCv3)\n"
    "\n"
    "SYNOPSIS\n"
    "    pchatd [-c FILE] [--listen [tls://]ADDR:PORT]... [--data-dir DIR]\n"
    "           [--database URL] [--log-level LEVEL]\n"
    "\n"
    "DESCRIPTION\n"
    "    With no arguments pchatd runs on its embedded default: data (SQLite)\n"
    "    in ./pchat-data, plain IRC on 127.0.0.1:6667 and TLS on 127.0.0.1:6697\n"
    "    with a self-signed certificate generated into the data directory.\n"
    "    The first start on a database without any administrator creates the administrator\n"
    "    account 'admin' and writes its password to DATA_DIR/admin.password.\n"
    "    Flags override the configuration file.\n"
    "\n"
    "OPTIONS\n"
    "    -c, --config FILE      INI configuration file (docs/configuration.md)\n"
    "    -l, --listen SPEC      listener, repeatable: 127.0.0.1:6667, tls://[::1]:6697\n"
    "                           (replaces the listeners of the defaults and the file)\n"
    "    -d, --data-dir DIR     data directory (default ./pchat-data)\n"
    "        --database URL     chat database (default sqlite:DATA_DIR/pchat.db)\n"
    "        --log-level LEVEL  debug, info, warn or error (default info)\n"
    "    -h, --help             this text\n"
    "    -V, --version          print the version\n"
    "\n"
    "SIGNALS\n"
    "    SIGTERM, SIGINT  tell clients, flush, close cleanly, exit 0\n"
    "    SIGHUP           reload the configuration file and TLS certificate\n"
    "                     without dropping connections\n"
    "    SIGUSR1          log one line on memory: RSS, anonymous memory, the\n"
    "                     database page caches, connections and clients\n"
    "\n"
    "EXIT STATUS\n"
    "    0 clean shutdown, 2 bad configuration or arguments, 3 could not start\n";

static int parse_args(struct server *srv, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},    {"listen", required_argument, NULL, 'l'},
	    {"data-dir", required_argument, NULL, 'd'},  {"database", required_argument, NULL, 'D'},
	    {"log-level", required_argument, NULL, 'L'}, {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},         {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:l:d:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			srv->config_path = optarg;
			break;
		case 'd':
			srv->cli_data_dir = optarg;
			break;
		case 'D':
			srv->cli_database = optarg;
			break;
		case 'L':
			srv->cli_log_level = optarg;
			break;
		case 'l':
			if (srv->n_cli_listen == CONFIG_MAX_LISTEN ||
			    config_parse_listen(optarg, &srv->cli_listen[srv->n_cli_listen]) != 0) {
				fprintf(stderr,
				        "pchatd: bad --listen '%s' (expected [tls://]ADDR:PORT)\n",
				        optarg);
				return -1;
			}
			srv->n_cli_listen++;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			printf("pchatd %s\n", PCHAT_VERSION);
			exit(0);
		default:
			fputs("Try 'pchatd --help'.\n", stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pchatd: unexpected argument '%s'. Try 'pchatd --help'.\n",
		        argv[optind]);
		return -1;
	}
	return 0;
}

/* Defaults, then the file, then the flags, then derived paths. */
static int load_config(struct server *srv, struct config *cfg)
{
	char err[512];
	enum log_level lvl;

	config_defaults(cfg);
	if (srv->config_path && config_load(cfg, srv->config_path, err, sizeof(err)) != 0) {
		log_error("config", "%s", err);
		return -1;
	}
	if (srv->n_cli_listen) {
		memcpy(cfg->listen, srv->cli_listen, sizeof(srv->cli_listen));
		cfg->n_listen = srv->n_cli_listen;
	}
	if (srv->cli_data_dir)
		str_copy(cfg->data_dir, srv->cli_data_dir, sizeof(cfg->data_dir));
	if (srv->cli_database && cfg->pool_topology[0]) {
		log_error("config", "--database and [pool] topology are both set: with a topology "
		                    "the database comes from the topology file");
		return -1;
	}
	if (srv->cli_database)
		str_copy(cfg->db_url, srv->cli_database, sizeof(cfg->db_url));
	if (srv->cli_log_level)
		str_copy(cfg->log_level, srv->cli_log_level, sizeof(cfg->log_level));
	if (log_level_parse(cfg->log_level, &lvl) != 0) {
		log_error("config", "unknown log level '%s' (debug, info, warn, error)",
		          cfg->log_level);
		return -1;
	}
	log_set_level(lvl);
	config_finish(cfg);
	return 0;
}

static void limits_from(const struct config *cfg, struct net_limits *lim)
{
	lim->max_clients = cfg->max_clients;
	lim->sendq = cfg->sendq;
	lim->flood_rate = cfg->flood_rate;
	lim->flood_burst = cfg->flood_burst;
	lim->flood_kill_seconds = cfg->flood_kill_seconds;
	lim->ping_interval = cfg->ping_interval;
	lim->ping_timeout = cfg->ping_timeout;
	lim->coalesce_us = cfg->coalesce_us;
}

/* A database without an administrator (new, or filled by pchatctl first) gets `admin`. */
static int bootstrap_admin(struct server *srv)
{
	struct store_conn *c = store_direct(srv->store);
	struct store_account *all = NULL, a;
	struct password_params pp;
	char path[CONFIG_PATH_MAX + 32], pw[25];
	size_t n = 0;
	int fd, rc;

	bool have_admin = false, name_taken = false;

	if (store_account_list(c, &all, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		have_admin = have_admin || all[i].admin;
		name_taken = name_taken || str_ieq(all[i].name, "admin");
		store_account_free(&all[i]);
	}
	free(all);
	/* A database without any administrator (new, or made by pchatctl) gets one. */
	if (have_admin)
		return 0;
	if (name_taken) {
		log_warn("pchatd", "no administrator account; 'admin' is taken: make one with "
		                   "'pchatctl user set NAME --admin yes'");
		return 0;
	}
	for (size_t i = 0; i < sizeof(pw) - 1; i++)
		pw[i] =
		    "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"[randombytes_uniform(
		        56)];
	pw[sizeof(pw) - 1] = '\0';
	memset(&a, 0, sizeof(a));
	str_copy(a.name, "admin", sizeof(a.name));
	a.admin = true;
	a.chat_enabled = true;
	pp.argon2_opslimit = srv->cfg.argon2_opslimit;
	pp.argon2_memlimit_kib = srv->cfg.argon2_memlimit_kib;
	pp.scram_iterations = srv->cfg.scram_iterations;
	if (password_derive(pw, &pp, &a.pw_hash, &a.scram) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/admin.password", srv->cfg.data_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
	rc = fd < 0 ? -1 : 0;
	if (fd >= 0) {
		if (dprintf(fd, "%s\n", pw) < 0 || fsync(fd) != 0)
			rc = -1;
		close(fd);
	}
	if (rc == 0)
		rc = store_account_add(c, &a);
	sodium_memzero(pw, sizeof(pw));
	store_account_free(&a);
	if (rc != 0) {
		log_error("pchatd", "cannot create the administrator account (%s)", path);
		return -1;
	}
	log_info("pchatd", "created administrator account 'admin'; its password is in %s", path);
	return 0;
}

/*
 * Where the previous image of this process restarted to (PCHATD_MOVED_ENV,
 * removed): the database, or -1 when this is not such a restart.
 */
static int moved_hint(int64_t *generation)
{
	const char *h = getenv(PCHATD_MOVED_ENV);
	char name[16];
	long long g;
	int db = -1;

	if (h && sscanf(h, "%15s %lld", name, &g) == 2 && g > 0 &&
	    (strcmp(name, "primary") == 0 || strcmp(name, "backup") == 0)) {
		db = strcmp(name, "backup") == 0 ? POOL_BACKUP : POOL_PRIMARY;
		*generation = g;
	}
	unsetenv(PCHATD_MOVED_ENV);
	return db;
}

/*
 * Read both databases at once (pool_open_read). A restart onto the backup
 * (a failover) waits only for the backup when it still carries the
 * generation that moved the pool: the primary left behind may be cut off,
 * and the watch of the image before read the generation in force moments
 * ago. A restart onto the primary still waits for the backup as any start
 * does: without it, [pool] unconfirmed = fail-closed would keep the server
 * idle.
 */
static void pool_start_read(struct server *srv, struct store *open[2], struct pool_view *v)
{
	int64_t gen = 0;
	int hint = moved_hint(&gen);

	pool_open_read(&srv->topo, hint, hint == POOL_BACKUP ? 0 : POOL_PEER_WAIT_MS, open, v);
	if (hint < 0 || ((int)v->use == hint && v->generation >= gen))
		return;
	for (int i = 0; i < 2; i++)
		store_close(open[i]);
	pool_view_free(v);
	pool_open_read(&srv->topo, -1, POOL_PEER_WAIT_MS, open, v);
}

/*
 * A server of a pool (SPEC §6): read the topology, check this server is in
 * it, and take the database the highest pool-state generation designates.
 */
static int pool_prepare(struct server *srv)
{
	struct store *open[2] = {NULL, NULL};
	struct pool_view v;
	char err[1200];
	const struct topo_db *db;

	if (!srv->cfg.pool_topology[0])
		return 0;
	if (topo_load(&srv->topo, srv->cfg.pool_topology, err, sizeof(err)) != 0) {
		log_error("pool", "%s", err);
		return -1;
	}
	if (!topo_server(&srv->topo, srv->cfg.pool_server)) {
		log_error("pool",
		          "this server (%s, [pool] server or [server] name) is not in the "
		          "topology %s",
		          srv->cfg.pool_server, srv->cfg.pool_topology);
		return -1;
	}
	pool_start_read(srv, open, &v);
	for (int i = 0; i < 2; i++)
		if (!v.reachable[i])
			log_warn("pool", "%s database: %s", pool_db_name((enum pool_db_index)i),
			         v.error[i]);
	snprintf(err, sizeof err, "pchatd %s", srv->cfg.pool_server);
	pool_fence_stale(&srv->topo, open, &v, err);
	for (int i = 0; i < 2; i++)
		store_close(open[i]);
	if (v.reachable[v.use] && v.row[v.use].fenced) {
		log_error("pool",
		          "the %s database of pool %s was fenced by generation %lld: the pool "
		          "failed over (or back) and this server cannot read the database now in "
		          "use; not starting (check the topology %s and that the other database "
		          "is reachable)",
		          pool_db_name(v.use), srv->topo.name,
		          (long long)v.row[v.use].fenced_generation, srv->cfg.pool_topology);
		pool_view_free(&v);
		return -1;
	}
	srv->pool_db = v.use;
	/* Serving the primary without having read the backup: a failover may have happened there.
	 */
	srv->unconfirmed = v.use == POOL_PRIMARY && !v.reachable[POOL_BACKUP] &&
	                   strcmp(srv->cfg.pool_unconfirmed, "fail-closed") == 0;
	if (v.from >= 0) {
		srv->pool_row = v.row[v.from];
		v.row[v.from].active = NULL; /* moved */
	} else {
		str_copy(srv->pool_row.state, "normal", sizeof(srv->pool_row.state));
	}
	if (!srv->pool_row.active)
		srv->pool_row.active = xstrdup("");
	pool_view_free(&v);
	db = topo_db(&srv->topo, pool_db_name(srv->pool_db));
	str_copy(srv->cfg.db_url, db->url, sizeof(srv->cfg.db_url));
	log_info("pool",
	         "server %s of pool %s: using the %s database (generation %lld, "
	         "unconfirmed = %s)",
	         srv->cfg.pool_server, srv->topo.name, pool_db_name(srv->pool_db),
	         (long long)srv->pool_row.generation, srv->cfg.pool_unconfirmed);
	return 0;
}

static int pool_clients(void *arg)
{
	struct server *srv = arg;

	return irc_client_count(srv->irc);
}

static void pool_status(bool active, const char *reason, void *arg)
{
	struct server *srv = arg;

	irc_set_idle(srv->irc, active ? NULL : reason);
}

static void shut_down(struct server *srv, const char *why);

/* The pool now uses the other database: stop like SIGTERM, then exec again (main). */
static void pool_moved(enum pool_db_index use, int64_t generation, void *arg)
{
	struct server *srv = arg;
	char why[200];

	if (srv->stopping)
		return;
	snprintf(why, sizeof why,
	         "Server restarting onto the %s database of pool %s (generation %lld): "
	         "reconnect",
	         pool_db_name(use), srv->topo.name, (long long)generation);
	srv->restart = true;
	srv->moved_to = use;
	srv->moved_generation = generation;
	shut_down(srv, why);
}

/* Heartbeats and pool-state reads every second (after the IRC face exists). */
static void pool_start(struct server *srv)
{
	static const struct pool_member_ops ops = {pool_clients, pool_status, pool_moved};

	if (!srv->cfg.pool_topology[0])
		return;
	srv->pool =
	    pool_member_start(srv->base, srv->mb, srv->store, &srv->topo, srv->cfg.pool_server,
	                      srv->pool_db, &srv->pool_row, srv->unconfirmed, &ops, srv);
}

static int open_store(struct server *srv)
{
	struct store_options so;
	char err[512];

	memset(&so, 0, sizeof(so));
	if (srv->cfg.pool_server[0]) {
		char name[8 + sizeof(srv->cfg.pool_server)]; /* store keeps 63 bytes */

		snprintf(name, sizeof(name), "pchatd %s", srv->cfg.pool_server);
		store_set_client_name(name);
	} else {
		store_set_client_name("pchatd");
	}
	so.url = srv->cfg.db_url;
	so.create = true;
	so.mb = srv->mb;
	srv->store = store_open(&so, err, sizeof(err));
	if (!srv->store) {
		log_error("pchatd", "%s", err);
		return -1;
	}
	return bootstrap_admin(srv);
}

static bool any_tls(const struct config *cfg)
{
	for (int i = 0; i < cfg->n_listen; i++)
		if (cfg->listen[i].tls)
			return true;
	return false;
}

static int start_net(struct server *srv)
{
	struct net_limits lim;
	char err[512];

	limits_from(&srv->cfg, &lim);
	srv->net = net_new(srv->base, &lim);
	if (any_tls(&srv->cfg) &&
	    net_tls_load(srv->net, srv->cfg.tls_cert, srv->cfg.tls_key, err, sizeof(err)) != 0) {
		log_error("tls", "%s", err);
		return -1;
	}
	for (int i = 0; i < srv->cfg.n_listen; i++) {
		if (net_listen(srv->net, &srv->cfg.listen[i], err, sizeof(err)) != 0) {
			log_error("net", "%s", err);
			return -1;
		}
	}
	return 0;
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	(void)what;
	srv->restart = false; /* a signal ends a restart onto another database too */
	if (srv->stopping) {
		log_warn("pchatd", "second signal: exiting now");
		event_base_loopbreak(srv->base);
		return;
	}
	log_info("pchatd", "signal %d: shutting down", (int)sig);
	shut_down(srv, "Server shutting down");
}

/* Tell every client why, flush, and end the loop (net_shutdown). */
static void shut_down(struct server *srv, const char *why)
{
	srv->stopping = true;
	pool_member_stop(srv->pool);
	irc_shutdown(srv->irc, why);
	net_shutdown(srv->net, NULL);
}

/* The adapter's options from cfg (strings point into cfg and srv). */
static int comp_options_from(struct server *srv, const struct config *cfg, struct comp_options *o)
{
	const char *test = getenv("PCHAT_TEST_COMPLIANCE_INTERVAL"); /* tests: seconds */
	char host[64] = "localhost";
	int64_t secs;

	memset(o, 0, sizeof(*o));
	o->output_dir = cfg->comp_output_dir;
	o->format = comp_format_parse(cfg->comp_format);
	o->one_room_per_file = cfg->comp_one_room_per_file;
	o->add_room_details = cfg->comp_add_room_details;
	o->add_user_details = cfg->comp_add_user_details;
	o->max_events = cfg->comp_max_events_per_file;
	o->uri_host = cfg->network;
	gethostname(host, sizeof(host) - 1);
	snprintf(srv->comp_owner, sizeof(srv->comp_owner), "pchatd@%.40s:%ld", host,
	         (long)getpid());
	o->owner = srv->comp_owner;
	o->lease_ms = comp_test_lease_ms();
	if (test && str_to_i64(test, 1, 86400, &secs) == 0)
		return (int)secs;
	return cfg->comp_run_interval;
}

/*
 * Compliance (SPEC §5): the capture setting goes into the database, where
 * pchatctl reads it; with capture on, the adapter thread starts and takes
 * the store's direct connection, which nothing else uses after start-up.
 * The default output directory is made (0700) when missing; a configured
 * one never is (a missing mount must not be papered over).
 */
static int start_compliance(struct server *srv)
{
	struct comp_options o;
	char def[CONFIG_PATH_MAX + 16];
	int interval, rc = store_comp_set_enabled(store_direct(srv->store), srv->cfg.comp_enabled);

	if (rc != 0) {
		log_error("compliance", "cannot record the capture setting: %s",
		          store_strerror(rc));
		return -1;
	}
	if (!srv->cfg.comp_enabled)
		return 0;
	interval = comp_options_from(srv, &srv->cfg, &o);
	snprintf(def, sizeof(def), "%s/compliance", srv->cfg.data_dir);
	if (strcmp(o.output_dir, def) == 0 && mkdir(o.output_dir, 0700) != 0 && errno != EEXIST)
		log_warn("compliance", "cannot create %s: %s (events stay queued until it exists)",
		         o.output_dir, strerror(errno));
	srv->comp = comp_service_start(store_direct(srv->store), &o, interval);
	return srv->comp ? 0 : -1;
}

/* VmRSS and RssAnon of /proc/self/status in KiB (0 when unreadable). */
static void read_rss(long *rss_kib, long *anon_kib)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];

	*rss_kib = *anon_kib = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			*rss_kib = atol(line + 6);
		else if (strncmp(line, "RssAnon:", 8) == 0)
			*anon_kib = atol(line + 8);
	}
	fclose(f);
}

/* SIGUSR1: where the memory is, for the operator (and bench/soak.sh). */
static void on_usr1(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	long rss, anon;
	struct store_stats ss;

	(void)sig;
	(void)what;
	read_rss(&rss, &anon);
	store_stats(srv->store, &ss);
	log_info("pchatd",
	         "memory: RSS %.1f MiB, anonymous %.1f MiB, database page caches %.1f MiB; "
	         "%zu connections, %d clients; %" PRIu64 " group commits of %" PRIu64
	         " write jobs, %" PRIu64 " upkeep steps",
	         rss / 1024.0, anon / 1024.0, store_cache_bytes(srv->store) / 1048576.0,
	         net_n_conns(srv->net), irc_client_count(srv->irc), ss.commits, ss.jobs,
	         ss.upkeep_steps);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	struct config cfg;
	struct net_limits lim;
	char err[512];

	(void)sig;
	(void)what;
	log_info("pchatd", "SIGHUP: reloading configuration");
	if (load_config(srv, &cfg) != 0) {
		log_error("pchatd", "reload failed: keeping the configuration in force");
		return;
	}
	if (srv->cfg.pool_topology[0]) {
		/* the pool's database and topology are chosen at start */
		if (strcmp(cfg.pool_topology, srv->cfg.pool_topology) != 0 ||
		    strcmp(cfg.pool_server, srv->cfg.pool_server) != 0)
			log_warn("pool", "reload: [pool] changes take effect at the next start");
		str_copy(cfg.pool_topology, srv->cfg.pool_topology, sizeof(cfg.pool_topology));
		str_copy(cfg.pool_server, srv->cfg.pool_server, sizeof(cfg.pool_server));
		str_copy(cfg.db_url, srv->cfg.db_url, sizeof(cfg.db_url));
	}
	limits_from(&cfg, &lim);
	net_set_limits(srv->net, &lim);
	if (any_tls(&cfg) &&
	    net_tls_load(srv->net, cfg.tls_cert, cfg.tls_key, err, sizeof(err)) != 0)
		log_error("tls", "reload: %s (keeping the old certificate)", err);
	if (srv->comp) {
		struct comp_options o;
		int interval = comp_options_from(srv, &cfg, &o);

		comp_service_reload(srv->comp, &o, interval);
	}
	if (cfg.comp_enabled != srv->cfg.comp_enabled)
		log_warn("compliance",
		         "reload: [compliance] enabled takes effect at the next start");
	srv->cfg = cfg;
	irc_reload(srv->irc, &cfg);
}

static int make_data_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_error("pchatd", "cannot create data directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		log_error("pchatd", "%s is not a directory", dir);
		return -1;
	}
	return 0;
}

static int run(struct server *srv)
{
	char err[256];

	struct event_config *ec = event_config_new();

	/* Coalesce the add/remove of write interest a busy connection makes per
	 * loop turn into one epoll_ctl (or none). */
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	srv->base = event_base_new_with_config(ec);
	event_config_free(ec);
	srv->mb = mailbox_new(srv->base);
	if (make_data_dir(srv->cfg.data_dir) != 0 || pool_prepare(srv) != 0 || open_store(srv) != 0)
		return EXIT_START;
	srv->workq = workq_new(2, srv->mb);
	if (start_net(srv) != 0)
		return EXIT_START;
	srv->irc =
	    irc_new(srv->base, &srv->cfg, srv->net, srv->store, srv->workq, err, sizeof(err));
	if (!srv->irc) {
		log_error("pchatd", "%s", err);
		return EXIT_START;
	}
	if (start_compliance(srv) != 0)
		return EXIT_START;
	pool_start(srv);
	srv->sig_term = evsignal_new(srv->base, SIGTERM, on_stop, srv);
	srv->sig_int = evsignal_new(srv->base, SIGINT, on_stop, srv);
	srv->sig_hup = evsignal_new(srv->base, SIGHUP, on_hup, srv);
	srv->sig_usr1 = evsignal_new(srv->base, SIGUSR1, on_usr1, srv);
	event_add(srv->sig_term, NULL);
	event_add(srv->sig_int, NULL);
	event_add(srv->sig_hup, NULL);
	event_add(srv->sig_usr1, NULL);
	log_info("pchatd", "pchatd %s ready (data in %s)", PCHAT_VERSION, srv->cfg.data_dir);
	event_base_dispatch(srv->base);
	log_info("pchatd", "stopped");
	return 0;
}

/* The store's side of teardown: the threads that run store jobs, then the store. */
static void close_store_side(struct server *srv)
{
	comp_service_stop(srv->comp);
	pool_member_stop(srv->pool);
	workq_free(srv->workq);
	store_close(srv->store);
}

/* close_store_side on a thread of its own, so that a restart can stop waiting for it. */
struct store_closer {
	struct server *srv; /* what to close */
	pthread_mutex_t mu; /* guards done */
	pthread_cond_t cv;  /* signalled when done */
	bool done;          /* close_store_side returned */
};

static void *closer_main(void *arg)
{
	struct store_closer *c = arg;

	close_store_side(c->srv);
	pthread_mutex_lock(&c->mu);
	c->done = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/*
 * Close the store side. Returns false only at a restart onto the other
 * database when the one left behind is unreachable (the watch's last round
 * could not read it) and its store's threads did not finish within
 * PCHATD_RESTART_GRACE_MS: they wait on connection attempts to it (libpq's
 * connect_timeout, each time a job comes). Nothing else is left: a write
 * batch of theirs could only fail there (and that database is no longer the
 * pool's), and the exec that follows ends them. Every other stop waits.
 */
static bool close_stores(struct server *srv)
{
	static struct store_closer c; /* outlives this call when left behind */
	struct timespec until;
	pthread_t th;
	bool done;

	if (!srv->restart || pool_member_db_reachable(srv->pool)) {
		close_store_side(srv);
		return true;
	}
	c.srv = srv;
	pthread_mutex_init(&c.mu, NULL);
	pthread_cond_init(&c.cv, NULL);
	if (pthread_create(&th, NULL, closer_main, &c) != 0) {
		close_store_side(srv);
		return true;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += PCHATD_RESTART_GRACE_MS * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&c.mu);
	while (!c.done && pthread_cond_timedwait(&c.cv, &c.mu, &until) == 0)
		;
	done = c.done;
	pthread_mutex_unlock(&c.mu);
	if (!done) {
		log_warn("pchatd",
		         "the %s database is unreachable: restarting without waiting for the "
		         "store threads still trying to connect to it",
		         pool_db_name(srv->pool_db));
		return false;
	}
	pthread_join(th, NULL);
	pthread_mutex_destroy(&c.mu);
	pthread_cond_destroy(&c.cv);
	return true;
}

/*
 * Undo in reverse: completions still queued run while chat and IRC exist.
 * Returns false when the store side was left running (close_stores): then
 * nothing else is freed and the caller must exec at once.
 */
static bool teardown(struct server *srv)
{
	if (srv->sig_term)
		event_free(srv->sig_term);
	if (srv->sig_int)
		event_free(srv->sig_int);
	if (srv->sig_hup)
		event_free(srv->sig_hup);
	if (srv->sig_usr1)
		event_free(srv->sig_usr1);
	if (!close_stores(srv))
		return false;
	store_pool_state_free(&srv->pool_row);
	mailbox_free(srv->mb);       /* runs the completions still queued ... */
	pool_member_free(srv->pool); /* ... some of which reach the member */
	net_free(srv->net);          /* its closed callbacks still reach the IRC layer */
	irc_free(srv->irc);
	if (srv->base)
		event_base_free(srv->base);
	return true;
}

int main(int argc, char **argv)
{
	static struct server srv;
	int rc;

	umask(077);
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		fputs("pchatd: libsodium failed to initialise\n", stderr);
		return EXIT_START;
	}
	if (parse_args(&srv, argc, argv) != 0 || load_config(&srv, &srv.cfg) != 0)
		return EXIT_CONFIG;
	scram_set_default_iterations(srv.cfg.scram_iterations);
	rc = run(&srv);
	teardown(&srv); /* false only before a restart: the exec ends what was left */
	if (srv.restart) {
		char moved[48];

		/* the same program, arguments and configuration: pool_prepare picks the database */
		snprintf(moved, sizeof moved, "%s %lld", pool_db_name(srv.moved_to),
		         (long long)srv.moved_generation);
		setenv(PCHATD_MOVED_ENV, moved, 1);
		log_info("pchatd", "restarting");
		execv("/proc/self/exe", argv);
		log_error("pchatd", "cannot restart: %s", strerror(errno));
		return EXIT_START;
	}
	return rc;
}
