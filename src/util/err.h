/* One error style: a failing function returns -1 and fills the caller's
 * struct err; each layer may prefix what it knows; only the CLI prints. */
#ifndef ISOBOX_ERR_H
#define ISOBOX_ERR_H

#include <stddef.h>

/* Exit codes the CLI maps errors to, as docker does. */
enum err_kind {
	ERR_RUNTIME = 125,   /* isobox itself failed */
	ERR_NOEXEC = 126,    /* the command exists but cannot be executed */
	ERR_NOTFOUND = 127,  /* the command was not found */
};

struct err {
	int kind;            /* enum err_kind, or 0 when nothing failed */
	int errnum;          /* errno of the failing call, or 0 */
	char msg[1024];
};

int err_set(struct err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int err_sys(struct err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int err_kind(struct err *err, int kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefix the message with context: "container abc: <old message>". */
int err_wrap(struct err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void err_clear(struct err *err);

#endif
