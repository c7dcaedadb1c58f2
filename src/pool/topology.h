/*
 * topology.h — the pool's topology file (SPEC §6), shared by every server
 * of a pool and by pchatctl: the pool's name, its servers with their data
 * center, the primary and backup databases (each with an optional mirror),
 * the log-shipping paths and thresholds, and where PostgreSQL's programs
 * are ([postgresql] bindir). docs/deployment.md has a complete
 * two-data-center example.
 *
 * Reading only: what the pool does with it lives in pool.h.
 */
#ifndef PCHAT_POOL_TOPOLOGY_H
#define PCHAT_POOL_TOPOLOGY_H

#include "core/config.h"

#include <stdbool.h>
#include <stddef.h>

#define TOPO_NAME_MAX    64  /* pool, server and data center names, bytes + NUL */
#define TOPO_MAX_SERVERS 128 /* servers of a pool */
#define TOPO_PG_BINDIR   "/usr/lib/postgresql/15/bin" /* [postgresql] bindir default */

struct topo_server {
	char name[TOPO_NAME_MAX];       /* server name ([server NAME]) */
	char datacenter[TOPO_NAME_MAX]; /* its data center */
	int line;                       /* line of its section, for messages */
};

/* What a primary does while its synchronous mirror is lost (src/ha). */
enum topo_mirror_lost {
	TOPO_MIRROR_BLOCK = 0, /* keep synchronous_standby_names: writes wait */
	TOPO_MIRROR_DEGRADE,   /* drop to asynchronous and alert */
};

struct topo_db {
	char datacenter[TOPO_NAME_MAX]; /* where it runs */
	char url[CONFIG_PATH_MAX];    /* postgresql://... (or a SQLite URL for one-server tests) */
	char mirror[CONFIG_PATH_MAX]; /* its synchronous standby, "" = none */
	char data_dir[CONFIG_PATH_MAX];        /* its PGDATA on this host, "" = unknown */
	char mirror_data_dir[CONFIG_PATH_MAX]; /* the mirror's PGDATA, "" = unknown */
	enum topo_mirror_lost mirror_lost;     /* mirror_lost = block | degrade */
	int mirror_lost_after;                 /* seconds without the mirror before acting */
	int line;                              /* line of its section, 0 = section missing */
};

struct topo_logship {
	char share[CONFIG_PATH_MAX];            /* backup share (written in data center A) */
	char copy_destination[CONFIG_PATH_MAX]; /* the backup side's copy folder */
	int backup_interval;   /* seconds: force a log segment at least this often */
	int backup_threshold;  /* seconds without a backup before an alert */
	int restore_threshold; /* seconds without a restore before an alert */
	int retention;         /* seconds files are kept */
};

struct topology {
	char path[CONFIG_PATH_MAX];                   /* the file it was read from */
	char name[TOPO_NAME_MAX];                     /* pool name ([pool] name) */
	struct topo_server servers[TOPO_MAX_SERVERS]; /* in file order */
	int n_servers;                                /* entries in servers */
	struct topo_db primary;                       /* [database primary] */
	struct topo_db backup;                        /* [database backup] */
	struct topo_logship logship;                  /* [logship], defaults when absent */
	char pg_bindir[CONFIG_PATH_MAX]; /* [postgresql] bindir: PostgreSQL's programs */
};

/*
 * Read and check the topology file path into t (fully overwritten). Returns
 * 0, or -1 with "FILE:LINE: what is wrong" in err (FILE: ... for a check of
 * the whole file that no single line is to blame for).
 */
int topo_load(struct topology *t, const char *path, char *err, size_t errlen);

/* The server named name (ASCII case-insensitive), or NULL. */
const struct topo_server *topo_server(const struct topology *t, const char *name);

/* The database "primary" or "backup" (NULL for another word). */
const struct topo_db *topo_db(const struct topology *t, const char *which);

/* Whether name is a valid pool, server or data center name. */
bool topo_name_ok(const char *name);

#endif
