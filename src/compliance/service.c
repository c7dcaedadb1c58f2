/*
 * service.c — the compliance adapter's thread inside pchatd (service.h).
 *
 * The loop: run, then sleep on a condition variable until the interval is
 * over, a kick or a stop. A failed run is retried after min(interval,
 * doubling from 1 s up to COMP_RETRY_MAX_S); an error is logged when it
 * first appears or changes, and its end when a run succeeds again, so a
 * missing directory does not flood the log. A stop ends a run that waits
 * for log shipping at once (comp_options.stopping).
 *
 * Deliberately not here: the export (adapter.c) and capture.
 */
#include "compliance/service.h"

#include "common/log.h"
#include "common/str.h"
#include "common/xmalloc.h"
#include "store/store.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct comp_service {
	struct store_conn *c;  /* owned by the thread */
	pthread_t thread;      /* the adapter thread */
	pthread_mutex_t lock;  /* guards everything below */
	pthread_cond_t cond;   /* kick, reload, stop */
	struct comp_options o; /* options in force (strings below) */
	char dir[1024];        /* o.output_dir */
	char host[256];        /* o.uri_host */
	char owner[64];        /* o.owner */
	int interval_s;        /* between runs */
	bool kicked;           /* run now */
	bool stop;             /* leave the loop */
	char last_error[512];  /* last error logged, "" = none */
};

/* Copy o and its strings into s (lock held or not yet shared). */
static void set_options(struct comp_service *s, const struct comp_options *o, int interval_s)
{
	s->o = *o;
	str_copy(s->dir, o->output_dir ? o->output_dir : "", sizeof(s->dir));
	str_copy(s->host, o->uri_host ? o->uri_host : "", sizeof(s->host));
	str_copy(s->owner, o->owner ? o->owner : "pchatd", sizeof(s->owner));
	s->o.output_dir = s->dir;
	s->o.uri_host = s->host;
	s->o.owner = s->owner;
	s->interval_s = interval_s > 0 ? interval_s : 1;
}

/* Whether the thread is asked to stop (comp_options.stopping: ends a wait for log shipping). */
static bool stopping(void *arg)
{
	struct comp_service *s = arg;
	bool stop;

	pthread_mutex_lock(&s->lock);
	stop = s->stop;
	pthread_mutex_unlock(&s->lock);
	return stop;
}

/* One run with a snapshot of the options; logs what changed. Returns comp_run's result. */
static int run_once(struct comp_service *s)
{
	struct comp_options o;
	struct comp_result r;
	char dir[sizeof(s->dir)], host[sizeof(s->host)], owner[sizeof(s->owner)];
	int rc;

	pthread_mutex_lock(&s->lock);
	o = s->o;
	str_copy(dir, s->dir, sizeof(dir));
	str_copy(host, s->host, sizeof(host));
	str_copy(owner, s->owner, sizeof(owner));
	pthread_mutex_unlock(&s->lock);
	o.output_dir = dir;
	o.uri_host = host;
	o.owner = owner;
	o.stopping = stopping;
	o.stopping_arg = s;
	memset(&r, 0, sizeof(r));
	rc = comp_run(s->c, &o, &r);
	store_conn_note_cache(s->c);
	if (rc != 0 && strcmp(r.error, s->last_error) != 0) {
		log_error("compliance", "export failed: %s (events stay queued; retrying)",
		          r.error);
		str_copy(s->last_error, r.error, sizeof(s->last_error));
	} else if (rc == 0 && s->last_error[0]) {
		log_info("compliance", "export works again");
		s->last_error[0] = '\0';
	}
	if (r.events > 0) {
		log_info("compliance", "exported %lld events into %d files (last %s)",
		         (long long)r.events, r.files, r.last_file);
		/*
		 * A claim of up to events_per_file events was held in memory
		 * (~500 bytes an event and its strings); give what malloc kept
		 * of it back to the kernel, or the server's RSS keeps the peak.
		 */
		malloc_trim(0);
	}
	return rc;
}

/* Wait up to secs, or until kicked or stopped. Lock held. */
static void wait_for(struct comp_service *s, int secs)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += secs;
	while (!s->kicked && !s->stop)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &until) == ETIMEDOUT)
			break;
	s->kicked = false;
}

static void *service_main(void *arg)
{
	struct comp_service *s = arg;
	int retry = 1;

	pthread_setname_np(pthread_self(), "compliance");
	for (;;) {
		int rc = run_once(s), wait;

		pthread_mutex_lock(&s->lock);
		wait = s->interval_s;
		if (rc != 0) {
			wait = retry < wait ? retry : wait;
			retry = retry * 2 > COMP_RETRY_MAX_S ? COMP_RETRY_MAX_S : retry * 2;
		} else {
			retry = 1;
		}
		if (!s->stop)
			wait_for(s, wait);
		if (s->stop) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

int64_t comp_test_lease_ms(void)
{
	const char *v = getenv("PCHAT_TEST_COMPLIANCE_LEASE_MS");
	int64_t ms;

	return v && str_to_i64(v, 1, 3600000, &ms) == 0 ? ms : 0;
}

struct comp_service *comp_service_start(struct store_conn *c, const struct comp_options *o,
                                        int interval_s)
{
	struct comp_service *s = xcalloc(1, sizeof(*s));

	s->c = c;
	set_options(s, o, interval_s);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (pthread_create(&s->thread, NULL, service_main, s) != 0) {
		log_error("compliance", "cannot start the adapter thread");
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	log_info("compliance", "adapter: every %d s into %s (%s)", s->interval_s, s->dir,
	         comp_format_name(s->o.format));
	return s;
}

void comp_service_reload(struct comp_service *s, const struct comp_options *o, int interval_s)
{
	pthread_mutex_lock(&s->lock);
	set_options(s, o, interval_s);
	s->kicked = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void comp_service_kick(struct comp_service *s)
{
	pthread_mutex_lock(&s->lock);
	s->kicked = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void comp_service_stop(struct comp_service *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
