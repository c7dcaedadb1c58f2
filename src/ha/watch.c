/*
 * watch.c — the mirror as its primary sees it (db status), and what to do
 * when it is lost (db mirror-check): with mirror_lost = block the primary
 * keeps synchronous_standby_names and every write waits for the mirror;
 * with degrade, once the mirror has been gone longer than the grace
 * period, it is set to '' (asynchronous) with an ALERT, and restored when
 * the mirror is back and caught up.
 *
 * "Missing since" survives between runs in a small JSON state file
 * (written atomically), so that one-shot runs from cron measure the grace
 * period as --watch does.
 *
 * Deliberately not here: starting or rebuilding a mirror (mirror.c).
 */
#include "ha/ha_int.h"

#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HA_CAUGHT_UP_BYTES (1024 * 1024) /* a returning mirror this close is in sync again */

int ha_mirror_state(const char *url, struct ha_mirror_state *st, char *err, size_t errlen)
{
	static const char *const app[] = {HA_SLOT};
	PGconn *c = ha_connect(url, err, errlen);
	PGresult *r = NULL;
	int rc = HA_EDB, rec;

	memset(st, 0, sizeof(*st));
	st->lag_bytes = -1;
	if (!c)
		return HA_EDB;
	rec = ha_in_recovery(c, err, errlen);
	if (rec < 0 || ha_value(c, "synchronous_standby_names", "SHOW synchronous_standby_names", 0,
	                        NULL, st->sync_names, sizeof st->sync_names, err, errlen) != HA_OK)
		goto out_close;
	st->reachable = true;
	st->in_recovery = rec == 1;
	r = ha_rows(c, "pg_stat_replication",
	            rec ? "SELECT state, sync_state, NULL FROM pg_stat_replication WHERE "
	                  "application_name = $1"
	                : "SELECT state, sync_state, pg_wal_lsn_diff(pg_current_wal_lsn(), "
	                  "flush_lsn)::bigint FROM pg_stat_replication WHERE application_name = $1",
	            1, app, err, errlen);
	if (!r)
		goto out_close;
	rc = HA_OK;
	if (PQntuples(r) > 0) {
		st->connected = true;
		str_copy(st->state, PQgetvalue(r, 0, 0), sizeof st->state);
		str_copy(st->sync_state, PQgetvalue(r, 0, 1), sizeof st->sync_state);
		if (!PQgetisnull(r, 0, 2))
			st->lag_bytes = atoll(PQgetvalue(r, 0, 2));
	}
out_close:
	PQclear(r);
	PQfinish(c);
	return rc;
}

enum ha_check_action ha_check_decide(const struct ha_mirror_state *st, bool degrade,
                                     int64_t missing_ms, int64_t after_ms)
{
	bool streaming = st->connected && strcmp(st->state, "streaming") == 0;
	bool sync_on = st->sync_names[0] != '\0';

	if (streaming) {
		if (sync_on)
			return HA_CHECK_OK;
		return st->lag_bytes >= 0 && st->lag_bytes <= HA_CAUGHT_UP_BYTES
		           ? HA_CHECK_RESTORED
		           : HA_CHECK_CATCHING;
	}
	if (missing_ms < after_ms)
		return HA_CHECK_WAITING;
	if (!sync_on)
		return HA_CHECK_STILL_DEGR;
	return degrade ? HA_CHECK_DEGRADED : HA_CHECK_BLOCKING;
}

const char *ha_check_name(enum ha_check_action a)
{
	switch (a) {
	case HA_CHECK_OK:
		return "ok";
	case HA_CHECK_WAITING:
		return "waiting";
	case HA_CHECK_BLOCKING:
		return "blocking";
	case HA_CHECK_DEGRADED:
		return "degraded";
	case HA_CHECK_STILL_DEGR:
		return "asynchronous";
	case HA_CHECK_RESTORED:
		return "restored";
	case HA_CHECK_CATCHING:
		return "catching-up";
	}
	return "?";
}

/* The state file: "missing since", the last action and alert. */
struct check_state {
	int64_t missing_since; /* ms, 0 = the mirror was there */
	char action[32];       /* ha_check_name() of the last run */
	char alert[512];       /* its alert, "" = none */
};

static void state_load(const char *path, struct check_state *cs)
{
	json_t *j = path && path[0] ? json_load_file(path, 0, NULL) : NULL;
	const char *a = j ? json_string_value(json_object_get(j, "action")) : NULL;
	const char *al = j ? json_string_value(json_object_get(j, "alert")) : NULL;

	cs->missing_since = j ? json_integer_value(json_object_get(j, "missing_since_ms")) : 0;
	str_copy(cs->action, a ? a : "", sizeof cs->action);
	str_copy(cs->alert, al ? al : "", sizeof cs->alert);
	json_decref(j);
}

