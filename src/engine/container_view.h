/* What ps shows of a container, from its inspect object: for the CLI's ps
 * and the API's /containers/json alike. */
#ifndef ISOBOX_CONTAINER_VIEW_H
#define ISOBOX_CONTAINER_VIEW_H

#include <jansson.h>
#include <stddef.h>

/* docker's Status column: "Up 3 seconds", "Exited (0) 2 minutes ago", "Created". */
void container_status_text(json_t *state, char *buf, size_t len);
/* Path and Args joined by spaces (malloc'ed). */
char *container_command_text(json_t *c);

#endif
