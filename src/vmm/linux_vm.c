#include "vmm/linux_vm.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <time.h>

#include "guest/agent_proto.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "vmm/acpi.h"
#include "vmm/boot.h"
#include "vmm/initramfs.h"
#include "vmm/devices/rtc.h"
#include "vmm/devices/serial.h"
#include "vmm/kvm.h"
#include "vmm/vm_backend.h"
#include "vmm/vm_devices.h"
#include "vmm/vmm_seccomp.h"

#define KERNEL_MAX (256u << 20)
#define INITRD_MAX (1024u << 20)
#define I8042_COMMAND 0x64
#define I8042_RESET 0xfe

enum vm_state { VM_RUNNING, VM_EXITED, VM_RESET, VM_POWEROFF };

struct linux_vm;

struct vcpu_thread {
	struct linux_vm *vm;
	struct kvm_vcpu vcpu;
	pthread_t thread;
	bool started;
};

struct linux_vm {
	struct kvm_vm kvm;
	struct vcpu_thread vcpus[LINUX_VM_MAX_VCPUS];
	unsigned n_vcpus;
	struct vm_devices devs;
	unsigned timeout_ms;
	pthread_mutex_t io_lock;     /* the port devices and the state, between vCPUs */
	pthread_mutex_t irq_lock;    /* irq_count and the lines' levels */
	unsigned irq_count[ACPI_IOAPIC_PINS];   /* devices asserting each line */
	bool finished;               /* a vCPU's loop ended: the others stop too */
	int result;                  /* of the first vCPU loop to end */
	struct err err;
	struct serial serial;
	struct rtc rtc;
	enum vm_state state;
	int status;
	bool oom_killed;
};

static void irq_pulse(void *ctx, int line)
{
	struct linux_vm *vm = ctx;
	struct kvm_irq_level irq = { .irq = (uint32_t)line, .level = 1 };

	ioctl(vm->kvm.vm_fd, KVM_IRQ_LINE, &irq);
	irq.level = 0;
	ioctl(vm->kvm.vm_fd, KVM_IRQ_LINE, &irq);
}

/* Virtio devices hold their (level-triggered) line until the guest acks.
 * Devices may share a line (the image's layer disks do): it is high while any
 * of them asserts it. Each device reports changes only (virtio_mmio.c). */
static void irq_level(void *ctx, uint32_t gsi, int level)
{
	struct linux_vm *vm = ctx;
	struct kvm_irq_level irq = { .irq = gsi };
	unsigned *n;

	if (gsi >= ACPI_IOAPIC_PINS)
		return;
	n = &vm->irq_count[gsi];
	pthread_mutex_lock(&vm->irq_lock);
	if (level)
		irq.level = ++*n == 1;
	else if (*n)
		irq.level = --*n != 0;
	if (level ? *n == 1 : *n == 0)
		ioctl(vm->kvm.vm_fd, KVM_IRQ_LINE, &irq);
	pthread_mutex_unlock(&vm->irq_lock);
}

static uint8_t port_read(struct linux_vm *vm, uint16_t port)
{
	if (port >= SERIAL_PORT && port < SERIAL_PORT + SERIAL_PORT_LEN)
		return serial_read(&vm->serial, port - SERIAL_PORT);
	if (port >= RTC_PORT && port < RTC_PORT + RTC_PORT_LEN)
		return rtc_read(&vm->rtc, port - RTC_PORT);
	if (port == I8042_COMMAND || port == 0x60)
		return 0;          /* an i8042 with nothing to say */
	if (port == ACPI_SLEEP_PORT || port == ACPI_SLEEP_STATUS_PORT)
		return 0;          /* ACPI: never asleep, no wake status */
	return 0xff;               /* nothing there: the bus floats high */
}

