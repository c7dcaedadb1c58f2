/*
 * reply.c — everything a client is sent goes through here: numerics,
 * standard replies, server lines, and the labeled-response capture
 * (IRCv3 labeled-response: one line gets the label, several are wrapped in a
 * labeled-response batch, none gives an ACK).
 */
#include "common/str.h"
#include "common/timeutil.h"
#include "common/utf8.h"
#include "common/xmalloc.h"
#include "core/net.h"
#include "irc/irc_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void conn_put(struct client *cl, const char *line, size_t len)
{
	if (cl->conn && !(cl->state & CLIENT_DEAD))
		conn_write(cl->conn, line, len);
}

void client_send_raw(struct client *cl, const char *line, size_t len)
{
	struct irc_resp *r = cl->resp;

	if (!r) {
		conn_put(cl, line, len);
		return;
	}
	if (r->len + len > r->cap) {
		r->cap = (r->len + len) * 2;
		r->buf = xrealloc(r->buf, r->cap);
	}
	memcpy(r->buf + r->len, line, len);
	r->len += len;
	r->n_lines++;
}

void client_send_out(struct client *cl, struct irc_out *o)
{
	client_send_raw(cl, irc_out_str(o), irc_out_len(o));
}

void client_base_tags(struct client *cl, struct irc_out *o, int64_t ts_ms)
{
	if (client_has(cl, CAP_SERVER_TIME)) {
		char ts[TIME_ISO_LEN];

		time_fmt_iso(ts_ms ? ts_ms : time_now_ms(), ts, sizeof(ts));
		irc_out_tag(o, "time", ts);
	}
}

void client_start_server_line(struct client *cl, struct irc_out *o, const char *cmd)
{
	irc_out_init(o);
	client_base_tags(cl, o, 0);
	irc_out_source(o, cl->irc->cfg.server_name);
	irc_out_cmd(o, cmd);
}

/* Make a formatted body safe: no CR/LF, at most 510 bytes, whole UTF-8 characters. */
static size_t body_clean(char *body, size_t len)
{
	if (len > 510)
		len = utf8_trunc(body, 510);
	for (size_t i = 0; i < len; i++)
		if (body[i] == '\r' || body[i] == '\n')
			body[i] = ' ';
	return len;
}

void client_num_fmt(struct client *cl, enum irc_numeric n, const char *fmt, ...)
{
	char line[IRC_TAGS_MAX + IRC_BODY_MAX + 8];
	char body[1024];
	size_t len = 0, blen;
	va_list ap;
	int k;

	k = snprintf(body, sizeof(body), ":%s %03d %s ", cl->irc->cfg.server_name,
	             irc_numeric_code(n), cl->nick[0] ? cl->nick : "*");
	va_start(ap, fmt);
	if (k > 0 && (size_t)k < sizeof(body))
		k += vsnprintf(body + k, sizeof(body) - (size_t)k, fmt, ap);
	va_end(ap);
	blen = k < 0 ? 0 : (size_t)k < sizeof(body) ? (size_t)k : sizeof(body) - 1;
	blen = body_clean(body, blen);
	if (client_has(cl, CAP_SERVER_TIME)) {
		char ts[TIME_ISO_LEN];

		time_fmt_iso(time_now_ms(), ts, sizeof(ts));
		str_appendf(line, sizeof(line), &len, "@time=%s ", ts);
	}
	str_appendf(line, sizeof(line), &len, "%.*s\r\n", (int)blen, body);
	client_send_raw(cl, line, len);
}

void client_fail(struct client *cl, const char *cmd, const char *code, const char *ctx,
                 const char *text)
{
	struct irc_out o;

	client_start_server_line(cl, &o, "FAIL");
	irc_out_param(&o, cmd);
	irc_out_param(&o, code);
	if (ctx)
		irc_out_param(&o, ctx);
	irc_out_trailing(&o, text);
	irc_out_end(&o);
	client_send_out(cl, &o);
}

