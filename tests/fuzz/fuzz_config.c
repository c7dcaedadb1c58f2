/*
 * fuzz_config.c — libFuzzer target for the INI configuration parser
 * (config_load, config_parse_listen, config_finish), src/core/config.c.
 *
 * The input is written to an in-memory file (memfd) and loaded through its
 * /proc/self/fd path, exactly as a file on disk would be. After a load the
 * struct must hold only terminated strings and in-range values, an error
 * must name the file and line, and the result must not depend on the size
 * of the error buffer. The input is also tried as a "listen" value.
 *
 * Deliberately not here: the command-line flags of the programs, and
 * whether the paths named in the file exist (config_load does not look).
 */
#include "common/log.h"
#include "core/config.h"
#include "fuzz_util.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX 65536 /* bytes of configuration tried */

static int mem_fd = -1;     /* the memfd holding the current input */
static char mem_path[64];   /* "/proc/self/fd/N" */
static struct config cfg;   /* loaded with a full error buffer */
static struct config cfg_b; /* loaded again with a short one */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_LEVEL_ERROR);
	mem_fd = memfd_create("fuzz_config", 0);
	FUZZ_CHECK(mem_fd >= 0);
	snprintf(mem_path, sizeof mem_path, "/proc/self/fd/%d", mem_fd);
	return 0;
}

static void put_input(const uint8_t *data, size_t size)
{
	size_t off = 0;

	FUZZ_CHECK(ftruncate(mem_fd, 0) == 0);
	while (off < size) {
		ssize_t n = pwrite(mem_fd, data + off, size - off, (off_t)off);

		FUZZ_CHECK(n > 0);
		off += (size_t)n;
	}
}

#define STR_OK(field)     FUZZ_CHECK(strnlen(c->field, sizeof c->field) < sizeof c->field)
#define IN(field, lo, hi) FUZZ_CHECK(c->field >= (lo) && c->field <= (hi))

/* What every loaded config holds, whether the load succeeded or not. */
static void check_terminated(const struct config *c)
{
	STR_OK(server_name);
	STR_OK(network);
	STR_OK(data_dir);
	STR_OK(motd_file);
	STR_OK(tls_cert);
	STR_OK(tls_key);
	STR_OK(db_url);
	STR_OK(default_category);
	STR_OK(log_level);
	IN(n_listen, 0, CONFIG_MAX_LISTEN);
	for (int i = 0; i < c->n_listen; i++)
		STR_OK(listen[i].addr);
}

/* The ranges of config.c's key table, restated. */
static void check_valid(const struct config *c)
{
	enum log_level lvl;

	FUZZ_CHECK(c->server_name[0] && c->network[0] && c->data_dir[0] && c->default_category[0]);
	FUZZ_CHECK(log_level_parse(c->log_level, &lvl) == 0);
	IN(n_listen, 1, CONFIG_MAX_LISTEN);
	for (int i = 0; i < c->n_listen; i++)
		FUZZ_CHECK(c->listen[i].addr[0] && c->listen[i].port >= 1);
	IN(scram_iterations, 4096, 10000000);
	IN(argon2_opslimit, 1, 100);
	IN(argon2_memlimit_kib, 8, 4194304);
	IN(auth_fail_delay_ms, 0, 60000);
	IN(max_clients, 1, 1000000);
	IN(sendq, 1024, 1073741824);
	IN(flood_rate, 0, 10000);
	IN(flood_burst, 1, 100000);
	IN(flood_kill_seconds, 1, 3600);
	IN(ping_interval, 5, 86400);
	IN(ping_timeout, 5, 3600);
	IN(register_timeout, 5, 3600);
	IN(default_history, 0, 500);
	IN(participant_update_limit, 1, 1000000);
}

/* The input as one "listen" item. */
static void check_listen(const uint8_t *data, size_t size)
{
	struct config_listen l;
	char spec[512];

	if (size >= sizeof spec || memchr(data, '\0', size))
		return;
	memcpy(spec, data, size);
	spec[size] = '\0';
	if (config_parse_listen(spec, &l) < 0)
		return;
	FUZZ_CHECK(strnlen(l.addr, sizeof l.addr) < sizeof l.addr && l.addr[0]);
	FUZZ_CHECK(l.port >= 1);
	FUZZ_CHECK(l.tls == (strncmp(spec, "tls://", 6) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct config *c = &cfg;
	char err[512], err_b[8];
	int rc, rc_b;

	if (size > INPUT_MAX)
		return 0;
	put_input(data, size);
	config_defaults(&cfg);
	memset(err, 'x', sizeof err);
	rc = config_load(&cfg, mem_path, err, sizeof err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(strnlen(err, sizeof err) < sizeof err);
	check_terminated(c);
	if (rc == 0) {
		FUZZ_CHECK(err[0] == '\0');
		check_valid(c);
		config_finish(&cfg);
		FUZZ_CHECK(c->db_url[0] && c->tls_cert[0] && c->tls_key[0]);
		check_terminated(c);
	} else {
		FUZZ_CHECK(strncmp(err, mem_path, strlen(mem_path)) == 0);
		FUZZ_CHECK(err[strlen(mem_path)] == ':');
	}
	config_defaults(&cfg_b);
	rc_b = config_load(&cfg_b, mem_path, err_b, sizeof err_b);
	FUZZ_CHECK(rc_b == rc);
	FUZZ_CHECK(strnlen(err_b, sizeof err_b) < sizeof err_b);
	check_listen(data, size);
	return 0;
}
