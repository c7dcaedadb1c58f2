/*
 * test_ha.c — src/ha without a database: the atomic rewrite of a topology
 * section (comments and other sections kept byte for byte, keys replaced
 * in place, added, removed; the result still loads), the new [database]
 * keys of the topology, and mirror-check's decision table.
 */
#include "ha/ha.h"
#include "pool/topology.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static const char base_text[] = "; the pool's topology\n"
                                "[pool]\n"
                                "name = chat\n"
                                "\n"
                                "[server a1]\n"
                                "datacenter = dc-a\n"
                                "\n"
                                "[database primary]\n"
                                "# primary of data center A\n"
                                "datacenter = dc-a\n"
                                "url = postgresql://pchat@127.0.0.1:5432/pchat   \n"
                                "data_dir = /srv/pg/primary\n"
                                "; keep me\n"
                                "\n"
                                "[database backup]\n"
                                "datacenter = dc-b\n"
                                "url = postgresql://pchat@127.0.0.1:5434/pchat\n"
                                "mirror = postgresql://pchat@127.0.0.1:5435/pchat\n";

/* A temporary file holding text; returns its path (static buffer). */
static const char *tmp_file(const char *text)
{
	static char path[64];
	FILE *fp;
	int fd;

	snprintf(path, sizeof path, "/tmp/test_ha_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	fputs(text, fp);
	fclose(fp);
	chmod(path, 0640);
	return path;
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = calloc(1, 8192);

	assert_non_null(fp);
	assert_true(fread(buf, 1, 8191, fp) > 0);
	fclose(fp);
	return buf;
}

static void test_set_replaces_and_adds_keeping_the_rest(void **state)
{
	const char *path = tmp_file(base_text);
	struct ha_kv kv[] = {{"url", "postgresql://pchat@127.0.0.1:5433/pchat"},
	                     {"mirror", "postgresql://pchat@127.0.0.1:5432/pchat"}};
	char err[HA_ERR_MAX];
	struct stat sb;
	char *text;

	assert_int_equal(ha_topo_set(path, "database primary", kv, 2, err, sizeof err), HA_OK);
	text = slurp(path);
	assert_string_equal(text, "; the pool's topology\n"
	                          "[pool]\n"
	                          "name = chat\n"
	                          "\n"
	                          "[server a1]\n"
	                          "datacenter = dc-a\n"
	                          "\n"
	                          "[database primary]\n"
	                          "# primary of data center A\n"
	                          "datacenter = dc-a\n"
	                          "url = postgresql://pchat@127.0.0.1:5433/pchat\n"
	                          "data_dir = /srv/pg/primary\n"
	                          "mirror = postgresql://pchat@127.0.0.1:5432/pchat\n"
	                          "; keep me\n"
	                          "\n"
	                          "[database backup]\n"
	                          "datacenter = dc-b\n"
	                          "url = postgresql://pchat@127.0.0.1:5434/pchat\n"
	                          "mirror = postgresql://pchat@127.0.0.1:5435/pchat\n");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640); /* the original's mode */
	free(text);
	unlink(path);
}

static void test_set_last_section_without_newline_and_remove(void **state)
{
	const char *path = tmp_file("[pool]\nname = chat\n[database backup]\nurl = x\nmirror = y");
	struct ha_kv add[] = {{"data_dir", "/d"}};
	struct ha_kv del[] = {{"mirror", ""}};
	char err[HA_ERR_MAX], *text;

	assert_int_equal(ha_topo_set(path, "database backup", add, 1, err, sizeof err), HA_OK);
	text = slurp(path);
	assert_string_equal(text, "[pool]\nname = chat\n[database backup]\nurl = x\nmirror = y\n"
	                          "data_dir = /d\n");
	free(text);
	assert_int_equal(ha_topo_set(path, "database backup", del, 1, err, sizeof err), HA_OK);
	text = slurp(path);
	assert_string_equal(text,
	                    "[pool]\nname = chat\n[database backup]\nurl = x\ndata_dir = /d\n");
	free(text);
	unlink(path);
}

static void test_set_refuses_missing_section_and_newlines(void **state)
{
	const char *path = tmp_file(base_text);
	struct ha_kv bad[] = {{"mirror", "a\nurl = evil"}};
	struct ha_kv ok[] = {{"mirror", "m"}};
	char err[HA_ERR_MAX], *text;

	assert_int_equal(ha_topo_set(path, "database primary", bad, 1, err, sizeof err),
	                 HA_EINVALID);
	assert_int_equal(ha_topo_set(path, "database nowhere", ok, 1, err, sizeof err),
	                 HA_EINVALID);
	assert_non_null(strstr(err, "no [database nowhere] section"));
	text = slurp(path);
	assert_string_equal(text, base_text); /* untouched */
	free(text);
	unlink(path);
	assert_int_equal(ha_topo_set("/nonexistent/t.ini", "pool", ok, 1, err, sizeof err),
	                 HA_ESYS);
}

