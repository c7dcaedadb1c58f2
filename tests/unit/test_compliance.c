/*
 * test_compliance.c — the compliance adapter: golden XML and JSON Lines
 * files, schema validation of every XML variant, JSON round trip, .NET time
 * formats, text clean-up, and comp_run on a real temporary SQLite store
 * (export, file names, empty queue, missing directory, resumed claim).
 *
 * Not here: crashes at each step (the integration tests kill processes).
 * PCHAT_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/xmlschemas.h>

#include "common/str.h"
#include "common/xmalloc.h"
#include "compliance/comp_int.h"
#include "compliance/compliance.h"
#include "store/store.h"

#define GOLDEN_DIR PCHAT_SRC_DIR "/tests/unit/data/compliance"
#define XSD_PATH   PCHAT_SRC_DIR "/docs/compliance.xsd"
#define T0         1212610540953LL

/* --- fixtures ------------------------------------------------------------ */

static struct store_cevent ev_make(int64_t id, const char *type, const char *actor,
                                   int64_t actor_id, int64_t room_id, const char *room,
                                   const char *peer, const char *content, const char *detail)
{
	struct store_cevent e;

	memset(&e, 0, sizeof(e));
	e.id = id;
	e.ts_ms = T0 + (id - 1) * 1001;
	str_copy(e.type, type, sizeof(e.type));
	str_copy(e.actor, actor, sizeof(e.actor));
	e.actor_id = actor_id;
	str_copy(e.address, strcmp(actor, "admin") == 0 ? "pchatctl" : "192.0.2.10",
	         sizeof(e.address));
	e.room_id = room_id;
	str_copy(e.room, room ? room : "", sizeof(e.room));
	str_copy(e.category, room_id == 7 ? "Main" : room_id ? "Ops" : "", sizeof(e.category));
	e.logged = room_id == 7;
	str_copy(e.peer, peer ? peer : "", sizeof(e.peer));
	e.content = content ? xstrdup(content) : NULL;
	e.detail = detail ? xstrdup(detail) : NULL;
	return e;
}

#define N_GOLDEN 12

/* Two rooms, a private pair, system events; quotes, &, UTF-8, newline, tab. */
static void golden_events(struct store_cevent *ev)
{
	ev[0] = ev_make(1, "JOIN", "alice", 4, 7, "general", NULL, NULL, NULL);
	ev[1] = ev_make(2, "CHAT", "alice", 4, 7, "general", NULL, "He said \"hi\" & <left>", NULL);
	str_copy(ev[1].msgid, "01HX4ABCDEF", sizeof(ev[1].msgid));
	ev[2] = ev_make(3, "JOIN", "bob", 5, 9, "ops", NULL, NULL, NULL);
	ev[3] = ev_make(4, "CHAT", "bob", 5, 9, "ops", NULL, "Grüße, 日本 ✓\nsecond line", NULL);
	ev[4] = ev_make(5, "CHAT", "alice", 4, 0, NULL, "Bob", "psst", NULL);
	ev[5] = ev_make(6, "SEARCH", "alice", 4, 0, NULL, NULL, "deploy plan",
	                "{\"rooms\":[\"general\"],\"hits\":3}");
	ev[6] = ev_make(7, "ADMIN", "admin", 0, 0, NULL, NULL, "account add",
	                "{\"kind\":\"account\",\"name\":\"carol\",\"action\":\"add\"}");
	ev[7] = ev_make(8, "CHAT", "bob", 5, 0, NULL, "ALICE", "reply", NULL);
	ev[8] = ev_make(9, "BACKCHAT", "alice", 4, 7, "general", NULL, "", "{\"count\":50}");
	ev[9] = ev_make(10, "PART", "alice", 4, 7, "general", NULL, NULL, NULL);
	ev[10] =
	    ev_make(11, "ADMIN", "admin", 0, 9, "ops", NULL, "room set",
	            "{\"kind\":\"room\",\"name\":\"ops\",\"fields\":{\"description\":\"new\"}}");
	ev[11] = ev_make(12, "CHAT", "guest42", 0, 7, "general", NULL, "tab\there", NULL);
}