static void port_write(struct linux_vm *vm, uint16_t port, uint8_t v)
{
	if (port >= SERIAL_PORT && port < SERIAL_PORT + SERIAL_PORT_LEN)
		serial_write(&vm->serial, port - SERIAL_PORT, v);
	else if (port >= RTC_PORT && port < RTC_PORT + RTC_PORT_LEN)
		rtc_write(&vm->rtc, port - RTC_PORT, v);
	else if (port == AGENT_READY_PORT)
		vm_devices_stdin_ready(&vm->devs);
	else if (port == AGENT_OOM_PORT)
		vm->oom_killed = true;
	else if (port == LINUX_VM_EXIT_PORT && vm->state == VM_RUNNING) {
		vm->status = v;
		vm->state = VM_EXITED;
	} else if (port == I8042_COMMAND && v == I8042_RESET && vm->state == VM_RUNNING)
		vm->state = VM_RESET;
	else if (port == ACPI_SLEEP_PORT && (v & ACPI_SLP_EN) && vm->state == VM_RUNNING)
		vm->state = VM_POWEROFF;       /* ACPI: \_S5 is the only sleep state */
}

/* One KVM_EXIT_IO: count repetitions of size-byte accesses in the run page. */
static int handle_io(struct linux_vm *vm, struct kvm_vcpu *vcpu, struct err *err)
{
	struct kvm_run *run = vcpu->run;
	uint64_t bytes = (uint64_t)run->io.size * run->io.count;
	uint8_t *data;
	uint64_t i;

	if (run->io.size == 0 || run->io.data_offset >= vcpu->run_size ||
	    bytes > vcpu->run_size - run->io.data_offset)
		return err_set(err, "bad I/O exit from KVM");
	data = (uint8_t *)run + run->io.data_offset;
	pthread_mutex_lock(&vm->io_lock);
	for (i = 0; i < bytes; i++) {
		/* Wider accesses reach byte registers one byte at a time. */
		uint16_t port = (uint16_t)(run->io.port + i % run->io.size);

		if (run->io.direction == KVM_EXIT_IO_OUT)
			port_write(vm, port, data[i]);
		else
			data[i] = port_read(vm, port);
	}
	pthread_mutex_unlock(&vm->io_lock);
	return 0;
}

static void handle_mmio(struct linux_vm *vm, struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint32_t len = run->mmio.len <= sizeof(run->mmio.data) ? run->mmio.len : 0;

	/* Where no device answers, reads see all ones and writes vanish. */
	if (len && vm_devices_mmio(&vm->devs, run->mmio.phys_addr, run->mmio.data, len,
				   run->mmio.is_write))
		return;
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
}

static void on_alarm(int sig)
{
	(void)sig;     /* only interrupts KVM_RUN: the timeout, or a stop kick */
}

static int arm_timeout(unsigned ms, timer_t *timer, struct err *err)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM };
	struct itimerspec its = { .it_value = { ms / 1000, (ms % 1000) * 1000000L },
				  .it_interval = { 0, 100 * 1000000L } };

	if (!ms)
		return 0;
	sigaction(SIGALRM, &sa, NULL);     /* no SA_RESTART: KVM_RUN returns EINTR */
	if (timer_create(CLOCK_MONOTONIC, &sev, timer) < 0 || timer_settime(*timer, 0, &its, NULL) < 0)
		return err_sys(err, errno, "arm the boot timeout");
	return 0;
}

static int run_loop(struct linux_vm *vm, struct kvm_vcpu *vcpu, unsigned timeout_ms,
		    struct err *err)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (vm->state == VM_RUNNING && !vm->finished) {
		if (kvm_vcpu_run(vcpu, err) < 0)
			return -1;
		switch (vcpu->run->exit_reason) {
		case KVM_EXIT_IO:
			if (handle_io(vm, vcpu, err) < 0)
				return -1;
			break;
		case KVM_EXIT_MMIO:
			handle_mmio(vm, vcpu);
			break;
		case KVM_EXIT_INTR:
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (timeout_ms && (now.tv_sec - start.tv_sec) * 1000 +
			    (now.tv_nsec - start.tv_nsec) / 1000000 >= (long)timeout_ms)
				return err_set(err, "the guest did not finish within %u ms: see "
					       "its kernel log", timeout_ms);
			break;
		case KVM_EXIT_HLT:
			return err_set(err, "the guest halted a CPU with interrupts off");
		case KVM_EXIT_SHUTDOWN:
			return err_set(err, "the guest crashed (triple fault): see its kernel log");
		case KVM_EXIT_FAIL_ENTRY:
			return err_set(err, "KVM could not enter the guest (hardware reason %#llx)",
				       (unsigned long long)vcpu->run->fail_entry
					       .hardware_entry_failure_reason);
		case KVM_EXIT_INTERNAL_ERROR:
			return err_set(err, "KVM internal error %u (on PVM hosts only kernels "
				       "built with CONFIG_PVM_GUEST boot)",
				       vcpu->run->internal.suberror);
		default:
			return err_set(err, "the guest stopped with KVM exit reason %u",
				       vcpu->run->exit_reason);
		}
	}
	if (vm->state == VM_RESET)
		return err_set(err, "the guest reset before reporting an exit status "
			       "(a kernel panic?): see its kernel log");
	if (vm->state == VM_POWEROFF)
		return err_set(err, "the guest powered off before reporting an exit status: "
			       "see its kernel log");
	return 0;
}

