/*
 * lg_report.c — the load generator's report (see lg_report.h).
 *
 * The same figures feed both outputs: report_build() computes them once,
 * then text or JSON is printed. JSON is written by hand (flat numbers and
 * a few fixed strings) to keep the generator free of a JSON library.
 */
#include "lg_report.h"

#include <stdio.h>

#include "common/str.h"
#include "lg.h"
#include "lg_client.h"

#define NS 1000000000.0

static const char *const mode_names[] = {"throughput", "latency", "idle", "connect"};

struct figures {
	double setup_s;          /* start to every client ready or failed */
	double connect_per_s;    /* ready clients per setup second */
	double dur;              /* measured seconds */
	double sent_per_s;       /* messages sent per second */
	double acked_per_s;      /* acknowledgements per second */
	double delivered_per_s;  /* deliveries per second */
	double server_cpu_s;     /* server CPU seconds while measuring, -1 unknown */
	double server_cpu_pct;   /* of one core, -1 unknown */
	double server2_cpu_s;    /* second server (--server-pid2), -1 unknown */
	double server2_cpu_pct;  /* of one core, -1 unknown */
	double self_cpu_pct;     /* generator CPU, of one core */
	double rss_per_conn_kib; /* idle mode, -1 unknown */
	long long lost;          /* deliveries still missing after the drain */
	bool rate_missed;        /* latency mode: achieved < 95% of target */
	char caps[128];          /* caps enabled on the first ready client */
	double storm_cpu_s;      /* server CPU from the (timed) start to setup end, -1 unknown */
};

static const char *const mech_names[] = {"PLAIN", "SCRAM-SHA-256"};

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static void report_build(const struct lg *lg, struct figures *f)
{
	int64_t measured = lg->t_measure_end - lg->t_measure;

	f->setup_s = (double)(lg->t_setup_done - lg->t_start) / NS;
	f->connect_per_s = f->setup_s > 0 ? lg->n_ready / f->setup_s : 0;
	f->dur = measured > 0 ? (double)measured / NS : 0;
	f->sent_per_s = f->dur > 0 ? (double)lg->c.sent / f->dur : 0;
	f->acked_per_s = f->dur > 0 ? (double)lg->c.acked / f->dur : 0;
	f->delivered_per_s = f->dur > 0 ? (double)lg->c.delivered / f->dur : 0;
	f->server_cpu_s = -1;
	f->server_cpu_pct = -1;
	if (lg->cpu_before >= 0 && lg->cpu_after >= 0 && f->dur > 0) {
		f->server_cpu_s = lg->cpu_after - lg->cpu_before;
		f->server_cpu_pct = 100 * f->server_cpu_s / f->dur;
	}
	f->server2_cpu_s = -1;
	f->server2_cpu_pct = -1;
	if (lg->cpu2_before >= 0 && lg->cpu2_after >= 0 && f->dur > 0) {
		f->server2_cpu_s = lg->cpu2_after - lg->cpu2_before;
		f->server2_cpu_pct = 100 * f->server2_cpu_s / f->dur;
	}
	f->self_cpu_pct =
	    f->dur > 0 ? 100 * (lg->self_cpu_after - lg->self_cpu_before) / f->dur : 0;
	f->rss_per_conn_kib = -1;
	if (lg->rss_before >= 0 && lg->rss_after >= 0 && lg->n_ready > 0 &&
	    (lg->o.mode == LG_MODE_IDLE || lg->o.mode == LG_MODE_CONNECT))
		f->rss_per_conn_kib = (double)(lg->rss_after - lg->rss_before) / lg->n_ready;
	f->lost =
	    lg->expected > lg->delivered_all ? (long long)(lg->expected - lg->delivered_all) : 0;
	f->rate_missed = lg->o.mode == LG_MODE_LATENCY && f->sent_per_s < 0.95 * lg->o.rate;
	lg_caps_str(lg->caps_seen, f->caps, sizeof(f->caps));
	f->storm_cpu_s = -1;
	if (lg->storm_cpu_before >= 0 && lg->storm_cpu_after >= 0)
		f->storm_cpu_s = lg->storm_cpu_after - lg->storm_cpu_before;
}