static void events_free(struct store_cevent *ev, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ev[i].content);
		free(ev[i].detail);
	}
}

static struct comp_options opts(int format)
{
	return (struct comp_options){.format = format, .uri_host = "chat.example.com"};
}

static char tmpdir[256];

static int setup_tmp(void **state)
{
	str_copy(tmpdir, "/tmp/pchat-comp-XXXXXX", sizeof(tmpdir));
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = xmalloc((size_t)n + 1);
	*len = fread(buf, 1, (size_t)n, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* Write ev with o into path (comp_write_events). */
static void write_file(const char *path, const struct store_cevent *ev, size_t n,
                       const struct comp_options *o)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);

	assert_true(fd >= 0);
	assert_int_equal(comp_write_events(fd, ev, n, o), 0);
	assert_int_equal(close(fd), 0);
}

static int xsd_validate(const char *path)
{
	xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(XSD_PATH);
	xmlSchemaPtr schema = pc ? xmlSchemaParse(pc) : NULL;
	xmlSchemaValidCtxtPtr vc = schema ? xmlSchemaNewValidCtxt(schema) : NULL;
	int rc = vc ? xmlSchemaValidateFile(vc, path, 0) : -1;

	if (vc)
		xmlSchemaFreeValidCtxt(vc);
	if (schema)
		xmlSchemaFree(schema);
	if (pc)
		xmlSchemaFreeParserCtxt(pc);
	return rc;
}

static void compare_golden(const char *name, const char *produced)
{
	char golden[512];
	size_t n1 = 0, n2 = 0;
	char *a, *b;

	snprintf(golden, sizeof(golden), "%s/%s", GOLDEN_DIR, name);
	a = slurp(produced, &n1);
	assert_non_null(a);
	if (getenv("PCHAT_UPDATE_GOLDEN")) {
		FILE *f = fopen(golden, "wb");

		assert_non_null(f);
		assert_int_equal(fwrite(a, 1, n1, f), n1);
		fclose(f);
	}
	b = slurp(golden, &n2);
	assert_non_null(b);
	assert_int_equal(n1, n2);
	assert_memory_equal(a, b, n1);
	free(a);
	free(b);
}

/* --- writers ------------------------------------------------------------- */

static void test_time_formats(void **state)
{
	char iso[COMP_NET_ISO_LEN];

	assert_int_equal(comp_ticks(0), 621355968000000000LL);
	assert_int_equal(comp_ticks(T0), 633482073409530000LL);
	comp_fmt_net_iso(0, iso, sizeof(iso));
	assert_string_equal(iso, "1970-01-01T00:00:00.0000000Z");
	comp_fmt_net_iso(T0, iso, sizeof(iso));
	assert_string_equal(iso, "2008-06-04T20:15:40.9530000Z");
	comp_fmt_net_iso(-1, iso, sizeof(iso));
	assert_string_equal(iso, "1969-12-31T23:59:59.9990000Z");
}

static void test_format_names(void **state)
{
	assert_string_equal(comp_format_name(COMP_FORMAT_XML), "xml");
	assert_string_equal(comp_format_name(COMP_FORMAT_JSONL), "jsonl");
	assert_int_equal(comp_format_parse("xml"), COMP_FORMAT_XML);
	assert_int_equal(comp_format_parse("JSONL"), COMP_FORMAT_JSONL);
	assert_int_equal(comp_format_parse("csv"), -1);
	assert_int_equal(comp_format_parse(NULL), -1);
}

static void test_golden_xml(void **state)
{
	struct store_cevent ev[N_GOLDEN];
	struct comp_options o = opts(COMP_FORMAT_XML);
	char path[512];

	golden_events(ev);
	snprintf(path, sizeof(path), "%s/golden.xml", tmpdir);
	write_file(path, ev, N_GOLDEN, &o);
	compare_golden("golden.xml", path);
	assert_int_equal(xsd_validate(path), 0);
	events_free(ev, N_GOLDEN);
}