static int load_images(const struct linux_vm_config *c, void *ram, struct boot_entry *entry,
		       struct err *err)
{
	_cleanup_free_ char *kernel = NULL, *initrd = NULL;
	struct boot_images img = { .cmdline = c->cmdline ? c->cmdline : "" };

	if (read_file(c->kernel, KERNEL_MAX, &kernel, &img.kernel_len, err) < 0)
		return err_wrap(err, "kernel");
	img.kernel = kernel;
	if (c->initrd) {
		if (read_file(c->initrd, INITRD_MAX, &initrd, &img.initrd_len, err) < 0)
			return err_wrap(err, "initramfs");
		img.initrd = initrd;
	}
	if (c->init) {
		_cleanup_free_ char *init = NULL;
		size_t init_len;

		if (read_file(c->init, INITRD_MAX, &init, &init_len, err) < 0 ||
		    initramfs_append(&initrd, &img.initrd_len, "init", init, init_len, 0100755,
				     err) < 0)
			return err_wrap(err, "the guest's /init");
		img.initrd = initrd;
	}
	if (boot_load(&img, ram, c->mem_bytes, entry, err) < 0)
		return err_wrap(err, "kernel %s", c->kernel);
	return 0;
}

/* ACPI: the virtio-mmio devices the guest is told about. The devices fill
 * this in; until then only the test entry (no device behind it). */
static size_t acpi_devices(const struct vm_devices *d, struct acpi_mmio_device *devs)
{
	size_t i;

	for (i = 0; i < d->n && i < ACPI_MAX_DEVICES; i++)
		devs[i] = (struct acpi_mmio_device){ .base = d->all[i]->base,
						     .size = VIRTIO_MMIO_SIZE,
						     .gsi = d->all[i]->gsi,
						     .edge = d->all[i]->irqfd != NULL };
	return i;
}

_Static_assert(VM_MAX_DEVICES <= ACPI_MAX_DEVICES, "every device of a VM is in its DSDT");

static int write_acpi(const struct linux_vm_config *c, const struct vm_devices *d, void *ram,
		      struct err *err)
{
	struct acpi_mmio_device devs[ACPI_MAX_DEVICES];

	if (acpi_build(ram, c->mem_bytes, c->n_vcpus ? c->n_vcpus : 1, devs, acpi_devices(d, devs),
		       err) < 0)
		return err_wrap(err, "ACPI tables");
	return 0;
}

/* One vCPU thread ended the VM (its status, an error or the timeout): the
 * others leave KVM_RUN, an AP still waiting for its SIPI included. */
static void vcpus_stop(struct linux_vm *vm)
{
	unsigned i;

	for (i = 0; i < vm->n_vcpus; i++) {
		if (!vm->vcpus[i].started)
			continue;
		vm->vcpus[i].vcpu.run->immediate_exit = 1;
		pthread_kill(vm->vcpus[i].thread, SIGALRM);
	}
}

/* A vCPU thread: runs the guest; the first to end records the result and
 * stops the I/O loop. SIGALRM (the boot timeout, and the stop kick) is
 * blocked everywhere else, so it lands here and ends KVM_RUN. */
static void *vcpu_thread(void *arg)
{
	struct vcpu_thread *t = arg;
	struct linux_vm *vm = t->vm;
	struct err err = { 0 };
	sigset_t alrm;
	int r;

	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	r = run_loop(vm, &t->vcpu, vm->timeout_ms, &err);
	pthread_mutex_lock(&vm->io_lock);
	if (!vm->finished) {
		vm->finished = true;
		vm->result = r;
		vm->err = err;
		vcpus_stop(vm);
		vm_devices_stop(&vm->devs);
	}
	pthread_mutex_unlock(&vm->io_lock);
	return NULL;
}

