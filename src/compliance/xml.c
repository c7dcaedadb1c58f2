/*
 * xml.c — the Lync XmlAdapter writer: one <Conversations> document per
 * file, one <Conversation> per room, private pair or "system", written with
 * libxml2's xmlTextWriter (indent two spaces, UTF-8), plus the .NET time
 * formats the format uses (ticks, 7-digit ISO 8601).
 *
 * Deterministic: the same events and options give the same bytes (no
 * clock, no locale, no hash order). Attribute values are cleaned (invalid
 * UTF-8 and characters XML 1.0 forbids become U+FFFD, so every file is
 * well-formed) and escaped here, then written raw, so non-ASCII text stays
 * UTF-8 instead of character references.
 *
 * Not here: choosing which events go in a file, file names, fsync and
 * rename (adapter.c); the schema is docs/compliance.xsd.
 */
#include "compliance/comp_int.h"
#include "common/timeutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libxml/xmlwriter.h>

#include "common/str.h"
#include "common/xmalloc.h"

#define XML_NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define XML_NS_XSD "http://www.w3.org/2001/XMLSchema"

/* The state of one document being written. */
struct xw {
	xmlTextWriterPtr w;           /* the libxml2 writer (owns its output buffer) */
	const struct comp_options *o; /* options of the file */
	const char *host;             /* URI host part */
	struct comp_buf clean;        /* cleaned attribute value, reused */
	struct comp_buf esc;          /* escaped attribute value, reused */
	bool ok;                      /* no libxml2 call failed yet */
};

int64_t comp_ticks(int64_t ms)
{
	return ms * 10000 + COMP_TICKS_EPOCH;
}

void comp_fmt_net_iso(int64_t ms, char *out, size_t outlen)
{
	char iso[40];
	size_t n;

	/* .NET's round-trip form: the millisecond ISO time with seven decimals. */
	time_fmt_iso(ms, iso, sizeof(iso));
	n = strlen(iso);
	snprintf(out, outlen, "%.*s0000Z", (int)(n - 1), iso);
}

static void buf_reserve(struct comp_buf *b, size_t need)
{
	if (need <= b->cap)
		return;
	b->cap = need < 256 ? 256 : need * 2;
	b->p = xrealloc(b->p, b->cap);
}

/* XML-escape s into x->esc for an attribute value; returns the text to write. */
static const char *xw_escape(struct xw *x, const char *s)
{
	size_t n = strcspn(s, "&<>\"\n\r\t");
	size_t len = 0;

	if (s[n] == '\0')
		return s;
	buf_reserve(&x->esc, strlen(s) * 6 + 1);
	for (const char *p = s; *p; p++) {
		const char *rep = NULL;

		switch (*p) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\n':
			rep = "&#10;";
			break;
		case '\r':
			rep = "&#13;";
			break;
		case '\t':
			rep = "&#9;";
			break;
		default:
			x->esc.p[len++] = *p;
			continue;
		}
		memcpy(x->esc.p + len, rep, strlen(rep));
		len += strlen(rep);
	}
	x->esc.p[len] = '\0';
	x->esc.len = len;
	return x->esc.p;
}

static void xw_attr(struct xw *x, const char *name, const char *value)
{
	const char *v = xw_escape(x, comp_clean_text(value, true, &x->clean));

	x->ok &= xmlTextWriterStartAttribute(x->w, BAD_CAST name) >= 0;
	x->ok &= xmlTextWriterWriteRawLen(x->w, BAD_CAST v, (int)strlen(v)) >= 0;
	x->ok &= xmlTextWriterEndAttribute(x->w) >= 0;
}

static void xw_attr_i64(struct xw *x, const char *name, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, v);
	xw_attr(x, name, num);
}

static void xw_start(struct xw *x, const char *elem)
{
	x->ok &= xmlTextWriterStartElement(x->w, BAD_CAST elem) >= 0;
}

static void xw_end(struct xw *x)
{
	x->ok &= xmlTextWriterEndElement(x->w) >= 0;
}

/* <ELEM since1970=".." string=".." long=".."/> */
static void xw_time(struct xw *x, const char *elem, int64_t ms)
{
	char iso[COMP_NET_ISO_LEN];

	comp_fmt_net_iso(ms, iso, sizeof(iso));
	xw_start(x, elem);
	xw_attr_i64(x, "since1970", ms);
	xw_attr(x, "string", iso);
	xw_attr_i64(x, "long", comp_ticks(ms));
	xw_end(x);
}

static void xw_sender(struct xw *x, const struct store_cevent *e)
{
	char uri[STORE_NAME_MAX + 256];

	snprintf(uri, sizeof(uri), "%s@%s", e->actor, x->host);
	xw_start(x, "Sender");
	xw_attr(x, "UserName", e->actor);
	xw_attr_i64(x, "id", e->actor_id);
	xw_attr(x, "email", "");
	xw_attr(x, "internal", e->actor_id > 0 ? "true" : "false");
	xw_attr(x, "uri", uri);
	if (x->o->add_user_details)
		xw_attr(x, "address", e->address);
	xw_end(x);
}

