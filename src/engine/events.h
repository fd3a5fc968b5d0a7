/* The store's log of events: ROOT/events.log (the one before in
 * events.log.1 once it passed 1 MiB), one event a line in the JSON shape of
 * docker's `events --format json`, appended by whichever process saw it (the
 * command, the service, a container's monitor: die). The decision on
 * isolation is in the create event's attributes. */
#ifndef ISOBOX_EVENTS_H
#define ISOBOX_EVENTS_H

#include <jansson.h>

#include "util/err.h"

/* Appends {"status","id","from","Type","Action","Actor":{"ID","Attributes"},
 * "scope","time","timeNano"}; attributes (strings, with "image") is consumed. */
int events_append(const char *root, const char *action, const char *id, json_t *attributes,
		  struct err *err);
/* The events of every container (container NULL) or of one id, oldest first. */
int events_list(const char *root, const char *container, json_t **out, struct err *err);

#endif