static void json_hist(char *b, size_t cap, size_t *len, const char *key, const struct lg_hist *h)
{
	str_appendf(b, cap, len,
	            ",\"%s\":{\"n\":%llu,\"count\":%llu,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
	            "\"p999\":%.3f,"
	            "\"max\":%.3f,\"mean\":%.3f}",
	            key, (unsigned long long)h->n, (unsigned long long)h->n,
	            ms(lg_hist_quantile(h, 0.5)), ms(lg_hist_quantile(h, 0.9)),
	            ms(lg_hist_quantile(h, 0.99)), ms(lg_hist_quantile(h, 0.999)), ms(h->max),
	            h->n ? ms(h->sum / h->n) : 0.0);
}

/* SASL figures: mechanism, time to 903, SCRAM warm-up and cache. */
static void json_sasl(const struct lg *lg, const struct figures *f, char *b, size_t cap,
                      size_t *len)
{
	const struct lg_scram_run *sr = &lg->scram;

	str_appendf(b, cap, len,
	            ",\"sasl_mech\":\"%s\",\"setup_server_cpu_s\":%.3f,"
	            "\"scram_warmup\":%s,\"scram_primed\":%d,\"scram_prime_failed\":%d,"
	            "\"scram_warmup_s\":%.3f,\"scram_keys_loaded\":%d,\"scram_keys_derived\":%d,"
	            "\"scram_derive_failed\":%d,\"scram_derive_s\":%.3f,"
	            "\"scram_inline_derivations\":%d,\"scram_bad_server_signature\":%d",
	            lg->o.sasl_user ? mech_names[lg->o.mech] : "", f->storm_cpu_s,
	            lg->o.mech == LG_SASL_SCRAM && lg->o.scram_warmup ? "true" : "false",
	            sr->n_primed, sr->n_prime_failed, sr->warmup_s, sr->n_loaded, sr->n_derived,
	            sr->n_derive_failed, sr->derive_s, sr->n_inline, sr->n_bad_sig);
	json_hist(b, cap, len, "sasl_ms", &lg->sasl);
}