void client_batch_id(struct client *cl, char *out, size_t n)
{
	snprintf(out, n, "b%u", ++cl->batch_seq);
}

/* --- labeled-response ------------------------------------------------------- */

void irc_resp_free(struct irc_resp *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r);
}

void client_resp_begin(struct client *cl, const char *label)
{
	struct irc_resp *r = xcalloc(1, sizeof(*r));

	str_copy(r->label, label, sizeof(r->label));
	irc_resp_free(cl->resp);
	cl->resp = r;
}

struct irc_resp *client_resp_detach(struct client *cl)
{
	struct irc_resp *r = cl->resp;

	cl->resp = NULL;
	return r;
}

void client_resp_attach(struct client *cl, struct irc_resp *r)
{
	irc_resp_free(cl->resp);
	cl->resp = r;
}

/* Write one captured line with an extra tag ("label=x" or "batch=id") merged in. */
static void put_tagged(struct client *cl, const char *tag, const char *line, size_t len)
{
	char out[IRC_TAGS_MAX + IRC_BODY_MAX + 80];
	size_t n = 0;

	if (len > 0 && line[0] == '@')
		str_appendf(out, sizeof(out), &n, "@%s;%.*s", tag, (int)(len - 1), line + 1);
	else
		str_appendf(out, sizeof(out), &n, "@%s %.*s", tag, (int)len, line);
	conn_put(cl, out, n);
}

static void batch_edge(struct client *cl, const char *tags, char sign, const char *id)
{
	char out[256];
	size_t n = 0;

	if (tags)
		str_appendf(out, sizeof(out), &n, "@%s ", tags);
	str_appendf(out, sizeof(out), &n, ":%s BATCH %c%s%s\r\n", cl->irc->cfg.server_name, sign,
	            id, sign == '+' ? " labeled-response" : "");
	conn_put(cl, out, n);
}

void client_resp_end(struct client *cl)
{
	struct irc_resp *r = client_resp_detach(cl);
	char label[160], id[16];
	const char *p, *end;

	if (!r)
		return;
	str_copy(label, "label=", sizeof(label));
	irc_tag_escape(r->label, label + 6, sizeof(label) - 6);
	if (r->n_lines == 0) {
		char ack[256];
		size_t n = 0;

		str_appendf(ack, sizeof(ack), &n, "@%s :%s ACK\r\n", label,
		            cl->irc->cfg.server_name);
		conn_put(cl, ack, n);
	} else if (r->n_lines == 1 || !client_has(cl, CAP_BATCH)) {
		if (r->n_lines == 1)
			put_tagged(cl, label, r->buf, r->len);
		else
			conn_put(cl, r->buf, r->len);
	} else {
		char btag[24];

		client_batch_id(cl, id, sizeof(id));
		snprintf(btag, sizeof(btag), "batch=%s", id);
		batch_edge(cl, label, '+', id);
		for (p = r->buf, end = r->buf + r->len; p < end;) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);

			put_tagged(cl, btag, p, len);
			p += len;
		}
		batch_edge(cl, NULL, '-', id);
	}
	irc_resp_free(r);
}

/* --- answers that come later ---------------------------------------------------- */

struct irc_async *irc_async_begin(struct client *cl)
{
	struct irc_async *a = xmalloc(sizeof(*a));

	a->irc = cl->irc;
	a->arg = CLIENT_ARG(cl);
	a->resp = client_resp_detach(cl);
	return a;
}

struct client *irc_async_resume(struct irc_async *a)
{
	struct client *cl = client_from_arg(a->irc, a->arg);

	if (cl) {
		client_resp_attach(cl, a->resp);
		a->resp = NULL;
	}
	return cl;
}

void irc_async_end(struct irc_async *a, struct client *cl)
{
	if (cl && cl->resp)
		client_resp_end(cl);
	irc_resp_free(a->resp);
	free(a);
}

void irc_async_suspend(struct irc_async *a, struct client *cl)
{
	if (cl)
		a->resp = client_resp_detach(cl);
}
