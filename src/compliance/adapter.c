/*
 * adapter.c — the compliance adapter's run (comp_run): claim a range of
 * queued events, write its file(s) durably (temporary name, fsync, rename,
 * fsync of the directory), then purge the range; repeat until the queue is
 * empty. Also the shared pieces of both writers: grouping events into
 * conversations, the buffered file writer and text clean-up.
 *
 * Exactly once: a range is purged only after its files are in place and
 * durable; the options that shape the files travel with the claim (params),
 * so a claim resumed after a crash is written again under the same names
 * with the same bytes, replacing whatever the dead adapter left. Across a
 * failover too: a claim's files are written only once the claim has reached
 * the backup database by log shipping (wait_shipped), so the other data
 * center resumes that very range instead of cutting its events anew.
 *
 * Not here: the formats themselves (xml.c, jsonl.c), SQL (store.h only),
 * logging (the caller reports r->error), creating the output directory.
 */
#include "compliance/comp_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "common/map.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#define COMP_OUT_CAP (256 * 1024) /* bytes buffered before a write(2) */

/*
 * Waiting for log shipping: the claim's segment is ended early (once) only
 * if it has not ended by itself after COMP_SHIP_END_MS (a busy database, or
 * a short archive_timeout, ends it without an extra WAL file); status
 * shows a wait longer than COMP_SHIP_NOTE_MS.
 */
#define COMP_SHIP_END_MS  1000
#define COMP_SHIP_NOTE_MS 2000

/* The options that shape files, as kept with a claim (its params). */
struct comp_params {
	char dir[PATH_MAX];     /* output directory */
	int format;             /* enum comp_format */
	bool one_room_per_file; /* one file per conversation */
	bool add_room_details;  /* Channel id and category */
	bool add_user_details;  /* Sender address */
	char host[256];         /* URI host */
};

/* One claimed range being exported. */
struct comp_job {
	struct store_conn *c;           /* the caller's connection */
	struct store_comp_claim cl;     /* the claim */
	struct comp_params p;           /* its params, parsed back */
	struct comp_options o;          /* p as options for the writers */
	int64_t lease_ms;               /* lease asked for on renewal */
	int64_t renewed_ms;             /* monotonic time of the claim or last renewal */
	int renamed;                    /* files of this claim put in place by this run */
	char last[512];                 /* the last file put in place */
	struct comp_result *r;          /* where the error goes */
	const char *own_dir;            /* this adapter's output directory */
	const struct comp_options *run; /* the run's options (stall, stopping) */
};

/* --- buffered output and text --------------------------------------------- */

void comp_out_init(struct comp_out *w, int fd)
{
	w->fd = fd;
	w->cap = COMP_OUT_CAP;
	w->buf = xmalloc(w->cap);
	w->len = 0;
	w->err = 0;
}

static int out_write_all(struct comp_out *w, const char *p, size_t n)
{
	while (n > 0 && !w->err) {
		ssize_t k = write(w->fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			w->err = k < 0 ? errno : EIO;
		else {
			p += k;
			n -= (size_t)k;
		}
	}
	return w->err ? -1 : 0;
}

int comp_out_write(struct comp_out *w, const void *p, size_t n)
{
	if (w->err)
		return -1;
	if (w->len + n > w->cap && comp_out_flush(w) < 0)
		return -1;
	if (n >= w->cap)
		return out_write_all(w, p, n);
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	return 0;
}

int comp_out_flush(struct comp_out *w)
{
	int rc = out_write_all(w, w->buf, w->len);

	w->len = 0;
	return rc;
}

void comp_out_free(struct comp_out *w)
{
	free(w->buf);
	w->buf = NULL;
}

void comp_buf_free(struct comp_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Length of the valid UTF-8 sequence at s (its code point in *cp), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : lo;
	hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : hi;
	if (s[1] < lo || s[1] > hi)
		return 0;
	*cp = c & (0xFF >> (len + 1));
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3F);
	}
	return len;
}

