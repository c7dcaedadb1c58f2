/*
 * service.h — the compliance adapter inside pchatd: a thread of its own that
 * runs comp_run() once at start and then every [compliance] run_interval,
 * retrying sooner (every 30 s at most) while an export fails, so that
 * export resumes by itself once the output directory is fixed.
 */
#ifndef PCHAT_COMPLIANCE_SERVICE_H
#define PCHAT_COMPLIANCE_SERVICE_H

#include "compliance/compliance.h"

struct comp_service;
struct store_conn;

#define COMP_RETRY_MAX_S 30 /* longest wait after a failed run */

/*
 * The claim lease the tests ask for with PCHAT_TEST_COMPLIANCE_LEASE_MS
 * (so a crashed adapter's range is resumed in a moment), else 0 (the
 * default lease).
 */
int64_t comp_test_lease_ms(void);

/*
 * Start the thread. c is a store connection the thread then owns (pchatd
 * hands it the store's direct connection, which it no longer uses after
 * start-up); o is copied, strings included. interval_s >= 1. NULL when the
 * thread cannot start (logged).
 */
struct comp_service *comp_service_start(struct store_conn *c, const struct comp_options *o,
                                        int interval_s);

/* Replace the options and the interval (SIGHUP); the next run uses them. */
void comp_service_reload(struct comp_service *s, const struct comp_options *o, int interval_s);

/* Ask for a run now (does not wait for it). */
void comp_service_kick(struct comp_service *s);

/* Stop the thread (a run under way finishes first) and free s. NULL is fine. */
void comp_service_stop(struct comp_service *s);

#endif