static void test_golden_jsonl(void **state)
{
	struct store_cevent ev[N_GOLDEN];
	struct comp_options o = opts(COMP_FORMAT_JSONL);
	char path[512];

	golden_events(ev);
	snprintf(path, sizeof(path), "%s/golden.jsonl", tmpdir);
	write_file(path, ev, N_GOLDEN, &o);
	compare_golden("golden.jsonl", path);
	events_free(ev, N_GOLDEN);
}

/* The same events in another order give the same bytes. */
static void test_deterministic_order(void **state)
{
	struct store_cevent ev[N_GOLDEN], rev[N_GOLDEN];
	struct comp_options o = opts(COMP_FORMAT_XML);
	char a[512], b[512];
	size_t na = 0, nb = 0;
	char *x, *y;

	golden_events(ev);
	for (int i = 0; i < N_GOLDEN; i++)
		rev[i] = ev[N_GOLDEN - 1 - i];
	snprintf(a, sizeof(a), "%s/a.xml", tmpdir);
	snprintf(b, sizeof(b), "%s/b.xml", tmpdir);
	write_file(a, ev, N_GOLDEN, &o);
	write_file(b, rev, N_GOLDEN, &o);
	x = slurp(a, &na);
	y = slurp(b, &nb);
	assert_int_equal(na, nb);
	assert_memory_equal(x, y, na);
	free(x);
	free(y);
	events_free(ev, N_GOLDEN);
}

static void test_xml_variants_validate(void **state)
{
	struct store_cevent ev[N_GOLDEN];
	struct comp_options o = opts(COMP_FORMAT_XML);
	char path[512], *text;
	size_t len;

	golden_events(ev);
	o.add_room_details = true;
	o.add_user_details = true;
	snprintf(path, sizeof(path), "%s/details.xml", tmpdir);
	write_file(path, ev, N_GOLDEN, &o);
	assert_int_equal(xsd_validate(path), 0);
	text = slurp(path, &len);
	assert_non_null(strstr(text, "islogged=\"true\" id=\"7\" category=\"Main\"/>"));
	assert_non_null(strstr(text, "islogged=\"false\" id=\"9\" category=\"Ops\"/>"));
	assert_non_null(strstr(text, "uri=\"alice@chat.example.com\" address=\"192.0.2.10\"/>"));
	free(text);
	/* One conversation per file, as one_room_per_file writes them. */
	write_file(path, ev + 4, 1, &o);
	assert_int_equal(xsd_validate(path), 0);
	write_file(path, ev, 0, &o);
	assert_int_equal(xsd_validate(path), 0);
	events_free(ev, N_GOLDEN);
}

/* Control characters and invalid UTF-8 never make a file invalid. */
static void test_xml_clean_text(void **state)
{
	struct store_cevent ev[2];
	struct comp_options o = opts(COMP_FORMAT_XML);
	char path[512], *text;
	size_t len;

	ev[0] = ev_make(1, "CHAT", "alice", 4, 7, "general", NULL,
	                "\x02"
	                "bold\x02 \x03"
	                "4red \xff\xfe end",
	                NULL);
	ev[1] = ev_make(2, "CHAT", "alice", 4, 7, "general", NULL, "over\xc0\xaflong", NULL);
	snprintf(path, sizeof(path), "%s/clean.xml", tmpdir);
	write_file(path, ev, 2, &o);
	assert_int_equal(xsd_validate(path), 0);
	text = slurp(path, &len);
	assert_non_null(strstr(text, "content=\"\xEF\xBF\xBD"
	                             "bold\xEF\xBF\xBD \xEF\xBF\xBD"
	                             "4red \xEF\xBF\xBD\xEF\xBF\xBD end\""));
	assert_non_null(strstr(text, "content=\"over\xEF\xBF\xBD\xEF\xBF\xBDlong\""));
	free(text);
	events_free(ev, 2);
}

