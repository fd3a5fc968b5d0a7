/* Output helpers shared by the commands: docker's Go-template subset and tables. */
#ifndef ISOBOX_FORMAT_H
#define ISOBOX_FORMAT_H

#include <stdio.h>
#include <jansson.h>

/* Expand "{{.A.B}}" and "{{json .A}}" against j, as docker --format does for
 * field paths; returns 0, or -1 on a template it does not understand. */
int format_template(FILE *out, const char *tmpl, json_t *j);
/* JSON pretty-printed with 4 spaces, as docker inspect prints. */
void format_json_pretty(FILE *out, json_t *j);
/* Go's tabwriter as docker's commands use it: rows (arrays of strings)
 * in columns each as wide as its widest cell plus padding, at least
 * min_width; a row's last cell unpadded. */
void format_table(FILE *out, json_t *rows, int min_width, int padding);

#endif