static bool char_bad(uint32_t cp, bool xml)
{
	if (!xml)
		return false;
	return (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0xFFFE ||
	       cp == 0xFFFF;
}

/* Length of the prefix of s that needs no change. */
static size_t clean_prefix(const unsigned char *s, bool xml)
{
	size_t i = 0;

	while (s[i]) {
		uint32_t cp = 0;
		size_t k;

		if (s[i] >= 0x20 && s[i] < 0x80) {
			i++;
			continue;
		}
		k = utf8_seq(s + i, &cp);
		if (k == 0 || char_bad(cp, xml))
			break;
		i += k;
	}
	return i;
}

const char *comp_clean_text(const char *s, bool xml, struct comp_buf *tmp)
{
	const unsigned char *u = (const unsigned char *)(s ? s : "");
	size_t i = clean_prefix(u, xml), len = strlen((const char *)u);

	if (u[i] == '\0')
		return (const char *)u;
	if (tmp->cap < len * 3 + 1) {
		tmp->cap = len * 3 + 1;
		tmp->p = xrealloc(tmp->p, tmp->cap);
	}
	memcpy(tmp->p, u, i);
	tmp->len = i;
	while (u[i]) {
		uint32_t cp = 0;
		size_t k = utf8_seq(u + i, &cp);

		if (k == 0 || char_bad(cp, xml)) {
			memcpy(tmp->p + tmp->len, "\xEF\xBF\xBD", 3); /* U+FFFD */
			tmp->len += 3;
			i += k ? k : 1;
			continue;
		}
		memcpy(tmp->p + tmp->len, u + i, k);
		tmp->len += k;
		i += k;
	}
	tmp->p[tmp->len] = '\0';
	return tmp->p;
}

/* --- conversations ------------------------------------------------------- */

static int cmp_by_id(const void *a, const void *b, void *ctx)
{
	const struct store_cevent *ev = ctx;
	int64_t x = ev[*(const size_t *)a].id, y = ev[*(const size_t *)b].id;

	return x < y ? -1 : x > y;
}

size_t *comp_id_order(const struct store_cevent *ev, size_t n)
{
	size_t *order = xmalloc(n * sizeof(*order));
	bool sorted = true;

	for (size_t i = 0; i < n; i++) {
		order[i] = i;
		if (i > 0 && ev[i].id < ev[i - 1].id)
			sorted = false;
	}
	if (!sorted) /* the store fetches in id order: only tests reach here */
		qsort_r(order, n, sizeof(*order), cmp_by_id, (void *)ev);
	return order;
}

/* The conversation key of e in key; fills the identity fields of cv. */
static void conv_key(const struct store_cevent *e, struct comp_conv *cv, char *key, size_t len)
{
	memset(cv, 0, sizeof(*cv));
	if (e->room_id > 0) {
		cv->kind = COMP_CONV_ROOM;
		cv->room_id = e->room_id;
		snprintf(key, len, "r%" PRId64, e->room_id);
	} else if (e->peer[0]) {
		char x[STORE_NAME_MAX], y[STORE_NAME_MAX];
		bool swap;

		str_lower(x, e->actor, sizeof(x));
		str_lower(y, e->peer, sizeof(y));
		swap = strcmp(x, y) > 0;
		cv->kind = COMP_CONV_PRIVATE;
		str_copy(cv->a, swap ? y : x, sizeof(cv->a));
		str_copy(cv->b, swap ? x : y, sizeof(cv->b));
		snprintf(key, len, "p%s\n%s", cv->a, cv->b);
	} else {
		cv->kind = COMP_CONV_SYSTEM;
		str_copy(key, "s", len);
	}
}

/* Assign each event (in id order) its conversation; returns the conversations. */
static struct comp_conv *conv_assign(const struct store_cevent *ev, const size_t *order, size_t n,
                                     size_t *conv_of, size_t *n_conv)
{
	struct comp_conv *conv = NULL, cv;
	size_t cap = 0;
	int n_private = 0;
	struct map m;
	char key[2 * STORE_NAME_MAX + 8];

	map_init(&m);
	*n_conv = 0;
	for (size_t i = 0; i < n; i++) {
		uintptr_t k;

		conv_key(&ev[order[i]], &cv, key, sizeof(key));
		k = (uintptr_t)map_get(&m, key);
		if (k == 0) {
			if (*n_conv == cap) {
				cap = cap ? cap * 2 : 8;
				conv = xrealloc(conv, cap * sizeof(*conv));
			}
			if (cv.kind == COMP_CONV_PRIVATE)
				cv.private_ordinal = ++n_private;
			conv[(*n_conv)++] = cv;
			k = *n_conv;
			map_put(&m, key, (void *)k);
		}
		conv_of[i] = k - 1;
		conv[k - 1].n++;
	}
	map_clear(&m);
	return conv;
}

void comp_group(const struct store_cevent *ev, size_t n, struct comp_groups *g)
{
	size_t *order = comp_id_order(ev, n);
	size_t *conv_of = xmalloc(n * sizeof(*conv_of));
	size_t *fill, start = 0;

	g->conv = conv_assign(ev, order, n, conv_of, &g->n_conv);
	g->idx = xmalloc(n * sizeof(*g->idx));
	fill = xmalloc((g->n_conv ? g->n_conv : 1) * sizeof(*fill));
	for (size_t k = 0; k < g->n_conv; k++) {
		fill[k] = start;
		g->conv[k].idx = g->idx + start;
		start += g->conv[k].n;
	}
	for (size_t i = 0; i < n; i++)
		g->idx[fill[conv_of[i]]++] = order[i];
	free(fill);
	free(conv_of);
	free(order);
}

void comp_groups_free(struct comp_groups *g)
{
	free(g->conv);
	free(g->idx);
	g->conv = NULL;
	g->idx = NULL;
	g->n_conv = 0;
}

/* --- public helpers -------------------------------------------------------- */

int comp_write_events(int fd, const struct store_cevent *ev, size_t n, const struct comp_options *o)
{
	if (o->format == COMP_FORMAT_JSONL)
		return comp_jsonl_write(fd, ev, n, o);
	if (o->format == COMP_FORMAT_XML)
		return comp_xml_write(fd, ev, n, o);
	errno = EINVAL;
	return -1;
}

/* The stall allowed to a wait for log shipping (tests shorten it). */
static int64_t ship_stall_ms(const struct comp_options *o)
{
	const char *v = getenv("PCHAT_TEST_COMPLIANCE_SHIP_STALL_MS");
	int64_t ms;

	if (o->ship_stall_ms > 0)
		return o->ship_stall_ms;
	return v && str_to_i64(v, 1, 3600000, &ms) == 0 ? ms : COMP_DEFAULT_SHIP_STALL_MS;
}

void comp_test_hook(const char *step)
{
	const char *want = getenv("PCHAT_TEST_COMPLIANCE_CRASH");

	if (want && strcmp(want, step) == 0)
		raise(SIGKILL);
}

const char *comp_format_name(int format)
{
	return format == COMP_FORMAT_JSONL ? "jsonl"
	       : format == COMP_FORMAT_XML ? "xml"
	                                   : "unknown";
}

int comp_format_parse(const char *s)
{
	if (s && str_ieq(s, "xml"))
		return COMP_FORMAT_XML;
	if (s && (str_ieq(s, "jsonl") || str_ieq(s, "json")))
		return COMP_FORMAT_JSONL;
	return -1;
}

/* --- the run ------------------------------------------------------------- */

/* Set why the run stopped (r->error). */
static void run_error(struct comp_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void run_error(struct comp_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
}

/* The params text kept with a claim: the options that shape files. */
static int params_build(const struct comp_options *o, char *out, size_t outlen)
{
	json_t *j = json_pack("{s:s?, s:s, s:b, s:b, s:b, s:s}", "dir", o->output_dir, "format",
	                      comp_format_name(o->format), "one_room_per_file",
	                      o->one_room_per_file, "add_room_details", o->add_room_details,
	                      "add_user_details", o->add_user_details, "uri_host",
	                      o->uri_host && o->uri_host[0] ? o->uri_host : "localhost");
	size_t len = j ? json_dumpb(j, out, outlen - 1, JSON_COMPACT | JSON_PRESERVE_ORDER) : 0;

	json_decref(j);
	if (len == 0 || len >= outlen - 1)
		return -1;
	out[len] = '\0';
	return 0;
}

static int params_parse(const char *text, struct comp_params *p)
{
	json_t *j = json_loads(text, 0, NULL);
	const char *dir = NULL, *format = NULL, *host = NULL;
	int one = 0, room = 0, user = 0, rc = -1;

	if (!j || json_unpack(j, "{s:s, s:s, s:b, s:b, s:b, s:s}", "dir", &dir, "format", &format,
	                      "one_room_per_file", &one, "add_room_details", &room,
	                      "add_user_details", &user, "uri_host", &host) < 0)
		goto out_decref;
	p->format = comp_format_parse(format);
	if (p->format < 0 || str_copy(p->dir, dir, sizeof(p->dir)) >= sizeof(p->dir) ||
	    str_copy(p->host, host, sizeof(p->host)) >= sizeof(p->host))
		goto out_decref;
	p->one_room_per_file = one;
	p->add_room_details = room;
	p->add_user_details = user;
	rc = 0;
out_decref:
	json_decref(j);
	return rc;
}

/* Remove temporaries of dead adapters (".pchat-*.tmp.*" older than max_age_ms). */
static void remove_stale(const char *dir, int64_t max_age_ms)
{
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *de;
	int64_t now = time_now_ms();

	if (!d)
		return; /* reported by the run when it writes there */
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (fnmatch(".pchat-*.tmp.*", de->d_name, FNM_PERIOD) != 0 ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (now - ((int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000) >
		    max_age_ms)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

/* Write one file: temporary, fsync, rename into place. */
static int put_file(struct comp_job *jb, const char *name, const struct store_cevent *ev, size_t n)
{
	char tmp[PATH_MAX + 64], path[PATH_MAX + 64];
	const char *what = "create";
	int fd, rc = -1;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.%d", jb->p.dir, name, (int)getpid());
	snprintf(path, sizeof(path), "%s/%s", jb->p.dir, name);
	fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0640);
	if (fd < 0)
		goto out_error;
	what = "write";
	if (comp_write_events(fd, ev, n, &jb->o) < 0)
		goto out_unlink;
	comp_test_hook("written");
	what = "fsync";
	if (fsync(fd) < 0)
		goto out_unlink;
	comp_test_hook("synced");
	what = "close";
	rc = close(fd);
	fd = -1;
	what = "rename into place";
	if (rc < 0 || rename(tmp, path) < 0)
		goto out_unlink;
	comp_test_hook("renamed");
	jb->renamed++;
	str_copy(jb->last, path, sizeof(jb->last));
	return 0;
out_unlink:
	rc = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = rc;
out_error:
	run_error(jb->r, "output directory %s: cannot %s %s: %s", jb->p.dir, what, name,
	          strerror(errno));
	return -1;
}

static int sync_dir(struct comp_job *jb)
{
	int fd = open(jb->p.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0) {
		run_error(jb->r, "output directory %s: cannot fsync: %s", jb->p.dir,
		          strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	comp_test_hook("dirsynced");
	return 0;
}

/* Renew the lease once a third of it has passed (between files). */
static int renew(struct comp_job *jb)
{
	int rc;

	if (time_mono_ms() - jb->renewed_ms < jb->lease_ms / 3)
		return 0;
	rc = store_comp_renew(jb->c, &jb->cl, jb->lease_ms);
	if (rc < 0) {
		run_error(jb->r, "compliance claim of events %" PRId64 "-%" PRId64 " lost: %s",
		          jb->cl.lo, jb->cl.hi, store_strerror(rc));
		return -1;
	}
	jb->renewed_ms = time_mono_ms();
	return 0;
}

/* What a wait for log shipping stands at, for status and errors (no counters: stable). */
static void ship_describe(const struct store_comp_ship *sh, char *out, size_t len)
{
	size_t at = 0;

	str_appendf(out, len, &at, COMP_SHIP_WAITING "%s (", sh->segment);
	if (sh->last_archived[0])
		str_appendf(out, len, &at, "last archived %s", sh->last_archived);
	else
		str_appendf(out, len, &at, "nothing archived yet");
	if (sh->failing)
		str_appendf(out, len, &at, "; archiving fails, last failure on %s",
		            sh->last_failed);
	str_appendf(out, len, &at, ")");
}

/* Sleep ms, or less when the run is to stop. */
static bool ship_pause(const struct comp_job *jb, int64_t ms)
{
	const struct comp_options *o = jb->run;

	if (o->stopping && o->stopping(o->stopping_arg))
		return false;
	usleep((useconds_t)ms * 1000);
	return true;
}

/*
 * Wait until the claim has reached the backup by log shipping, renewing it
 * (docs/compliance.md "Across a failover"). Gives up, nothing written, when
 * the archiver makes no progress for the stall (plus archive_timeout while
 * the claim's segment is still written: without pg_switch_wal it ends only
 * then); a long wait is noted for status.
 */
static int wait_shipped(struct comp_job *jb)
{
	struct store_comp_ship sh;
	int64_t start = time_mono_ms(), moved = start, stall = ship_stall_ms(jb->run), limit;
	int64_t pause = 10;
	char seen[sizeof(sh.last_archived)] = "", what[400];
	bool noted = false;
	int rc;

	memset(&sh, 0, sizeof(sh));
	for (;;) {
		int64_t now = time_mono_ms();

		rc = store_comp_shipped(jb->c, now - start >= COMP_SHIP_END_MS, &sh);
		if (rc < 0 || sh.shipped)
			break;
		if (strcmp(seen, sh.last_archived) != 0) {
			str_copy(seen, sh.last_archived, sizeof(seen));
			moved = now;
		}
		if (moved < start + COMP_SHIP_END_MS) /* count the stall from the segment's end */
			moved = start + COMP_SHIP_END_MS;
		ship_describe(&sh, what, sizeof(what));
		limit = stall + (sh.complete ? 0 : sh.archive_timeout_ms);
		if (now >= moved + limit) {
			run_error(jb->r, "%s: no progress in %" PRId64 " s, giving up this run",
			          what, (limit + 999) / 1000);
			return -1;
		}
		if (!noted && now - start >= COMP_SHIP_NOTE_MS)
			noted = store_comp_failed(jb->c, &jb->cl, false, what) == 0;
		if (renew(jb) < 0)
			return -1;
		if (!ship_pause(jb, pause)) {
			run_error(jb->r, "stopped while %s", what);
			return -1;
		}
		pause = pause * 2 > 250 ? 250 : pause * 2;
	}
	if (rc < 0)
		run_error(jb->r, "compliance queue: cannot read log shipping: %s",
		          store_strerror(rc));
	return rc < 0 ? -1 : 0;
}

static void file_name(const struct comp_job *jb, const struct comp_conv *cv, char *out, size_t len)
{
	const char *ext = jb->p.format == COMP_FORMAT_JSONL ? "jsonl" : "xml";
	size_t at = 0;

	str_appendf(out, len, &at, "pchat-%020" PRId64 "-%020" PRId64, jb->cl.lo, jb->cl.hi);
	if (cv && cv->kind == COMP_CONV_ROOM)
		str_appendf(out, len, &at, "-room-%" PRId64, cv->room_id);
	else if (cv && cv->kind == COMP_CONV_PRIVATE)
		str_appendf(out, len, &at, "-private-%d", cv->private_ordinal);
	else if (cv)
		str_appendf(out, len, &at, "-system");
	str_appendf(out, len, &at, ".%s", ext);
}

/* One file per conversation (one_room_per_file). */
static int put_per_conversation(struct comp_job *jb, const struct store_cevent *ev, size_t n)
{
	struct comp_groups g;
	struct store_cevent *sub = xmalloc(n * sizeof(*sub));
	char name[256];
	int rc = 0;

	comp_group(ev, n, &g);
	for (size_t k = 0; k < g.n_conv && rc == 0; k++) {
		for (size_t i = 0; i < g.conv[k].n; i++)
			sub[i] = ev[g.conv[k].idx[i]]; /* shallow: the strings stay ev's */
		file_name(jb, &g.conv[k], name, sizeof(name));
		rc = put_file(jb, name, sub, g.conv[k].n);
		if (rc == 0 && k + 1 < g.n_conv)
			rc = renew(jb);
	}
	comp_groups_free(&g);
	free(sub);
	return rc;
}

static void free_events(struct store_cevent *ev, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_cevent_free(&ev[i]);
	free(ev);
}

/*
 * A resumed claim is written again where its dead adapter wrote (same
 * names, same bytes). When that directory does not exist here — the adapter
 * died with its data center, and this one runs in the other after a
 * failover — the range goes to this adapter's directory instead, under the
 * same names: nothing of it was purged, so it is exported exactly once
 * from the surviving database (docs/compliance.md).
 */
static void adopt_claim_dir(struct comp_job *jb)
{
	struct stat st;

	if (!jb->cl.resumed || strcmp(jb->p.dir, jb->own_dir) == 0 ||
	    (stat(jb->p.dir, &st) == 0 && S_ISDIR(st.st_mode)))
		return;
	log_warn("compliance",
	         "events %" PRId64 "-%" PRId64 " were claimed by an adapter writing to %s, "
	         "which does not exist here (a failover?): exporting them to %s",
	         jb->cl.lo, jb->cl.hi, jb->p.dir, jb->own_dir);
	str_copy(jb->p.dir, jb->own_dir, sizeof(jb->p.dir));
}

/* Fetch, write and purge one claimed range; on error note it in the store. */
static int export_claim(struct comp_job *jb)
{
	struct store_cevent *ev = NULL;
	size_t n = 0;
	char name[256];
	int rc = params_parse(jb->cl.params, &jb->p);

	if (rc < 0) {
		run_error(jb->r,
		          "compliance claim of events %" PRId64 "-%" PRId64 ": unreadable params",
		          jb->cl.lo, jb->cl.hi);
		goto out_failed;
	}
	adopt_claim_dir(jb);
	if (wait_shipped(jb) < 0)
		goto out_failed;
	jb->o = (struct comp_options){.output_dir = jb->p.dir,
	                              .format = jb->p.format,
	                              .one_room_per_file = jb->p.one_room_per_file,
	                              .add_room_details = jb->p.add_room_details,
	                              .add_user_details = jb->p.add_user_details,
	                              .uri_host = jb->p.host};
	rc = store_comp_fetch(jb->c, jb->cl.lo, jb->cl.hi, &ev, &n);
	if (rc < 0) {
		run_error(jb->r, "compliance queue: cannot fetch: %s", store_strerror(rc));
		goto out_failed;
	}
	comp_test_hook("claimed");
	if (n > 0 && jb->p.one_room_per_file)
		rc = put_per_conversation(jb, ev, n);
	else if (n > 0) {
		file_name(jb, NULL, name, sizeof(name));
		rc = put_file(jb, name, ev, n);
	}
	if (rc == 0 && n > 0)
		rc = sync_dir(jb);
	if (rc < 0)
		goto out_failed;
	rc = store_comp_done(jb->c, &jb->cl, jb->last);
	if (rc < 0) {
		run_error(jb->r, "compliance queue: cannot purge: %s", store_strerror(rc));
		goto out_failed;
	}
	goto out_free;
out_failed:
	/* A resumed claim may have files of the dead adapter in place: never release it. */
	store_comp_failed(jb->c, &jb->cl, jb->renamed == 0 && !jb->cl.resumed, jb->r->error);
	rc = -1;
out_free:
	free_events(ev, n);
	return rc;
}

static void result_add(struct comp_result *r, const struct comp_job *jb, int rc)
{
	r->events += rc == 0 ? jb->cl.n : 0;
	r->files += jb->renamed;
	r->resumed += jb->cl.resumed ? 1 : 0;
	if (jb->last[0])
		str_copy(r->last_file, jb->last, sizeof(r->last_file));
}

int comp_run(struct store_conn *c, const struct comp_options *o, struct comp_result *r)
{
	int64_t lease = o->lease_ms > 0 ? o->lease_ms : COMP_DEFAULT_LEASE_MS;
	int max = o->max_events > 0 ? o->max_events : COMP_DEFAULT_MAX_EVENTS;
	char params[STORE_CLAIM_PARAMS_MAX], owner[64];
	struct comp_job *jb = xmalloc(sizeof(*jb));
	int rc = 0;

	memset(r, 0, sizeof(*r));
	if (o->owner && o->owner[0])
		str_copy(owner, o->owner, sizeof(owner));
	else
		snprintf(owner, sizeof(owner), "pchat:%d", (int)getpid());
	if (!o->output_dir || !o->output_dir[0] ||
	    (o->format != COMP_FORMAT_XML && o->format != COMP_FORMAT_JSONL) ||
	    params_build(o, params, sizeof(params)) < 0) {
		run_error(r, "compliance options: %s",
		          !o->output_dir || !o->output_dir[0] ? "no output directory"
		                                              : "bad format or names too long");
		store_comp_failed(c, NULL, false, r->error);
		rc = -1;
		goto out_free;
	}
	remove_stale(o->output_dir, 2 * lease);
	for (;;) {
		*jb = (struct comp_job){
		    .c = c, .lease_ms = lease, .r = r, .own_dir = o->output_dir, .run = o};
		rc = store_comp_claim(c, owner, params, max, lease, &jb->cl);
		jb->renewed_ms = time_mono_ms();
		if (rc == STORE_ENOTFOUND) {
			rc = 0;
			break;
		}
		if (rc < 0) {
			run_error(r, "compliance queue: cannot claim: %s", store_strerror(rc));
			store_comp_failed(c, NULL, false, r->error);
			rc = -1;
			break;
		}
		rc = export_claim(jb);
		result_add(r, jb, rc);
		if (rc < 0)
			break;
	}
out_free:
	free(jb);
	return rc;
}
