/* docker's progress for pull and push: the bar of a line, and the JSON
 * messages (jsonmessage) that isobox serve streams for them. */
#ifndef ISOBOX_CLI_PROGRESS_H
#define ISOBOX_CLI_PROGRESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* JSONProgress.String() at width columns: "[=====>    ]  1.2MB/3.4MB" (the
 * box only wider than 110), "  1.2MB" with no total. */
void progress_bar(char *buf, size_t size, unsigned long long cur, long long total, int width);

/* What a message's progressDetail holds, as dockerd's: none for a message
 * of its own ("Pulling from X", a digest), {} for a step of a layer
 * ("Pulling fs layer", "Pushed"), {current, total} with a bar. */
enum progress_detail { DETAIL_NONE, DETAIL_STEP, DETAIL_COUNTS };

/* {"status", "progressDetail", "progress", "id"} (id may be NULL). */
json_t *progress_message(const char *id, const char *status, enum progress_detail detail,
			 unsigned long long cur, long long total);
/* m on one line of out, flushed; m is taken. */
void progress_emit(FILE *out, json_t *m);

#endif