static void check_json_event(json_t *j, const struct store_cevent *e)
{
	json_t *d = json_object_get(j, "detail");

	assert_int_equal(json_integer_value(json_object_get(j, "id")), e->id);
	assert_string_equal(json_string_value(json_object_get(j, "type")), e->type);
	assert_int_equal(json_integer_value(json_object_get(j, "since1970")), e->ts_ms);
	assert_string_equal(json_string_value(json_object_get(j, "actor")), e->actor);
	assert_int_equal(json_integer_value(json_object_get(j, "actor_id")), e->actor_id);
	assert_string_equal(json_string_value(json_object_get(j, "address")), e->address);
	assert_int_equal(json_integer_value(json_object_get(j, "room_id")), e->room_id);
	assert_string_equal(json_string_value(json_object_get(j, "room")), e->room);
	assert_string_equal(json_string_value(json_object_get(j, "category")), e->category);
	assert_int_equal(json_is_true(json_object_get(j, "logged")), e->logged);
	assert_string_equal(json_string_value(json_object_get(j, "peer")), e->peer);
	assert_string_equal(json_string_value(json_object_get(j, "msgid")), e->msgid);
	assert_string_equal(json_string_value(json_object_get(j, "content")),
	                    e->content ? e->content : "");
	if (!e->detail) {
		assert_true(json_is_null(d));
	} else {
		json_t *want = json_loads(e->detail, 0, NULL);

		assert_true(json_equal(d, want));
		json_decref(want);
	}
}

static void test_jsonl_round_trip(void **state)
{
	struct store_cevent ev[N_GOLDEN];
	struct comp_options o = opts(COMP_FORMAT_JSONL);
	char path[512], line[4096];
	FILE *f;
	int n = 0;

	golden_events(ev);
	snprintf(path, sizeof(path), "%s/rt.jsonl", tmpdir);
	write_file(path, ev, N_GOLDEN, &o);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		json_t *j = json_loads(line, 0, NULL);

		assert_non_null(j);
		assert_true(n < N_GOLDEN);
		check_json_event(j, &ev[n]);
		json_decref(j);
		n++;
	}
	fclose(f);
	assert_int_equal(n, N_GOLDEN);
	events_free(ev, N_GOLDEN);
}

/* A detail that is not JSON is kept as a string; time has milliseconds. */
static void test_jsonl_bad_detail(void **state)
{
	struct store_cevent ev = ev_make(1, "ADMIN", "admin", 0, 0, NULL, NULL, "x", "not {json");
	struct comp_options o = opts(COMP_FORMAT_JSONL);
	char path[512], *text;
	size_t len;
	json_t *j;

	ev.ts_ms = 1714570200123LL;
	snprintf(path, sizeof(path), "%s/bad.jsonl", tmpdir);
	write_file(path, &ev, 1, &o);
	text = slurp(path, &len);
	assert_int_equal(text[len - 1], '\n');
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "detail")), "not {json");
	assert_string_equal(json_string_value(json_object_get(j, "time")),
	                    "2024-05-01T13:30:00.123Z");
	json_decref(j);
	free(text);
	events_free(&ev, 1);
}

static void test_write_error(void **state)
{
	struct store_cevent ev[N_GOLDEN];
	struct comp_options o = opts(COMP_FORMAT_XML);
	int fd = open("/dev/full", O_WRONLY);

	assert_true(fd >= 0);
	golden_events(ev);
	errno = 0;
	assert_int_equal(comp_write_events(fd, ev, N_GOLDEN, &o), -1);
	assert_int_equal(errno, ENOSPC);
	o.format = COMP_FORMAT_JSONL;
	errno = 0;
	assert_int_equal(comp_write_events(fd, ev, N_GOLDEN, &o), -1);
	assert_int_equal(errno, ENOSPC);
	close(fd);
	events_free(ev, N_GOLDEN);
}

/* --- comp_run on a real store -------------------------------------------- */

struct fx {
	struct store *st;     /* the temporary store */
	struct store_conn *c; /* its direct connection */
	char out[300];        /* output directory */
};