static void print_json(const struct lg *lg, const struct figures *f)
{
	char b[8192];
	size_t len = 0;

	str_appendf(b, sizeof(b), &len,
	            "{\"mode\":\"%s\",\"host\":\"%s\",\"port\":%d,\"clients\":%d,\"rooms\":%d,"
	            "\"rooms_per_client\":%d,\"senders\":%d,\"size\":%d,\"window\":%d,"
	            "\"rate_target\":%.1f,\"caps\":\"%s\",\"ack_by\":\"%s\","
	            "\"clients_ready\":%d,\"clients_failed\":%d,\"clients_closed\":%d,"
	            "\"setup_s\":%.3f,\"connect_per_s\":%.1f",
	            mode_names[lg->o.mode], lg->o.host, lg->o.port, lg->o.n_clients, lg->o.n_rooms,
	            lg->o.rooms_per_client, lg->o.n_senders, lg->o.size, lg->o.window, lg->o.rate,
	            f->caps, (lg->caps_seen & LG_CAP_ECHO) ? "echo-message" : "ping", lg->n_ready,
	            lg->n_failed, lg->n_closed, f->setup_s, f->connect_per_s);
	json_hist(b, sizeof(b), &len, "handshake_ms", &lg->handshake);
	json_sasl(lg, f, b, sizeof(b), &len);
	str_appendf(b, sizeof(b), &len,
	            ",\"duration_s\":%.3f,\"sent\":%llu,\"sent_per_s\":%.1f,\"acked\":%llu,"
	            "\"acked_per_s\":%.1f,\"delivered\":%llu,\"delivered_per_s\":%.1f,"
	            "\"lost\":%lld,\"errors\":%llu,\"skipped\":%llu,\"rate_missed\":%s",
	            f->dur, (unsigned long long)lg->c.sent, f->sent_per_s,
	            (unsigned long long)lg->c.acked, f->acked_per_s,
	            (unsigned long long)lg->c.delivered, f->delivered_per_s, f->lost,
	            (unsigned long long)lg->c.errors, (unsigned long long)lg->c.skipped,
	            f->rate_missed ? "true" : "false");
	json_hist(b, sizeof(b), &len, "latency_ms", &lg->c.delivery);
	json_hist(b, sizeof(b), &len, "ack_latency_ms", &lg->c.ack);
	/* two servers (--port2): deliveries by the sender's server */
	str_appendf(b, sizeof(b), &len, ",\"port2\":%d,\"unclassified\":%llu", lg->o.port2,
	            (unsigned long long)lg->c.unclassified);
	json_hist(b, sizeof(b), &len, "local_latency_ms", &lg->c.local);
	json_hist(b, sizeof(b), &len, "cross_latency_ms", &lg->c.cross);
	str_appendf(
	    b, sizeof(b), &len,
	    ",\"server2_pid\":%ld,\"server2_rss_before_kib\":%lld,"
	    "\"server2_rss_after_kib\":%lld,\"server2_cpu_s\":%.2f,\"server2_cpu_pct\":%.1f",
	    (long)lg->o.server_pid2, (long long)lg->rss2_before, (long long)lg->rss2_after,
	    f->server2_cpu_s, f->server2_cpu_pct);
	str_appendf(b, sizeof(b), &len,
	            ",\"server_pid\":%ld,\"rss_before_kib\":%lld,\"rss_after_kib\":%lld,"
	            "\"rss_per_conn_kib\":%.2f,\"server_cpu_s\":%.2f,\"server_cpu_pct\":%.1f,"
	            "\"loadgen_cpu_pct\":%.1f}\n",
	            (long)lg->o.server_pid, (long long)lg->rss_before, (long long)lg->rss_after,
	            f->rss_per_conn_kib, f->server_cpu_s, f->server_cpu_pct, f->self_cpu_pct);
	fputs(b, stdout);
}

static void text_hist(const char *what, const struct lg_hist *h)
{
	if (h->n == 0) {
		printf("%-18s no samples\n", what);
		return;
	}
	printf("%-18s p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f ms  (n=%llu)\n", what,
	       ms(lg_hist_quantile(h, 0.5)), ms(lg_hist_quantile(h, 0.9)),
	       ms(lg_hist_quantile(h, 0.99)), ms(lg_hist_quantile(h, 0.999)), ms(h->max),
	       (unsigned long long)h->n);
}

static void print_traffic(const struct lg *lg, const struct figures *f)
{
	printf("measured           %.2f s\n", f->dur);
	printf("sent               %llu (%.1f msg/s", (unsigned long long)lg->c.sent,
	       f->sent_per_s);
	if (lg->o.rate > 0)
		printf(", target %.1f", lg->o.rate);
	printf(")\n");
	printf("acknowledged       %llu (%.1f msg/s, by %s)\n", (unsigned long long)lg->c.acked,
	       f->acked_per_s, (lg->caps_seen & LG_CAP_ECHO) ? "echo-message" : "PING/PONG");
	printf("delivered          %llu (%.1f msg/s to other clients)\n",
	       (unsigned long long)lg->c.delivered, f->delivered_per_s);
	text_hist("delivery latency", &lg->c.delivery);
	text_hist("ack latency", &lg->c.ack);
	if (lg->o.port2) {
		text_hist("local latency", &lg->c.local);
		text_hist("cross latency", &lg->c.cross);
		if (lg->c.unclassified)
			printf("unclassified       %llu deliveries from nicks not ours\n",
			       (unsigned long long)lg->c.unclassified);
	}
	printf("lost after drain   %lld   errors %llu   skipped %llu\n", f->lost,
	       (unsigned long long)lg->c.errors, (unsigned long long)lg->c.skipped);
	if (f->server_cpu_pct >= 0)
		printf("server cpu         %.2f s (%.1f%% of a core)\n", f->server_cpu_s,
		       f->server_cpu_pct);
	if (f->server2_cpu_pct >= 0)
		printf("server2 cpu        %.2f s (%.1f%% of a core)\n", f->server2_cpu_s,
		       f->server2_cpu_pct);
	printf("loadgen cpu        %.1f%% of a core\n", f->self_cpu_pct);
}

