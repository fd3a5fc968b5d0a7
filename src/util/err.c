#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void err_vformat(struct err *err, const char *fmt, va_list ap)
{
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int err_set(struct err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vformat(err, fmt, ap);
	va_end(ap);
	err->kind = ERR_RUNTIME;
	err->errnum = 0;
	return -1;
}

int err_kind(struct err *err, int kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vformat(err, fmt, ap);
	va_end(ap);
	err->kind = kind;
	err->errnum = 0;
	return -1;
}

int err_sys(struct err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	err_vformat(err, fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errnum));
	err->kind = ERR_RUNTIME;
	err->errnum = errnum;
	return -1;
}

int err_wrap(struct err *err, const char *fmt, ...)
{
	char prefix[512];
	char old[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* Truncation keeps the start of the message, which says the most. */
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old) < 0)
		err->msg[0] = '\0';
	if (!err->kind)
		err->kind = ERR_RUNTIME;
	return -1;
}

void err_clear(struct err *err)
{
	err->kind = 0;
	err->errnum = 0;
	err->msg[0] = '\0';
}