static int setup_store(void **state)
{
	static struct fx fx;
	struct store_options so = {.create = true};
	char url[400], err[256];

	if (setup_tmp(state) < 0)
		return -1;
	snprintf(url, sizeof(url), "sqlite:%s/pchat.db", tmpdir);
	so.url = url;
	fx.st = store_open(&so, err, sizeof(err));
	if (!fx.st) {
		fprintf(stderr, "store_open: %s\n", err);
		return -1;
	}
	fx.c = store_direct(fx.st);
	snprintf(fx.out, sizeof(fx.out), "%s/out", tmpdir);
	mkdir(fx.out, 0700);
	*state = &fx;
	return 0;
}

static int teardown_store(void **state)
{
	struct fx *fx = *state;

	if (fx && fx->st)
		store_close(fx->st);
	return teardown_tmp(state);
}

static void add_events(struct fx *fx)
{
	struct store_cevent ev[N_GOLDEN];

	golden_events(ev);
	assert_int_equal(store_begin(fx->c), 0);
	for (int i = 0; i < N_GOLDEN; i++) {
		ev[i].id = 0;
		assert_int_equal(store_cevent_add(fx->c, &ev[i]), 0);
	}
	assert_int_equal(store_commit(fx->c), 0);
	events_free(ev, N_GOLDEN);
}

static int64_t queued(struct fx *fx)
{
	struct store_comp_status s;

	assert_int_equal(store_comp_status(fx->c, &s), 0);
	return s.queued;
}

static int count_files(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static struct comp_options run_opts(struct fx *fx, int format)
{
	struct comp_options o = opts(format);

	o.output_dir = fx->out;
	o.owner = "test";
	return o;
}

static void test_run_exports_all(void **state)
{
	struct fx *fx = *state;
	struct comp_options o = run_opts(fx, COMP_FORMAT_XML);
	struct comp_result r;
	char want[600], stale[600];
	const struct timespec old[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
	int fd;

	/* A temporary left by a dead adapter long ago is removed. */
	snprintf(stale, sizeof(stale), "%s/.pchat-1-2.xml.tmp.99999", fx->out);
	fd = open(stale, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(utimensat(AT_FDCWD, stale, old, 0), 0);
	add_events(fx);
	assert_int_equal(comp_run(fx->c, &o, &r), 0);
	assert_string_equal(r.error, "");
	assert_int_equal(r.events, N_GOLDEN);
	assert_int_equal(r.files, 1);
	assert_int_equal(queued(fx), 0);
	assert_int_equal(access(stale, F_OK), -1);
	snprintf(want, sizeof(want), "%s/pchat-%020d-%020d.xml", fx->out, 1, N_GOLDEN);
	assert_string_equal(r.last_file, want);
	assert_int_equal(xsd_validate(want), 0);
	assert_int_equal(count_files(fx->out, ".pchat-"), 0);
	/* Nothing queued: nothing written. */
	assert_int_equal(comp_run(fx->c, &o, &r), 0);
	assert_int_equal(r.events, 0);
	assert_int_equal(r.files, 0);
	assert_int_equal(count_files(fx->out, "pchat-"), 1);
}

static void test_run_one_room_per_file(void **state)
{
	struct fx *fx = *state;
	struct comp_options o = run_opts(fx, COMP_FORMAT_JSONL);
	struct comp_result r;
	char path[600];
	const char *suffix[] = {"room-7", "room-9", "private-1", "system"};

	o.one_room_per_file = true;
	add_events(fx); /* ids 13..24 */
	assert_int_equal(comp_run(fx->c, &o, &r), 0);
	assert_int_equal(r.events, N_GOLDEN);
	assert_int_equal(r.files, 4);
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/pchat-%020d-%020d-%s.jsonl", fx->out, 13, 24,
		         suffix[i]);
		assert_int_equal(access(path, R_OK), 0);
	}
	o.format = COMP_FORMAT_XML;
	add_events(fx); /* ids 25..36 */
	assert_int_equal(comp_run(fx->c, &o, &r), 0);
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/pchat-%020d-%020d-%s.xml", fx->out, 25, 36,
		         suffix[i]);
		assert_int_equal(xsd_validate(path), 0);
	}
	assert_int_equal(queued(fx), 0);
}

