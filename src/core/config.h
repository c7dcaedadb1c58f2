/*
 * config.h — pchatd/pchatctl configuration: one INI file (inih), then the
 * command-line flags on top. Every key is documented, with its default, in
 * docs/configuration.md; an unknown key or a bad value is an error that
 * names the file and line.
 */
#ifndef PCHAT_CORE_CONFIG_H
#define PCHAT_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_MAX_LISTEN 16   /* listeners */
#define CONFIG_PATH_MAX   1024 /* bytes of a path or URL, with NUL */

struct config_listen {
	char addr[256]; /* host or IP literal (IPv6 without brackets) */
	uint16_t port;  /* TCP port */
	bool tls;       /* TLS listener ("tls://" prefix) */
};

struct config {
	/* [server] */
	char server_name[256];                          /* name in prefixes and 001-005 */
	char network[64];                               /* NETWORK= in ISUPPORT */
	char data_dir[CONFIG_PATH_MAX];                 /* default ./pchat-data */
	char motd_file[CONFIG_PATH_MAX];                /* "" = built-in MOTD */
	struct config_listen listen[CONFIG_MAX_LISTEN]; /* listeners */
	int n_listen;                                   /* listeners in use */
	/* [tls] */
	char tls_cert[CONFIG_PATH_MAX]; /* "" = DATA_DIR/tls/cert.pem (generated) */
	char tls_key[CONFIG_PATH_MAX];  /* "" = DATA_DIR/tls/key.pem (generated) */
	/* [database] */
	char db_url[CONFIG_PATH_MAX]; /* "" = sqlite:DATA_DIR/pchat.db */
	/* [auth] */
	bool allow_guests;       /* NICK/USER without SASL (no account) */
	int scram_iterations;    /* PBKDF2 iterations for new SCRAM keys */
	int argon2_opslimit;     /* Argon2id passes for new hashes */
	int argon2_memlimit_kib; /* Argon2id memory for new hashes, KiB */
	int auth_fail_delay_ms;  /* first delay after a failed login, doubles */
	/* [limits] */
	int max_clients;        /* connections accepted at once */
	int sendq;              /* bytes queued to a client before it is dropped */
	int flood_rate;         /* sustained commands per second (0 = no flood control) */
	int flood_burst;        /* commands accepted at once before holding back */
	int flood_kill_seconds; /* backlog (seconds of penalty) that disconnects */
	int ping_interval;      /* seconds of silence before the server PINGs */
	int ping_timeout;       /* seconds to answer that PING */
	int coalesce_us;        /* busy fan-out: output held at most this long (0 = off) */
	int register_timeout;   /* seconds to finish registration */
	/* [chat] */
	int default_history;          /* lines replayed on JOIN without chathistory (0-500) */
	char default_category[64];    /* where JOIN of an unknown room creates it */
	int participant_update_limit; /* above it, JOIN/PART/QUIT of a room are not broadcast */
	/* [compliance] */
	bool comp_enabled;                     /* capture events and run the adapter */
	int comp_run_interval;                 /* seconds between adapter runs (60 s to 30 days) */
	char comp_output_dir[CONFIG_PATH_MAX]; /* "" = DATA_DIR/compliance */
	char comp_format[8];                   /* "xml" or "jsonl" */
	bool comp_one_room_per_file;           /* one output file per conversation */
	bool comp_add_room_details;            /* room id and category in Channel */
	bool comp_add_user_details;            /* client address in Sender */
	int comp_max_events_per_file;          /* events per claimed range (and file) */
	/* [pool] */
	char pool_topology[CONFIG_PATH_MAX]; /* topology file, "" = no pool (one server) */
	char pool_server[64];                /* this server's name there; "" = [server] name */
	char pool_unconfirmed[16];           /* "fail-closed" or "serve" (docs/deployment.md) */
	/* [log] */
	char log_level[16]; /* debug, info, warn, error */
};

/* Fill cfg with the built-in defaults (the embedded mode). */
void config_defaults(struct config *cfg);

/*
 * Read path over cfg (keys not in the file keep their value). Returns 0, or
 * -1 with a message "FILE:LINE: what is wrong" in err.
 */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);

/*
 * Parse "[tls://]ADDR:PORT" ("[::1]:6667" for IPv6) into l. 0 or -1.
 */
int config_parse_listen(const char *spec, struct config_listen *l);

/*
 * Parse a duration "90", "90s", "15m", "2h" or "30d" into *secs, which must
 * lie in [min, max] seconds. 0, or -1 when malformed or out of range.
 */
int config_parse_duration(const char *v, int64_t min, int64_t max, int64_t *secs);

/*
 * Finish the configuration after file and flags: fill paths derived from
 * data_dir (database URL, TLS files) and the pool server name. With a pool
 * topology the database URL stays "" (the topology names the databases).
 * Always succeeds.
 */
void config_finish(struct config *cfg);

/*
 * For inih stream readers (config and topology files): read one line of fp
 * into str (num bytes) and count it in *line. 0, CONFIG_LINE_END at the end
 * or on an error, or CONFIG_LINE_LONG when the line does not fit (inih
 * would cut it silently: the caller refuses it).
 */
#define CONFIG_LINE_END  (-1)
#define CONFIG_LINE_LONG (-2)
int config_read_line(char *str, int num, FILE *fp, int *line);

#endif
