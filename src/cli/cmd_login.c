/* login and logout: docker's command lines, prompts and messages (docker CLI
 * 28). Credentials are checked against the registry before they are stored
 * in docker's config.json (engine/auth_config.c), so a wrong password leaves
 * the file as it was. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "engine/auth_config.h"
#include "engine/host_config.h"
#include "engine/login.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define HUB_SERVER "https://index.docker.io/v1/"
/* A password read from stdin: docker reads it whole; a token is a few KiB. */
#define PASSWORD_MAX (64u << 10)

static const char login_usage[] =
	"Usage:  isobox login [OPTIONS] [SERVER]\n\n"
	"Authenticate to a registry.\n"
	"Defaults to Docker Hub if no server is specified.\n\n"
	"Options:\n"
	"  -p, --password string   Password or Personal Access Token (PAT)\n"
	"      --password-stdin    Take the Password or Personal Access Token (PAT) from stdin\n"
	"  -u, --username string   Username\n";

static const char logout_usage[] =
	"Usage:  isobox logout [SERVER]\n\n"
	"Log out from a registry.\n"
	"If no server is specified, the default is defined by the daemon.\n";

static int opt_fail(const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return cli_usage(cmd, "flag needs an argument: %s", arg);
	if (optopt && strncmp(arg, "--", 2))
		return cli_usage(cmd, "unknown shorthand flag: '%c' in %s", optopt, arg);
	return cli_usage(cmd, "unknown flag: %s", arg);
}

static bool is_hub(const char *server)
{
	return !server || !*server || !strcmp(server, "docker.io") ||
	       !strcmp(server, "index.docker.io") || !strcmp(server, "registry-1.docker.io") ||
	       !strcmp(server, HUB_SERVER);
}

/* docker's credentials.ConvertToHostname: no scheme, nothing after "/". */
static char *server_host(const char *server)
{
	const char *p = server;

	if (!strncmp(p, "http://", 7))
		p += 7;
	else if (!strncmp(p, "https://", 8))
		p += 8;
	return strndup(p, strcspn(p, "/"));
}

/* One line from stdin without its newline; echo off for a password. NULL
 * at EOF before anything was typed. */
static char *prompt_line(const char *prompt, bool secret)
{
	struct termios old, quiet;
	bool restore = false;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	fputs(prompt, stdout);
	fflush(stdout);
	if (secret && tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
	}
	n = getline(&line, &cap, stdin);
	if (restore)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	if (n < 0) {
		free(line);
		return NULL;
	}
	line[strcspn(line, "\r\n")] = '\0';
	return line;
}