static void test_run_missing_dir(void **state)
{
	struct fx *fx = *state;
	struct comp_options o = run_opts(fx, COMP_FORMAT_XML);
	struct comp_result r;
	struct store_comp_status st;
	char dir[400];

	snprintf(dir, sizeof(dir), "%s/missing", tmpdir);
	o.output_dir = dir;
	add_events(fx);
	assert_int_equal(comp_run(fx->c, &o, &r), -1);
	assert_non_null(strstr(r.error, dir));
	assert_non_null(strstr(r.error, "No such file or directory"));
	assert_int_equal(r.events, 0);
	assert_int_equal(queued(fx), N_GOLDEN);
	assert_int_equal(store_comp_status(fx->c, &st), 0);
	assert_non_null(strstr(st.last_error, dir));
	assert_int_equal(st.claims, 0); /* released: claimed again with any params */
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(comp_run(fx->c, &o, &r), 0);
	assert_int_equal(r.events, N_GOLDEN);
	assert_int_equal(queued(fx), 0);
	assert_int_equal(count_files(dir, "pchat-"), 1);
	assert_int_equal(count_files(dir, ".pchat-"), 0);
}

static void test_run_not_a_directory(void **state)
{
	struct fx *fx = *state;
	struct comp_options o = run_opts(fx, COMP_FORMAT_JSONL);
	struct comp_result r;
	char file[400], dir[420];
	int fd;

	snprintf(file, sizeof(file), "%s/afile", tmpdir);
	snprintf(dir, sizeof(dir), "%s/sub", file);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	o.output_dir = dir;
	add_events(fx);
	assert_int_equal(comp_run(fx->c, &o, &r), -1);
	assert_non_null(strstr(r.error, dir));
	assert_non_null(strstr(r.error, "Not a directory"));
	assert_int_equal(queued(fx), N_GOLDEN);
	o.output_dir = fx->out; /* leave the queue empty for the next test */
	assert_int_equal(comp_run(fx->c, &o, &r), 0);
	assert_int_equal(queued(fx), 0);
}

/*
 * A claim whose adapter died (lease ran out) is resumed with ITS params:
 * same directory, format and name, and the bytes the dead adapter would
 * have written, replacing what it left there.
 */
static void test_run_resumed_claim(void **state)
{
	struct fx *fx = *state;
	struct comp_options o = run_opts(fx, COMP_FORMAT_XML);
	struct comp_result r;
	struct store_comp_claim cl;
	struct store_cevent *ev = NULL;
	size_t n = 0, na = 0, nb = 0;
	char params[STORE_CLAIM_PARAMS_MAX], path[600], expect[600], *a, *b;
	FILE *f;

	add_events(fx);
	snprintf(params, sizeof(params),
	         "{\"dir\":\"%s\",\"format\":\"xml\",\"one_room_per_file\":false,"
	         "\"add_room_details\":true,\"add_user_details\":false,"
	         "\"uri_host\":\"chat.example.com\"}",
	         fx->out);
	assert_int_equal(store_comp_claim(fx->c, "dead", params, 1000, 1, &cl), 0);
	assert_false(cl.resumed);
	assert_int_equal(cl.n, N_GOLDEN);
	/* The bytes the dead adapter was writing. */
	assert_int_equal(store_comp_fetch(fx->c, cl.lo, cl.hi, &ev, &n), 0);
	assert_int_equal(n, N_GOLDEN);
	o.add_room_details = true;
	snprintf(expect, sizeof(expect), "%s/expect.xml", tmpdir);
	write_file(expect, ev, n, &o);
	for (size_t i = 0; i < n; i++)
		store_cevent_free(&ev[i]);
	free(ev);
	/* It had renamed a (here: truncated) file into place, then died. */
	snprintf(path, sizeof(path), "%s/pchat-%020lld-%020lld.xml", fx->out, (long long)cl.lo,
	         (long long)cl.hi);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("<?xml", f);
	fclose(f);
	usleep(20000);
	/* This adapter asks for JSON Lines elsewhere, but resumes XML in out/. */
	o = run_opts(fx, COMP_FORMAT_JSONL);
	o.one_room_per_file = true;
	o.output_dir = tmpdir;
	assert_int_equal(comp_run(fx->c, &o, &r), 0);
	assert_int_equal(r.resumed, 1);
	assert_int_equal(r.files, 1);
	assert_int_equal(r.events, N_GOLDEN);
	assert_string_equal(r.last_file, path);
	assert_int_equal(count_files(tmpdir, "pchat-0"), 0);
	a = slurp(expect, &na);
	b = slurp(path, &nb);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	assert_int_equal(xsd_validate(path), 0);
	free(a);
	free(b);
	assert_int_equal(queued(fx), 0);
}