/* Signals for the container's process: the I/O loop reads them here and
 * passes them into the guest, as a runc-supervising process would. */
static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
				 SIGWINCH };

static int run_vcpus(struct linux_vm *vm, struct err *err)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	sigset_t block, old;
	size_t i;
	int e = 0, sfd;

	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	for (i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&block, forwarded[i]);
	sigaddset(&block, VM_SIGNAL_KILL);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	sigdelset(&block, SIGALRM);
	sfd = signalfd(-1, &block, SFD_CLOEXEC);
	sigaction(SIGALRM, &sa, NULL);     /* no SA_RESTART: KVM_RUN returns EINTR */
	pthread_mutex_lock(&vm->io_lock);
	for (i = 0; i < vm->n_vcpus && !vm->finished && !e; i++) {
		e = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
		vm->vcpus[i].started = e == 0;
	}
	if (e && !vm->finished) {
		vm->finished = true;
		vm->result = err_sys(&vm->err, e, "start a vCPU thread");
		vcpus_stop(vm);
		vm_devices_stop(&vm->devs);
	}
	pthread_mutex_unlock(&vm->io_lock);
	vm_devices_io_loop(&vm->devs, sfd);
	for (i = 0; i < vm->n_vcpus; i++)
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
	if (sfd >= 0)
		close(sfd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (vm->result < 0)
		*err = vm->err;
	return vm->result;
}

int linux_vm_run(const struct linux_vm_config *c, struct linux_vm_exit *exit, struct err *err)
{
	struct linux_vm *vm = xmalloc(sizeof(*vm));
	struct boot_entry entry;
	timer_t timer = 0;
	bool timer_armed = false;
	void *ram;
	int r = -1;

	unsigned i;

	memset(vm, 0, sizeof(*vm));
	pthread_mutex_init(&vm->io_lock, NULL);
	pthread_mutex_init(&vm->irq_lock, NULL);
	vm->n_vcpus = c->n_vcpus ? c->n_vcpus : 1;
	if (vm->n_vcpus > LINUX_VM_MAX_VCPUS) {
		free(vm);
		return err_set(err, "at most %d vCPUs", LINUX_VM_MAX_VCPUS);
	}
	for (i = 0; i < vm->n_vcpus; i++) {
		vm->vcpus[i].vm = vm;
		vm->vcpus[i].vcpu.fd = -1;
	}
	vm->kvm.kvm_fd = vm->kvm.vm_fd = -1;
	vm->devs.wake_fd = -1;
	vm->timeout_ms = c->timeout_ms;
	serial_init(&vm->serial, c->serial_fd, c->serial_limit, irq_pulse, vm);
	if (kvm_vm_create(&vm->kvm, true, err) < 0 ||
	    kvm_vm_add_memory(&vm->kvm, 0, c->mem_bytes, c->io && c->io->n_shares > 0, &ram, err) < 0 ||
	    vm_devices_create(&vm->devs, &vm->kvm, c->io, irq_level, vm, err) < 0 ||
	    load_images(c, ram, &entry, err) < 0 ||
	    write_acpi(c, &vm->devs, ram, err) < 0)
		goto out;
	/* vCPU 0 boots the kernel; the others wait for its INIT/SIPI in KVM. */
	for (i = 0; i < vm->n_vcpus; i++)
		if (kvm_vcpu_create(&vm->kvm, (int)i, &vm->vcpus[i].vcpu, err) < 0)
			goto out;
	if (boot_setup_vcpu(&entry, &vm->vcpus[0].vcpu, ram, c->mem_bytes, err) < 0)
		goto out;
	if (arm_timeout(c->timeout_ms, &timer, err) < 0)
		goto out;
	timer_armed = c->timeout_ms != 0;
	if (vmm_seccomp_install(err) < 0)
		goto out;
	r = run_vcpus(vm, err);
	if (r == 0)
		*exit = (struct linux_vm_exit){ .status = vm->status, .oom_killed = vm->oom_killed };
out:
	if (timer_armed)
		timer_delete(timer);
	vm_devices_destroy(&vm->devs);
	for (i = 0; i < vm->n_vcpus; i++)
		kvm_vcpu_destroy(&vm->vcpus[i].vcpu);
	kvm_vm_destroy(&vm->kvm);
	free(vm);
	return r;
}
