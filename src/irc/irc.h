/*
 * irc.h — the IRC face of pchatd, as seen by main: create it over the
 * network core and the store; it owns the chat engine and serves clients.
 */
#ifndef PCHAT_IRC_IRC_H
#define PCHAT_IRC_IRC_H

#include <stddef.h>

struct config;
struct event_base;
struct net;
struct store;
struct workq;
struct irc;

/*
 * Serve IRC on every connection net accepts. cfg is copied. Returns NULL
 * (with a message in err) when the chat state cannot be loaded.
 */
struct irc *irc_new(struct event_base *base, const struct config *cfg, struct net *net,
                    struct store *store, struct workq *workq, char *err, size_t errlen);

/* Apply a reloaded configuration (SIGHUP): MOTD, limits, guests. */
void irc_reload(struct irc *irc, const struct config *cfg);

/* Tell every client the server is going down (before net_shutdown). */
void irc_shutdown(struct irc *irc, const char *reason);

/*
 * Pool (docs/deployment.md): with reason, the server is idle and every new
 * connection is refused as soon as it has sent NICK and USER (before any
 * SASL exchange is used) with "ERROR :Closing link: <reason>"; clients
 * already registered are untouched. NULL makes it accept again. reason is
 * copied.
 */
void irc_set_idle(struct irc *irc, const char *reason);

/* The "Closing link: ..." text of an idle server, or NULL when it accepts. */
const char *irc_idle_reason(const struct irc *irc);

/* Connections served now (registered or not). */
int irc_client_count(const struct irc *irc);

void irc_free(struct irc *irc);

#endif