/*
 * After a failover: the dead adapter's directory is not here. The range is
 * exported once, to this adapter's directory, under the same name.
 */
static void test_run_resumed_claim_dir_gone(void **state)
{
	struct fx *fx = *state;
	struct comp_options o = run_opts(fx, COMP_FORMAT_XML);
	struct comp_result r;
	struct store_comp_claim cl;
	char params[STORE_CLAIM_PARAMS_MAX], path[600];

	add_events(fx);
	snprintf(params, sizeof(params),
	         "{\"dir\":\"%s/lost-data-center\",\"format\":\"xml\",\"one_room_per_file\":"
	         "false,\"add_room_details\":false,\"add_user_details\":false,"
	         "\"uri_host\":\"chat.example.com\"}",
	         fx->out);
	assert_int_equal(store_comp_claim(fx->c, "dead", params, 1000, 1, &cl), 0);
	usleep(20000);
	o.output_dir = tmpdir;
	assert_int_equal(comp_run(fx->c, &o, &r), 0);
	assert_int_equal(r.resumed, 1);
	assert_int_equal(r.events, N_GOLDEN);
	snprintf(path, sizeof(path), "%s/pchat-%020lld-%020lld.xml", tmpdir, (long long)cl.lo,
	         (long long)cl.hi);
	assert_string_equal(r.last_file, path);
	assert_int_equal(xsd_validate(path), 0);
	assert_int_equal(queued(fx), 0);
	/* exactly once: nothing left to export, nothing written twice */
	assert_int_equal(comp_run(fx->c, &o, &r), 0);
	assert_int_equal(r.events, 0);
	assert_int_equal(unlink(path), 0);
}

int main(void)
{
	const struct CMUnitTest writers[] = {
	    cmocka_unit_test(test_time_formats),
	    cmocka_unit_test(test_format_names),
	    cmocka_unit_test(test_golden_xml),
	    cmocka_unit_test(test_golden_jsonl),
	    cmocka_unit_test(test_deterministic_order),
	    cmocka_unit_test(test_xml_variants_validate),
	    cmocka_unit_test(test_xml_clean_text),
	    cmocka_unit_test(test_jsonl_round_trip),
	    cmocka_unit_test(test_jsonl_bad_detail),
	    cmocka_unit_test(test_write_error),
	};
	const struct CMUnitTest runs[] = {
	    cmocka_unit_test(test_run_exports_all),
	    cmocka_unit_test(test_run_one_room_per_file),
	    cmocka_unit_test(test_run_missing_dir),
	    cmocka_unit_test(test_run_not_a_directory),
	    cmocka_unit_test(test_run_resumed_claim),
	    cmocka_unit_test(test_run_resumed_claim_dir_gone),
	};
	int fails =
	    cmocka_run_group_tests_name("compliance writers", writers, setup_tmp, teardown_tmp);

	fails += cmocka_run_group_tests_name("compliance runs", runs, setup_store, teardown_store);
	return fails ? 1 : 0;
}
