/* runc's update in a VM: FRAME_UPDATE's records, new limits for the app's
 * cgroup (AGENT_CGROUP), parsed as hostile input and applied in order. */
#ifndef ISOBOX_GUEST_UPDATE_H
#define ISOBOX_GUEST_UPDATE_H

#include <stddef.h>

#define AGENT_UPDATE_MAX 16

struct agent_update {
	struct {
		char file[16];          /* one of the names update.c allows */
		char value[64];         /* checked for that file */
	} set[AGENT_UPDATE_MAX];
	size_t n;
};

/* 0, or -1 when a record is malformed, unknown, or its value is not one the
 * file takes. */
int agent_update_parse(const unsigned char *buf, size_t len, struct agent_update *u);
/* Write them below dir (AGENT_CGROUP; a test's directory), enabling the
 * controllers they need first; 0, or -1 with why in msg. */
int agent_update_apply(const struct agent_update *u, const char *dir, char *msg, size_t len);

#endif
