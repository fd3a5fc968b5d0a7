/* What ps shows of a container, for both front ends (the CLI's ps, the API's
 * /containers/json). */
#include "engine/container_view.h"

#include <stdio.h>
#include <string.h>

#include "util/fs.h"

void container_status_text(json_t *state, char *buf, size_t len)
{
	const char *status = json_string_value(json_object_get(state, "Status"));
	long long sec;
	long nsec;
	char ago[64];

	if (!strcmp(status, "running")) {
		time_parse_rfc3339(json_string_value(json_object_get(state, "StartedAt")), &sec,
				   &nsec);
		time_human_ago(sec, ago, sizeof(ago));
		ago[strlen(ago) - 4] = '\0';     /* "Up 3 seconds", without " ago" */
		snprintf(buf, len, "Up %s", ago);
	} else if (!strcmp(status, "exited")) {
		time_parse_rfc3339(json_string_value(json_object_get(state, "FinishedAt")), &sec,
				   &nsec);
		time_human_ago(sec, ago, sizeof(ago));
		snprintf(buf, len, "Exited (%d) %s",
			 (int)json_integer_value(json_object_get(state, "ExitCode")), ago);
	} else {
		snprintf(buf, len, "Created");
	}
}

char *container_command_text(json_t *c)
{
	json_t *args = json_object_get(c, "Args"), *a;
	char *s = xstrdup(json_string_value(json_object_get(c, "Path")));
	size_t i;

	json_array_foreach(args, i, a) {
		char *n = xasprintf("%s %s", s, json_string_value(a));
		free(s);
		s = n;
	}
	return s;
}
