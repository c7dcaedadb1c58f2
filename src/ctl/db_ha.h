/*
 * db_ha.h — the high-availability leaves of pchatctl db (db_ha.c): who,
 * kill, recover, install-mirror, switchover, mirror-check, status. Each
 * returns a CTL_EXIT_* code; db.c's table points to them.
 */
#ifndef PCHAT_CTL_DB_HA_H
#define PCHAT_CTL_DB_HA_H

struct ctl;

int ctl_db_who(struct ctl *ctx, int argc, char **argv);
int ctl_db_kill(struct ctl *ctx, int argc, char **argv);
int ctl_db_recover(struct ctl *ctx, int argc, char **argv);
int ctl_db_install_mirror(struct ctl *ctx, int argc, char **argv);
int ctl_db_switchover(struct ctl *ctx, int argc, char **argv);
int ctl_db_mirror_check(struct ctl *ctx, int argc, char **argv);
int ctl_db_status(struct ctl *ctx, int argc, char **argv);

#endif