static void test_no_temporary_file_left(void **state)
{
	char dir[] = "/tmp/test_ha_dir_XXXXXX", path[128], cmd[256];
	struct ha_kv kv[] = {{"mirror", "m"}};
	char err[HA_ERR_MAX];
	FILE *fp;
	int n = 0;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/topology.ini", dir);
	fp = fopen(path, "w");
	fputs(base_text, fp);
	fclose(fp);
	assert_int_equal(ha_topo_set(path, "database backup", kv, 1, err, sizeof err), HA_OK);
	snprintf(cmd, sizeof cmd, "ls %s | wc -l", dir);
	fp = popen(cmd, "r");
	assert_int_equal(fscanf(fp, "%d", &n), 1);
	pclose(fp);
	assert_int_equal(n, 1);
	unlink(path);
	rmdir(dir);
}

static void test_rewritten_topology_loads_with_new_keys(void **state)
{
	const char *path = tmp_file(base_text);
	struct ha_kv kv[] = {{"mirror_data_dir", "/srv/pg/mirror"},
	                     {"mirror_lost", "degrade"},
	                     {"mirror_lost_after", "30s"}};
	struct topology *t = calloc(1, sizeof(*t));
	char err[HA_ERR_MAX];

	assert_int_equal(ha_topo_set(path, "database primary", kv, 3, err, sizeof err), HA_OK);
	assert_int_equal(topo_load(t, path, err, sizeof err), 0);
	assert_string_equal(t->primary.data_dir, "/srv/pg/primary");
	assert_string_equal(t->primary.mirror_data_dir, "/srv/pg/mirror");
	assert_int_equal(t->primary.mirror_lost, TOPO_MIRROR_DEGRADE);
	assert_int_equal(t->primary.mirror_lost_after, 30);
	assert_int_equal(t->backup.mirror_lost, TOPO_MIRROR_BLOCK); /* the default */
	assert_int_equal(t->backup.mirror_lost_after, 10);
	kv[1].value = "sometimes";
	assert_int_equal(ha_topo_set(path, "database primary", kv, 2, err, sizeof err), HA_OK);
	assert_int_equal(topo_load(t, path, err, sizeof err), -1);
	assert_non_null(strstr(err, "mirror_lost: expected block or degrade"));
	free(t);
	unlink(path);
}

static void test_check_decide(void **state)
{
	struct ha_mirror_state st = {.reachable = true};

	/* in sync */
	st.connected = true;
	snprintf(st.state, sizeof st.state, "streaming");
	snprintf(st.sync_names, sizeof st.sync_names, "pchat_mirror");
	assert_int_equal(ha_check_decide(&st, true, 0, 10000), HA_CHECK_OK);
	/* lost, within the grace period, then past it */
	st.connected = false;
	st.state[0] = '\0';
	assert_int_equal(ha_check_decide(&st, true, 9999, 10000), HA_CHECK_WAITING);
	assert_int_equal(ha_check_decide(&st, true, 10000, 10000), HA_CHECK_DEGRADED);
	assert_int_equal(ha_check_decide(&st, false, 10000, 10000), HA_CHECK_BLOCKING);
	/* degraded: stays so while lost */
	st.sync_names[0] = '\0';
	assert_int_equal(ha_check_decide(&st, true, 60000, 10000), HA_CHECK_STILL_DEGR);
	/* back but far behind, then caught up */
	st.connected = true;
	snprintf(st.state, sizeof st.state, "streaming");
	st.lag_bytes = 64 * 1024 * 1024;
	assert_int_equal(ha_check_decide(&st, true, 0, 10000), HA_CHECK_CATCHING);
	st.lag_bytes = 0;
	assert_int_equal(ha_check_decide(&st, true, 0, 10000), HA_CHECK_RESTORED);
	/* connected but still catching up in the walsender's sense */
	snprintf(st.state, sizeof st.state, "catchup");
	snprintf(st.sync_names, sizeof st.sync_names, "pchat_mirror");
	assert_int_equal(ha_check_decide(&st, false, 20000, 10000), HA_CHECK_BLOCKING);
	assert_string_equal(ha_check_name(HA_CHECK_DEGRADED), "degraded");
}

static void test_bindir(void **state)
{
	const char *path = tmp_file("[pool]\nname = x\n[postgresql]\nbindir = /opt/pg/bin\n");
	char out[256];

	ha_bindir(path, out, sizeof out);
	assert_string_equal(out, "/opt/pg/bin");
	unlink(path);
	ha_bindir(NULL, out, sizeof out);
	assert_string_equal(out, HA_DEFAULT_BIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_set_replaces_and_adds_keeping_the_rest),
	    cmocka_unit_test(test_set_last_section_without_newline_and_remove),
	    cmocka_unit_test(test_set_refuses_missing_section_and_newlines),
	    cmocka_unit_test(test_no_temporary_file_left),
	    cmocka_unit_test(test_rewritten_topology_loads_with_new_keys),
	    cmocka_unit_test(test_check_decide),
	    cmocka_unit_test(test_bindir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
