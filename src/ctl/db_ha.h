/*
 * db_ha.h — the high-availability leaves of pchatctl db (db_ha.c): who,
 * kill, recover, install-mirror, switchover, mirror-check, status, and the
 * failback's reseed and freeze. Each
 * returns a CTL_EXIT_* code; db.c's table points to them.
 */
#ifndef PCHAT_CTL_DB_HA_H
#define PCHAT_CTL_DB_HA_H

#include <stddef.h>

struct ctl;

int ctl_db_who(struct ctl *ctx, int argc, char **argv);
int ctl_db_kill(struct ctl *ctx, int argc, char **argv);
int ctl_db_recover(struct ctl *ctx, int argc, char **argv);
int ctl_db_install_mirror(struct ctl *ctx, int argc, char **argv);
int ctl_db_switchover(struct ctl *ctx, int argc, char **argv);
int ctl_db_mirror_check(struct ctl *ctx, int argc, char **argv);
int ctl_db_status(struct ctl *ctx, int argc, char **argv);
int ctl_db_reseed(struct ctl *ctx, int argc, char **argv);
int ctl_db_freeze(struct ctl *ctx, int argc, char **argv);

struct topology;

/*
 * The commands PostgreSQL runs for log shipping (logship.c): archive_command,
 * restore_command and (rewind, may be NULL) pg_rewind's restore_command, this
 * pchatctl with the topology's absolute path (%p %f placeholders); each
 * buffer len bytes. CTL_EXIT_OK or an error already reported.
 */
int ctl_logship_commands(struct ctl *ctx, const struct topology *t, char *archive, char *restore,
                         char *rewind, size_t len);

/* One round of the copy job (share -> copy destination; logship.c). 0 or -1, err set. */
int ctl_logship_copy_once(const struct topology *t, char *err, size_t errlen);

#endif
