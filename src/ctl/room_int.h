/*
 * room_int.h — what room.c and room_admin.c share inside pchatctl's room
 * noun: name handling, look-ups with operator-facing errors, JSON, and the
 * leaves that live in room_admin.c.
 */
#ifndef PCHAT_CTL_ROOM_INT_H
#define PCHAT_CTL_ROOM_INT_H

#include "ctl/ctl.h"

struct store_room;
struct store_category;

/* The room name without its leading '#' (points into arg). */
const char *room_name(const char *arg);

/* "closed", "open", "secret" for an enum store_privacy ("?" otherwise). */
const char *room_privacy_name(int privacy);
/* "normal", "auditorium" for an enum store_room_type ("?" otherwise). */
const char *room_type_name(int type);

/*
 * Open the store and read the room named by arg (with or without '#')
 * into r (store_room_free it). CTL_EXIT_OK, or an error code after printing
 * what to do.
 */
int room_get(struct ctl *ctx, const char *arg, struct store_room *r);

/* Read category name into cat (store_category_free it); like room_get(). */
int room_get_category(struct ctl *ctx, const char *name, struct store_category *cat);

/* The JSON object of a room (every setting, lists as arrays). */
json_t *room_json(const struct store_room *r);

/* room clear NAME --before DATE (room_admin.c). */
int room_clear(struct ctl *ctx, int argc, char **argv);
/* room eligible NAME (room_admin.c). */
int room_eligible(struct ctl *ctx, int argc, char **argv);

#endif