/* A <Message> (or <FirstMessage>) with its Sender and DateTimeUTC. */
static void xw_message(struct xw *x, const char *elem, const struct store_cevent *e)
{
	xw_start(x, elem);
	xw_attr(x, "type", e->type);
	xw_attr(x, "content", e->content ? e->content : "");
	xw_attr_i64(x, "id", e->id);
	if (e->msgid[0])
		xw_attr(x, "msgid", e->msgid);
	if (e->peer[0])
		xw_attr(x, "peer", e->peer);
	if (e->detail)
		xw_attr(x, "detail", e->detail);
	xw_sender(x, e);
	xw_time(x, "DateTimeUTC", e->ts_ms);
	xw_end(x);
}

static void xw_channel(struct xw *x, const struct comp_conv *cv, const struct store_cevent *first)
{
	char uri[2 * STORE_NAME_MAX + 300];
	char name[2 * STORE_NAME_MAX + 2];

	if (cv->kind == COMP_CONV_ROOM) {
		snprintf(uri, sizeof(uri), "ma-chan://%s/room/%" PRId64, x->host, cv->room_id);
		str_copy(name, first->room, sizeof(name));
	} else if (cv->kind == COMP_CONV_PRIVATE) {
		snprintf(uri, sizeof(uri), "ma-chan://%s/private/%s/%s", x->host, cv->a, cv->b);
		snprintf(name, sizeof(name), "%s,%s", cv->a, cv->b);
	} else {
		snprintf(uri, sizeof(uri), "ma-chan://%s/system", x->host);
		str_copy(name, "system", sizeof(name));
	}
	xw_start(x, "Channel");
	xw_attr(x, "uri", uri);
	xw_attr(x, "name", name);
	xw_attr(x, "islogged", cv->kind != COMP_CONV_ROOM || first->logged ? "true" : "false");
	if (x->o->add_room_details && cv->kind == COMP_CONV_ROOM) {
		xw_attr_i64(x, "id", cv->room_id);
		xw_attr(x, "category", first->category);
	}
	xw_end(x);
}

static void xw_conversation(struct xw *x, const struct store_cevent *ev, const struct comp_conv *cv)
{
	const struct store_cevent *first = &ev[cv->idx[0]];
	const struct store_cevent *last = &ev[cv->idx[cv->n - 1]];

	xw_start(x, "Conversation");
	xw_channel(x, cv, first);
	xw_message(x, "FirstMessage", first);
	xw_start(x, "Messages");
	for (size_t i = 0; i < cv->n && x->ok; i++)
		xw_message(x, "Message", &ev[cv->idx[i]]);
	xw_end(x);
	xw_time(x, "StartTimeUTC", first->ts_ms);
	xw_time(x, "EndTimeUTC", last->ts_ms);
	xw_end(x);
}

static void xw_document(struct xw *x, const struct store_cevent *ev, size_t n)
{
	struct comp_groups g;

	comp_group(ev, n, &g);
	x->ok &= xmlTextWriterSetIndent(x->w, 1) >= 0;
	x->ok &= xmlTextWriterSetIndentString(x->w, BAD_CAST "  ") >= 0;
	x->ok &= xmlTextWriterStartDocument(x->w, "1.0", "UTF-8", NULL) >= 0;
	xw_start(x, "Conversations");
	xw_attr(x, "xmlns:xsi", XML_NS_XSI);
	xw_attr(x, "xmlns:xsd", XML_NS_XSD);
	for (size_t i = 0; i < g.n_conv && x->ok; i++)
		xw_conversation(x, ev, &g.conv[i]);
	x->ok &= xmlTextWriterEndDocument(x->w) >= 0;
	comp_groups_free(&g);
}

/* libxml2 output callbacks: everything goes through the buffered comp_out. */
static int xw_io_write(void *ctx, const char *p, int len)
{
	return comp_out_write(ctx, p, (size_t)len) < 0 ? -1 : len;
}

static int xw_io_close(void *ctx)
{
	return 0;
}

int comp_xml_write(int fd, const struct store_cevent *ev, size_t n, const struct comp_options *o)
{
	struct comp_out out;
	struct xw x = {.o = o, .ok = true};
	xmlOutputBufferPtr ob;
	int rc = -1;

	x.host = o->uri_host && o->uri_host[0] ? o->uri_host : "localhost";
	comp_out_init(&out, fd);
	ob = xmlOutputBufferCreateIO(xw_io_write, xw_io_close, &out, NULL);
	if (!ob)
		goto out_free;
	x.w = xmlNewTextWriter(ob); /* owns ob from here */
	if (!x.w) {
		xmlOutputBufferClose(ob);
		goto out_free;
	}
	xw_document(&x, ev, n);
	xmlFreeTextWriter(x.w); /* flushes into out */
	if (comp_out_flush(&out) == 0 && x.ok)
		rc = 0;
out_free:
	if (rc < 0 && out.err)
		errno = out.err;
	else if (rc < 0)
		errno = EIO;
	comp_buf_free(&x.clean);
	comp_buf_free(&x.esc);
	comp_out_free(&out);
	return rc;
}