static void print_sasl(const struct lg *lg, const struct figures *f)
{
	const struct lg_scram_run *sr = &lg->scram;

	printf("sasl               %s\n", mech_names[lg->o.mech]);
	text_hist("sasl (to 903)", &lg->sasl);
	if (f->storm_cpu_s >= 0)
		printf("server cpu (setup) %.2f s (%.2f ms per ready client)\n", f->storm_cpu_s,
		       lg->n_ready ? 1000 * f->storm_cpu_s / lg->n_ready : 0.0);
	if (lg->o.mech != LG_SASL_SCRAM)
		return;
	printf("scram warm-up      %d salts learnt, %d failed, %.2f s; keys: %d from cache, "
	       "%d derived in %.2f s (%d failed)\n",
	       sr->n_primed, sr->n_prime_failed, sr->warmup_s, sr->n_loaded, sr->n_derived,
	       sr->derive_s, sr->n_derive_failed);
	printf("scram timed pass   %d derived during login, %d wrong server signatures\n",
	       sr->n_inline, sr->n_bad_sig);
}

static void print_text(const struct lg *lg, const struct figures *f)
{
	printf("mode               %s against %s:%d", mode_names[lg->o.mode], lg->o.host,
	       lg->o.port);
	if (lg->o.port2)
		printf(" and :%d", lg->o.port2);
	printf("\n");
	printf("clients            %d ready, %d failed, %d closed later; %d rooms, %d senders\n",
	       lg->n_ready, lg->n_failed, lg->n_closed, lg->o.n_rooms, lg->o.n_senders);
	printf("caps               %s\n", f->caps[0] ? f->caps : "(none)");
	printf("setup              %.3f s (%.1f connections/s)\n", f->setup_s, f->connect_per_s);
	text_hist("handshake", &lg->handshake);
	if (lg->o.sasl_user)
		print_sasl(lg, f);
	if (lg->o.mode == LG_MODE_THROUGHPUT || lg->o.mode == LG_MODE_LATENCY)
		print_traffic(lg, f);
	if (lg->rss_before >= 0)
		printf("server rss         %lld KiB before, %lld KiB after\n",
		       (long long)lg->rss_before, (long long)lg->rss_after);
	if (lg->rss2_before >= 0)
		printf("server2 rss        %lld KiB before, %lld KiB after\n",
		       (long long)lg->rss2_before, (long long)lg->rss2_after);
	if (lg->o.mode == LG_MODE_IDLE && f->rss_per_conn_kib >= 0)
		printf("rss per connection %.2f KiB\n", f->rss_per_conn_kib);
}

void lg_report(struct lg *lg)
{
	struct figures f;

	report_build(lg, &f);
	if (lg->o.json)
		print_json(lg, &f);
	else
		print_text(lg, &f);
	fflush(stdout);
	if (f.rate_missed)
		fprintf(stderr, "pchat-loadgen: warning: achieved %.1f msg/s, below 95%% of %.1f\n",
		        f.sent_per_s, lg->o.rate);
	if (lg->o.mode == LG_MODE_IDLE && !lg->o.server_pid)
		fprintf(stderr, "pchat-loadgen: idle mode without --server-pid: no RSS figure\n");
	if (lg->n_ready == 0)
		lg->exit_code = 1;
	else if (lg->n_failed > 0 || f.rate_missed)
		lg->exit_code = 3;
}