static int state_save(const char *path, const struct check_state *cs, char *err, size_t errlen)
{
	json_t *j;
	char *text;
	int rc;

	if (!path || !path[0])
		return HA_OK;
	j = json_pack("{s:I, s:s, s:s, s:I}", "missing_since_ms", (json_int_t)cs->missing_since,
	              "action", cs->action, "alert", cs->alert, "checked_ms",
	              (json_int_t)time_now_ms());
	text = json_dumps(j, JSON_INDENT(1));
	rc = ha_write_atomic(path, text, strlen(text), err, errlen);
	free(text);
	json_decref(j);
	return rc;
}

void ha_state_alert(const char *state_file, char *out, size_t outlen)
{
	struct check_state cs;

	state_load(state_file, &cs);
	str_copy(out, cs.alert, outlen);
}

/* The alert text for action a (empty when none) and the change it makes. */
static int apply_action(const char *url, enum ha_check_action a, const struct ha_mirror_state *st,
                        int64_t missing_s, char *alert, size_t alertlen, char *err, size_t errlen)
{
	PGconn *c;
	int rc = HA_OK;

	alert[0] = '\0';
	if (a == HA_CHECK_BLOCKING)
		snprintf(alert, alertlen,
		         "mirror lost for %llds: writes wait for it (mirror_lost = block)",
		         (long long)missing_s);
	else if (a == HA_CHECK_DEGRADED || a == HA_CHECK_STILL_DEGR)
		snprintf(alert, alertlen,
		         "mirror lost for %llds: asynchronous (synchronous_standby_names = ''); a "
		         "failure of the primary loses what the mirror has not received",
		         (long long)missing_s);
	else if (a == HA_CHECK_CATCHING)
		snprintf(alert, alertlen,
		         "mirror back, catching up (%lld bytes behind): asynchronous until it is",
		         (long long)st->lag_bytes);
	if (a != HA_CHECK_DEGRADED && a != HA_CHECK_RESTORED)
		return HA_OK;
	c = ha_connect(url, err, errlen);
	if (!c)
		return HA_EDB;
	rc = ha_set_sync_names(c, a == HA_CHECK_DEGRADED ? "" : HA_SLOT, err, errlen);
	PQfinish(c);
	if (rc == HA_OK && a == HA_CHECK_RESTORED)
		log_warn("mirror", "mirror %s back in sync: synchronous_standby_names = '%s' again",
		         HA_SLOT, HA_SLOT);
	return rc;
}

int ha_mirror_check(const char *url, bool degrade, int after_s, const char *state_file,
                    json_t **out, char *err, size_t errlen)
{
	struct ha_mirror_state st;
	struct check_state cs;
	char alert[512];
	int64_t now = time_now_ms(), missing_ms;
	enum ha_check_action a;
	int rc;

	*out = NULL;
	rc = ha_mirror_state(url, &st, err, errlen);
	if (rc != HA_OK)
		return rc;
	state_load(state_file, &cs);
	if (st.connected && strcmp(st.state, "streaming") == 0)
		cs.missing_since = 0;
	else if (cs.missing_since == 0)
		cs.missing_since = now;
	missing_ms = cs.missing_since ? now - cs.missing_since : 0;
	a = ha_check_decide(&st, degrade, missing_ms, (int64_t)after_s * 1000);
	rc = apply_action(url, a, &st, missing_ms / 1000, alert, sizeof alert, err, errlen);
	if (rc != HA_OK)
		return rc;
	if (alert[0] && strcmp(cs.action, ha_check_name(a)) != 0) /* once per change */
		log_warn("mirror", "ALERT %s", alert);
	str_copy(cs.action, ha_check_name(a), sizeof cs.action);
	str_copy(cs.alert, alert, sizeof cs.alert);
	rc = state_save(state_file, &cs, err, errlen);
	if (rc == HA_OK)
		*out = json_pack("{s:s, s:b, s:s, s:s, s:I, s:s, s:I, s:s}", "action",
		                 ha_check_name(a), "connected", st.connected, "state", st.state,
		                 "sync_state", st.sync_state, "lag_bytes", (json_int_t)st.lag_bytes,
		                 "synchronous_standby_names",
		                 a == HA_CHECK_DEGRADED   ? ""
		                 : a == HA_CHECK_RESTORED ? HA_SLOT
		                                          : st.sync_names,
		                 "missing_s", (json_int_t)(missing_ms / 1000), "alert", alert);
	return rc;
}