/* --password-stdin: all of stdin, one trailing "\n" then "\r" removed. */
static int password_from_stdin(char **out)
{
	char *buf = xmalloc(PASSWORD_MAX + 1);
	ssize_t n = read_full(STDIN_FILENO, buf, PASSWORD_MAX + 1);

	if (n < 0) {
		fprintf(stderr, "isobox login: read the password from stdin: %s\n", strerror(errno));
		free(buf);
		return -1;
	}
	if ((size_t)n > PASSWORD_MAX) {
		fprintf(stderr, "isobox login: the password on stdin is longer than %u bytes\n",
			PASSWORD_MAX);
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	*out = buf;
	return 0;
}

static void warn_unencrypted(void)
{
	_cleanup_free_ char *path = auth_config_path();

	fprintf(stderr, "\nWARNING! Your credentials are stored unencrypted in '%s'.\n"
		"Configure a credential helper to remove this warning. See\n"
		"https://docs.docker.com/go/credential-store/\n\n", path);
}

struct login_opts {
	const char *user;
	const char *password;
	bool password_stdin;
	const char *server;
};

static int login_parse(int argc, char **argv, struct login_opts *o)
{
	static const struct option opts[] = {
		{ "username", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'p' },
		{ "password-stdin", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:u:p:h", opts, NULL)) != -1) {
		if (c == 'u')
			o->user = optarg;
		else if (c == 'p')
			o->password = optarg;
		else if (c == 's')
			o->password_stdin = true;
		else if (c == 'h') {
			fputs(login_usage, stdout);
			return -1;
		} else
			return opt_fail("login", c, argv);
	}
	if (argc - optind > 1)
		return cli_usage("login", "\"login\" requires at most 1 argument");
	o->server = argc - optind == 1 ? argv[optind] : NULL;
	return 0;
}

/* Check the credentials with the registry; 0, or 1 after printing why not. */
static int login_check(struct cli *cli, const char *host, const char *user,
		       const char *password, bool quiet_fail)
{
	struct host_config hc;
	struct err err = { 0 };

	if (cli_host_config(cli, &hc, &err) < 0)
		return cli_fail(&err);
	if (login_verify(&hc, host, user, password, &err) == 0) {
		host_config_free(&hc);
		return 0;
	}
	host_config_free(&hc);
	if (quiet_fail)
		fprintf(stderr, "Login did not succeed, error: %s\n", err.msg);
	else
		fprintf(stderr, "Error response from daemon: %s\n", err.msg);
	return 1;
}

/* docker's login: stored credentials first when none are given, else the
 * ones given or prompted for; checked, then stored. */
int cmd_login(struct cli *cli, int argc, char **argv)
{
	struct login_opts o = { 0 };
	_cleanup_free_ char *host = NULL, *user = NULL, *password = NULL;
	_cleanup_free_ char *old_user = NULL, *old_password = NULL;
	struct err err = { 0 };
	int r = login_parse(argc, argv, &o);

	if (r)
		return r < 0 ? 0 : r;
	if (o.password) {
		fprintf(stderr, "WARNING! Using --password via the CLI is insecure. "
			"Use --password-stdin.\n");
		if (o.password_stdin) {
			fprintf(stderr, "conflicting options: cannot specify both --password and "
				"--password-stdin\n");
			return 1;
		}
	}
	if (o.password_stdin) {
		if (!o.user || !*o.user) {
			fprintf(stderr, "the --password-stdin option requires --username to be set\n");
			return 1;
		}
		if (password_from_stdin(&password) < 0)
			return 1;
	} else if (o.password) {
		password = xstrdup(o.password);
	}
	host = is_hub(o.server) ? xstrdup(HUB_SERVER) : server_host(o.server);
	if (!*host)
		return cli_usage("login", "invalid registry address '%s'", o.server);
	if (auth_config_get(host, &old_user, &old_password, &err) < 0)
		return cli_fail(&err);
	/* Nothing given: the stored credentials, as docker tries them first. */
	if (!o.user && !o.password && !o.password_stdin && old_user) {
		printf("Authenticating with existing credentials... [Username: %s]\n", old_user);
		fflush(stdout);
		if (login_check(cli, host, old_user, old_password, true) == 0) {
			printf("Login Succeeded\n");
			return 0;
		}
	}
	user = xstrdup(o.user ? o.user : "");
	if (!*user || !password) {
		if (!isatty(STDIN_FILENO)) {
			fprintf(stderr, "Error: Cannot perform an interactive login from a non TTY "
				"device\n");
			return 1;
		}
	}
	if (!*user) {
		_cleanup_free_ char *prompt = old_user ? xasprintf("Username (%s): ", old_user) :
						       xstrdup("Username: ");
		free(user);
		user = prompt_line(prompt, false);
		if (user && !*user && old_user) {
			free(user);
			user = xstrdup(old_user);
		}
		if (!user || !*user) {
			fprintf(stderr, "Error: Non-null Username Required\n");
			return 1;
		}
	}
	if (!password) {
		password = prompt_line("Password: ", true);
		if (!password || !*password) {
			fprintf(stderr, "Error: Password Required\n");
			return 1;
		}
	}
	if (!*password) {
		fprintf(stderr, "password is empty\n");
		return 1;
	}
	if (strchr(user, ':'))
		return cli_usage("login", "invalid username '%s': it must not hold ':'", user);
	r = login_check(cli, host, user, password, false);
	if (r)
		return r;
	r = auth_config_set(host, user, password, &err);
	explicit_bzero(password, strlen(password));
	if (r < 0) {
		fprintf(stderr, "Error saving credentials: %s\n", err.msg);
		return 1;
	}
	{
		_cleanup_free_ char *helper = auth_config_helper(host);

		if (!helper)
			warn_unencrypted();
	}
	printf("Login Succeeded\n");
	return 0;
}

/* docker's logout: "Removing login credentials for HOST" whether or not
 * there were any (docker CLI 28 prints it in both cases). */
int cmd_logout(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	_cleanup_free_ char *host = NULL;
	struct err err = { 0 };
	int c, had = 0;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(logout_usage, stdout);
			return 0;
		}
		return opt_fail("logout", c, argv);
	}
	if (argc - optind > 1)
		return cli_usage("logout", "\"logout\" requires at most 1 argument");
	host = is_hub(argv[optind]) ? xstrdup(HUB_SERVER) : server_host(argv[optind]);
	printf("Removing login credentials for %s\n", host);
	fflush(stdout);
	if (auth_config_remove(host, &had, &err) < 0) {
		fprintf(stderr, "WARNING: could not erase credentials:\n%s: %s\n", host, err.msg);
		return 1;
	}
	return 0;
}
