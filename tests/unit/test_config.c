/*
 * test_config.c — config.c: defaults, every key, every error path (each one
 * must name the file and the line), listener parsing, config_finish.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmp_path[64];

/* Write text to a temporary file; returns its path (static buffer). */
static const char *write_tmp(const char *text)
{
	int fd;
	FILE *fp;

	snprintf(tmp_path, sizeof tmp_path, "/tmp/pchat-cfg-XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return tmp_path;
}

/* Load text over defaults; returns config_load's result, err filled. */
static int load_text(struct config *cfg, const char *text, char *err, size_t errlen)
{
	const char *path = write_tmp(text);
	int rc;

	config_defaults(cfg);
	rc = config_load(cfg, path, err, errlen);
	unlink(path);
	return rc;
}

/* Assert that text fails with "PATH:LINE: expect". */
static void expect_error(const char *text, int line, const char *expect)
{
	struct config cfg;
	char err[512], want[512];

	assert_int_equal(load_text(&cfg, text, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:%d: %s", tmp_path, line, expect);
	assert_string_equal(err, want);
}

static void test_defaults(void **state)
{
	struct config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_string_equal(cfg.server_name, "pchat.local");
	assert_string_equal(cfg.network, "pchat");
	assert_string_equal(cfg.data_dir, "./pchat-data");
	assert_string_equal(cfg.motd_file, "");
	assert_int_equal(cfg.n_listen, 2);
	assert_string_equal(cfg.listen[0].addr, "127.0.0.1");
	assert_int_equal(cfg.listen[0].port, 6667);
	assert_false(cfg.listen[0].tls);
	assert_string_equal(cfg.listen[1].addr, "127.0.0.1");
	assert_int_equal(cfg.listen[1].port, 6697);
	assert_true(cfg.listen[1].tls);
	assert_false(cfg.allow_guests);
	assert_int_equal(cfg.scram_iterations, 600000);
	assert_int_equal(cfg.argon2_opslimit, 2);
	assert_int_equal(cfg.argon2_memlimit_kib, 19456);
	assert_int_equal(cfg.auth_fail_delay_ms, 1000);
	assert_int_equal(cfg.max_clients, 20000);
	assert_int_equal(cfg.sendq, 262144);
	assert_int_equal(cfg.flood_rate, 20);
	assert_int_equal(cfg.flood_burst, 40);
	assert_int_equal(cfg.flood_kill_seconds, 30);
	assert_int_equal(cfg.ping_interval, 120);
	assert_int_equal(cfg.ping_timeout, 60);
	assert_int_equal(cfg.register_timeout, 60);
	assert_int_equal(cfg.default_history, 30);
	assert_string_equal(cfg.log_level, "info");
	assert_string_equal(cfg.db_url, "");
	assert_string_equal(cfg.tls_cert, "");
}

static const char full_file[] = "; a full file\n"
                                "[server]\n"
                                "name = irc.example.org\n"
                                "network = ExampleNet\n"
                                "data_dir = /var/lib/pchat\n"
                                "motd_file = /etc/pchat/motd.txt\n"
                                "listen = 0.0.0.0:6667, tls://0.0.0.0:6697\n"
                                "listen = [::1]:7000\n"
                                "[tls]\n"
                                "cert = /etc/pchat/cert.pem\n"
                                "key = /etc/pchat/key.pem\n"
                                "[database]\n"
                                "url = sqlite:/srv/chat.db\n"
                                "[auth]\n"
                                "allow_guests = yes\n"
                                "scram_iterations = 4096\n"
                                "argon2_opslimit = 3\n"
                                "argon2_memlimit_kib = 8192\n"
                                "auth_fail_delay_ms = 0\n"
                                "[limits]\n"
                                "max_clients = 10\n"
                                "sendq = 1024\n"
                                "flood_rate = 0\n"
                                "flood_burst = 5\n"
                                "flood_kill_seconds = 7\n"
                                "ping_interval = 30\n"
                                "ping_timeout = 20\n"
                                "register_timeout = 10\n"
                                "[chat]\n"
                                "default_history = 500\n"
                                "[log]\n"
                                "level = debug\n";

static void test_every_key(void **state)
{
	struct config cfg;
	char err[512];

	(void)state;
	assert_int_equal(load_text(&cfg, full_file, err, sizeof err), 0);
	assert_string_equal(err, "");
	assert_string_equal(cfg.server_name, "irc.example.org");
	assert_string_equal(cfg.network, "ExampleNet");
	assert_string_equal(cfg.data_dir, "/var/lib/pchat");
	assert_string_equal(cfg.motd_file, "/etc/pchat/motd.txt");
	assert_int_equal(cfg.n_listen, 3);
	assert_string_equal(cfg.listen[0].addr, "0.0.0.0");
	assert_int_equal(cfg.listen[0].port, 6667);
	assert_false(cfg.listen[0].tls);
	assert_string_equal(cfg.listen[1].addr, "0.0.0.0");
	assert_int_equal(cfg.listen[1].port, 6697);
	assert_true(cfg.listen[1].tls);
	assert_string_equal(cfg.listen[2].addr, "::1");
	assert_int_equal(cfg.listen[2].port, 7000);
	assert_string_equal(cfg.tls_cert, "/etc/pchat/cert.pem");
	assert_string_equal(cfg.tls_key, "/etc/pchat/key.pem");
	assert_string_equal(cfg.db_url, "sqlite:/srv/chat.db");
	assert_true(cfg.allow_guests);
	assert_int_equal(cfg.scram_iterations, 4096);
	assert_int_equal(cfg.argon2_opslimit, 3);
	assert_int_equal(cfg.argon2_memlimit_kib, 8192);
	assert_int_equal(cfg.auth_fail_delay_ms, 0);
	assert_int_equal(cfg.max_clients, 10);
	assert_int_equal(cfg.sendq, 1024);
	assert_int_equal(cfg.flood_rate, 0);
	assert_int_equal(cfg.flood_burst, 5);
	assert_int_equal(cfg.flood_kill_seconds, 7);
	assert_int_equal(cfg.ping_interval, 30);
	assert_int_equal(cfg.ping_timeout, 20);
	assert_int_equal(cfg.register_timeout, 10);
	assert_int_equal(cfg.default_history, 500);
	assert_string_equal(cfg.log_level, "debug");
	/* config_finish leaves explicit values alone */
	config_finish(&cfg);
	assert_string_equal(cfg.db_url, "sqlite:/srv/chat.db");
	assert_string_equal(cfg.tls_cert, "/etc/pchat/cert.pem");
}

static void test_partial_keeps_defaults(void **state)
{
	struct config cfg;
	char err[512];

	(void)state;
	assert_int_equal(load_text(&cfg, "[limits]\nsendq = 2048\n", err, sizeof err), 0);
	assert_int_equal(cfg.sendq, 2048);
	assert_int_equal(cfg.max_clients, 20000);
	assert_int_equal(cfg.n_listen, 2); /* no listen key: defaults stay */
	assert_int_equal(load_text(&cfg, "", err, sizeof err), 0);
	assert_int_equal(cfg.default_history, 30);
}

static void test_listen_replaces_defaults(void **state)
{
	struct config cfg;
	char err[512];

	(void)state;
	assert_int_equal(load_text(&cfg, "[server]\nlisten = 127.0.0.1:7777\n", err, sizeof err),
	                 0);
	assert_int_equal(cfg.n_listen, 1);
	assert_int_equal(cfg.listen[0].port, 7777);
	assert_false(cfg.listen[0].tls);
}

static void test_bool_forms(void **state)
{
	struct config cfg;
	char err[512];

	(void)state;
	assert_int_equal(load_text(&cfg, "[auth]\nallow_guests = on\n", err, sizeof err), 0);
	assert_true(cfg.allow_guests);
	assert_int_equal(load_text(&cfg, "[auth]\nallow_guests = false\n", err, sizeof err), 0);
	assert_false(cfg.allow_guests);
}

static void test_errors_name_line(void **state)
{
	(void)state;
	expect_error("[server]\nname = a\nbogus = 1\n", 3, "unknown key 'bogus' in [server]");
	expect_error("\n[nope]\nx = 1\n", 2, "unknown section [nope]");
	expect_error("[server]\n[empty]\n", 2, "unknown section [empty]");
	expect_error("x = 1\n", 1, "unknown section []");
	expect_error("[limits]\nsendq = 10\n", 2,
	             "[limits] sendq: expected an integer from 1024 to 1073741824");
	expect_error("[limits]\nsendq = 1073741825\n", 2,
	             "[limits] sendq: expected an integer from 1024 to 1073741824");
	expect_error("[limits]\n\n\nmax_clients = lots\n", 4,
	             "[limits] max_clients: expected an integer from 1 to 1000000");
	expect_error("[chat]\ndefault_history = 501\n", 2,
	             "[chat] default_history: expected an integer from 0 to 500");
	expect_error("[chat]\ndefault_history = -1\n", 2,
	             "[chat] default_history: expected an integer from 0 to 500");
	expect_error("[auth]\nscram_iterations = 4095\n", 2,
	             "[auth] scram_iterations: expected an integer from 4096 to 10000000");
	expect_error("[auth]\nallow_guests = maybe\n", 2,
	             "[auth] allow_guests: expected yes or no");
	expect_error("[log]\nlevel = loud\n", 2,
	             "[log] level: expected one of debug, info, warn, error");
	expect_error("[server]\nname = bad name\n", 2,
	             "[server] name: expected a host name (letters, digits, '.', '-', '_')");
	expect_error("[server]\nnetwork = two words\n", 2,
	             "[server] network: expected a word without spaces");
	expect_error("[server]\ndata_dir =\n", 2, "[server] data_dir: expected a non-empty value");
	expect_error("[server]\nlisten = 1.2.3.4:0\n", 2,
	             "[server] listen: '1.2.3.4:0' is not [tls://]ADDR:PORT (port 1-65535, "
	             "IPv6 in brackets)");
	expect_error("[server]\nlisten = 1.2.3.4:1, nope\n", 2,
	             "[server] listen: 'nope' is not [tls://]ADDR:PORT (port 1-65535, IPv6 in "
	             "brackets)");
	expect_error("[server]\nthis line has no equals sign\n", 2,
	             "syntax error: expected 'key = value' or '[section]'");
}

static void test_error_first_only(void **state)
{
	(void)state;
	expect_error("[limits]\nsendq = 1\nmax_clients = 0\n", 2,
	             "[limits] sendq: expected an integer from 1024 to 1073741824");
}

static void test_too_many_listeners(void **state)
{
	char text[1024];
	size_t len = 0;

	(void)state;
	len += (size_t)snprintf(text + len, sizeof text - len, "[server]\n");
	for (int i = 0; i < 17; i++)
		len += (size_t)snprintf(text + len, sizeof text - len, "listen = 127.0.0.1:%d\n",
		                        7000 + i);
	expect_error(text, 18, "[server] listen: more than 16 listeners");
}

static void test_long_line(void **state)
{
	char text[600];

	(void)state;
	memset(text, 'a', sizeof text);
	memcpy(text, "[server]\nmotd_file = ", 21);
	text[sizeof text - 2] = '\n';
	text[sizeof text - 1] = '\0';
	expect_error(text, 2, "line longer than 198 bytes");
}

static void test_missing_file(void **state)
{
	struct config cfg;
	char err[512];

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_load(&cfg, "/nonexistent/pchat.ini", err, sizeof err), -1);
	assert_string_equal(err, "/nonexistent/pchat.ini: cannot open: No such file or directory");
}

static void test_parse_listen(void **state)
{
	struct config_listen l;

	(void)state;
	assert_int_equal(config_parse_listen("127.0.0.1:6667", &l), 0);
	assert_string_equal(l.addr, "127.0.0.1");
	assert_int_equal(l.port, 6667);
	assert_false(l.tls);
	assert_int_equal(config_parse_listen("tls://0.0.0.0:6697", &l), 0);
	assert_string_equal(l.addr, "0.0.0.0");
	assert_int_equal(l.port, 6697);
	assert_true(l.tls);
	assert_int_equal(config_parse_listen("[::1]:6667", &l), 0);
	assert_string_equal(l.addr, "::1");
	assert_int_equal(l.port, 6667);
	assert_int_equal(config_parse_listen("tls://[fe80::1]:65535", &l), 0);
	assert_string_equal(l.addr, "fe80::1");
	assert_int_equal(l.port, 65535);
	assert_true(l.tls);
	assert_int_equal(config_parse_listen("localhost:6667", &l), 0);
	assert_string_equal(l.addr, "localhost");

	static const char *const bad[] = {
	    "127.0.0.1",       "127.0.0.1:",   "127.0.0.1:0",    "127.0.0.1:65536",
	    "127.0.0.1:-1",    "127.0.0.1:+5", "127.0.0.1:66x",  ":6667",
	    "::1:6667",        "[::1]6667",    "[::1:6667",      "[]:6667",
	    "tls://",          "http://x:80",  "bad host:6667",  "",
	    "127.0.0.1:99999", "a/b:1",        "tls://tls://a:1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		l.port = 1;
		if (config_parse_listen(bad[i], &l) != -1)
			fail_msg("accepted bad listen spec '%s'", bad[i]);
	}
}

/* [compliance]: durations with units, the format choice, their errors. */
static void test_compliance_keys(void **state)
{
	static const struct {
		const char *value; /* run_interval */
		int secs;          /* expected, -1 = error */
	} cases[] = {{"90", 90},       {"90s", 90}, {"15m", 900}, {"2h", 7200},
	             {"30d", 2592000}, {"59s", -1}, {"31d", -1},  {"1x", -1},
	             {"m", -1},        {"", -1},    {"-5m", -1},  {"1.5h", -1}};
	struct config cfg;
	char err[512], text[256];

	(void)state;
	config_defaults(&cfg);
	assert_false(cfg.comp_enabled);
	assert_int_equal(cfg.comp_run_interval, 900);
	assert_string_equal(cfg.comp_format, "xml");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(text, sizeof text, "[compliance]\nrun_interval = %s\n", cases[i].value);
		if (cases[i].secs < 0) {
			expect_error(text, 2,
			             "[compliance] run_interval: expected a duration from 60s to "
			             "2592000s (90s, 15m, 2h, 30d)");
			continue;
		}
		assert_int_equal(load_text(&cfg, text, err, sizeof err), 0);
		assert_int_equal(cfg.comp_run_interval, cases[i].secs);
	}
	assert_int_equal(load_text(&cfg,
	                           "[compliance]\nenabled = yes\nformat = jsonl\n"
	                           "one_room_per_file = yes\nadd_room_details = yes\n"
	                           "add_user_details = yes\nmax_events_per_file = 5000\n"
	                           "output_dir = /srv/archive\n",
	                           err, sizeof err),
	                 0);
	assert_true(cfg.comp_enabled && cfg.comp_one_room_per_file && cfg.comp_add_room_details &&
	            cfg.comp_add_user_details);
	assert_string_equal(cfg.comp_format, "jsonl");
	assert_int_equal(cfg.comp_max_events_per_file, 5000);
	assert_string_equal(cfg.comp_output_dir, "/srv/archive");
	expect_error("[compliance]\nformat = csv\n", 2,
	             "[compliance] format: expected one of xml|jsonl");
	expect_error("[compliance]\nformat = xm\n", 2,
	             "[compliance] format: expected one of xml|jsonl");
	config_defaults(&cfg);
	config_finish(&cfg);
	assert_string_equal(cfg.comp_output_dir, "./pchat-data/compliance");
}

static void test_finish(void **state)
{
	struct config cfg;

	(void)state;
	config_defaults(&cfg);
	snprintf(cfg.data_dir, sizeof cfg.data_dir, "/srv/pc");
	config_finish(&cfg);
	assert_string_equal(cfg.db_url, "sqlite:/srv/pc/pchat.db");
	assert_string_equal(cfg.tls_cert, "/srv/pc/tls/cert.pem");
	assert_string_equal(cfg.tls_key, "/srv/pc/tls/key.pem");
	config_finish(&cfg); /* idempotent */
	assert_string_equal(cfg.db_url, "sqlite:/srv/pc/pchat.db");
}

static void test_pool_keys(void **state)
{
	struct config cfg;
	char err[512];
	int64_t secs;

	(void)state;
	config_defaults(&cfg);
	assert_string_equal(cfg.pool_topology, "");
	assert_string_equal(cfg.pool_unconfirmed, "fail-closed");
	config_finish(&cfg);
	assert_string_equal(cfg.pool_server, "pchat.local"); /* default: [server] name */

	assert_int_equal(load_text(&cfg,
	                           "[server]\nname = a1.example\n[pool]\n"
	                           "topology = /etc/pchat/topology.ini\nunconfirmed = serve\n",
	                           err, sizeof err),
	                 0);
	config_finish(&cfg);
	assert_string_equal(cfg.pool_topology, "/etc/pchat/topology.ini");
	assert_string_equal(cfg.pool_server, "a1.example");
	assert_string_equal(cfg.pool_unconfirmed, "serve");
	assert_string_equal(cfg.db_url, ""); /* the topology names the databases */

	assert_int_equal(load_text(&cfg, "[pool]\nserver = b1\n", err, sizeof err), 0);
	config_finish(&cfg);
	assert_string_equal(cfg.pool_server, "b1");
	assert_non_null(strstr(cfg.db_url, "sqlite:")); /* no topology: SQLite as before */

	expect_error("[pool]\nunconfirmed = maybe\n", 2,
	             "[pool] unconfirmed: expected one of fail-closed|serve");
	expect_error("[pool]\nserver = a b\n", 2,
	             "[pool] server: expected a host name (letters, digits, '.', '-', '_')");
	expect_error("[pool]\nwho = x\n", 2, "unknown key 'who' in [pool]");

	/* a topology and a database URL: an error naming both */
	assert_int_equal(load_text(&cfg,
	                           "[database]\nurl = postgresql://x/y\n[pool]\ntopology = t.ini\n",
	                           err, sizeof err),
	                 -1);
	assert_non_null(strstr(err, "[database] url and [pool] topology are both set"));

	assert_int_equal(config_parse_duration("15m", 1, 3600, &secs), 0);
	assert_int_equal(secs, 900);
	assert_int_equal(config_parse_duration("7d", 1, 30 * 86400, &secs), 0);
	assert_int_equal(secs, 7 * 86400);
	assert_int_equal(config_parse_duration("2h", 1, 3600, &secs), -1); /* over max */
	assert_int_equal(config_parse_duration("5x", 1, 3600, &secs), -1);
	assert_int_equal(config_parse_duration("", 1, 3600, &secs), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_every_key),
	    cmocka_unit_test(test_partial_keeps_defaults),
	    cmocka_unit_test(test_listen_replaces_defaults),
	    cmocka_unit_test(test_bool_forms),
	    cmocka_unit_test(test_errors_name_line),
	    cmocka_unit_test(test_error_first_only),
	    cmocka_unit_test(test_too_many_listeners),
	    cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_parse_listen),
	    cmocka_unit_test(test_finish),
	    cmocka_unit_test(test_compliance_keys),
	    cmocka_unit_test(test_pool_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
