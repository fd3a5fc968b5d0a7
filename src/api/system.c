/* /_ping, /version and /info, in docker's shapes. */
#include "api/api.h"

#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "engine/container.h"
#include "engine/host_config.h"
#include "engine/image.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/version.h"

void api_ping(const struct api_req *req, struct api_resp *resp)
{
	resp->status = 200;
	resp->text = xstrdup("OK");
}

void api_version(const struct api_req *req, struct api_resp *resp)
{
	char api[16], min[16];
	struct utsname u;

	uname(&u);
	snprintf(api, sizeof(api), "1.%u", API_VERSION_MAX);
	snprintf(min, sizeof(min), "1.%u", API_VERSION_MIN);
	resp->status = 200;
	resp->json = json_pack("{s:{s:s}, s:[{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s,"
			       " s:s, s:s, s:s}}], s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			       "Platform", "Name", "isobox", "Components", "Name", "Engine",
			       "Version", ISOBOX_VERSION, "Details", "ApiVersion", api,
			       "MinAPIVersion", min, "Os", "linux", "Arch",
			       !strcmp(u.machine, "x86_64") ? "amd64" : u.machine, "KernelVersion",
			       u.release, "Experimental", "false", "GitCommit", "", "GoVersion", "",
			       "BuildTime", "",
			       "Version", ISOBOX_VERSION, "ApiVersion", api, "MinAPIVersion", min,
			       "GitCommit", "", "GoVersion", "", "Os", "linux", "Arch",
			       !strcmp(u.machine, "x86_64") ? "amd64" : u.machine, "KernelVersion",
			       u.release, "BuildTime", "");
}

/* docker's info: what its CLI prints, Isolation the host's default mode. */
void api_info(const struct api_req *req, struct api_resp *resp)
{
	_cleanup_json_ json_t *list = NULL, *images = NULL;
	struct host_config host;
	struct isolation_default d;
	struct err err = { 0 };
	struct utsname u;
	struct sysinfo si;
	char host_name[256] = "";
	size_t i, running = 0, paused = 0;
	json_t *c, *info;

	if (container_list(req->ctx->root, true, &list, &err) < 0 ||
	    image_list(req->ctx->root, &images, &err) < 0 ||
	    host_config_load(req->ctx->config, &host, &err) < 0) {
		api_error_from(resp, &err);
		return;
	}
	if (isolation_default(&host, req->ctx->default_isolation, &d, &err) < 0) {
		host_config_free(&host);
		api_error_from(resp, &err);
		return;
	}
	json_array_foreach(list, i, c) {
		json_t *st = json_object_get(c, "State");

		running += json_is_true(json_object_get(st, "Running"));
		paused += json_is_true(json_object_get(st, "Paused"));
	}
	uname(&u);
	sysinfo(&si);
	gethostname(host_name, sizeof(host_name) - 1);
	info = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
			 " s:I, s:I, s:s, s:s, s:s, s:s, s:b, s:s, s:[s], s:{s:{s:s}}, s:s}",
			 "ID", "isobox", "Containers", (json_int_t)json_array_size(list),
			 "ContainersRunning", (json_int_t)(running - paused), "ContainersPaused",
			 (json_int_t)paused, "ContainersStopped",
			 (json_int_t)(json_array_size(list) - running), "Images",
			 (json_int_t)json_array_size(images), "Driver", "overlay2",
			 "OperatingSystem", "Linux", "OSType", "linux", "Architecture", u.machine,
			 "KernelVersion", u.release, "Name", host_name, "ServerVersion",
			 ISOBOX_VERSION, "NCPU", (json_int_t)sysconf(_SC_NPROCESSORS_ONLN),
			 "MemTotal", (json_int_t)si.totalram * (json_int_t)si.mem_unit,
			 "DockerRootDir", req->ctx->root, "CgroupDriver", "cgroupfs",
			 "CgroupVersion",
			 access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "2" : "1",
			 "IndexServerAddress", "https://index.docker.io/v1/", "Init", host.init,
			 "Isolation", d.hyperv ? "hyperv" : "process", "SecurityOptions",
			 "name=seccomp,profile=default", "Runtimes", "isobox", "path",
			 "isobox-runtime", "DefaultRuntime", "isobox");
	json_object_set_new(info, "Swarm", json_pack("{s:s}", "LocalNodeState", "inactive"));
	host_config_free(&host);
	resp->status = 200;
	resp->json = info;
}
