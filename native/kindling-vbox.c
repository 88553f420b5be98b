/*
 * kindling-vbox: reads (or deletes) one VirtualBox guest property through the vboxguest driver,
 * for Kindling's -platform virtualbox (src/acquire/providers/virtualbox.ts). Node cannot issue
 * the driver's ioctls, whose HGCM parameters point into the caller's memory, so this small
 * program does it and hands the value over on stdout.
 *
 *   kindling-vbox [-d DEVICE] get NAME      value of NAME on stdout (up to its NUL)
 *   kindling-vbox [-d DEVICE] delete NAME
 *
 * DEVICE defaults to /dev/vboxguest. Exit status:
 *   0  get: the value was written (possibly empty); delete: done (or there was nothing to delete)
 *   1  get: the property does not exist (the host answered VERR_NOT_FOUND)
 *   2  the device does not exist (ENOENT, ENODEV, ENXIO: no VirtualBox, or no vboxguest driver)
 *   3  any other failure; one line on stderr says what failed and the errno or VBox status
 *  64  bad usage
 *
 * The sequence is the one Ignition's provider (and VirtualBox's VbglR3 library) uses: open the
 * device, VBG_IOCTL_DRIVER_VERSION_INFO, VBG_IOCTL_HGCM_CONNECT to "VBoxGuestPropSvc", one or more
 * VBG_IOCTL_HGCM_CALL (GET_PROP with 4 parameters, or DEL_PROP with 1), VBG_IOCTL_HGCM_DISCONNECT,
 * close. The host answers GET_PROP with "value\0flags\0" and the size that needs (parameter 3);
 * when the buffer is too small it answers VERR_BUFFER_OVERFLOW with that size, and the call is
 * repeated with a buffer of that size (again, a few times, should the property grow meanwhile).
 * The layouts and ioctl numbers are the kernel's UAPI (<linux/vboxguest.h>).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vboxguest.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define FN_GET_PROP 1 /* VirtualBox's GuestPropertySvc.h: GUEST_PROP_FN_GET_PROP */
#define FN_DEL_PROP 4 /* GUEST_PROP_FN_DEL_PROP */
#define FIRST_BUFFER 4096
#define MAX_TRIES 8

enum { EXIT_FOUND = 0, EXIT_NOT_SET = 1, EXIT_NO_DEVICE = 2, EXIT_FAILED = 3, EXIT_USAGE = 64 };

static const char *device = "/dev/vboxguest";

/* One line on stderr, then the exit status to use. A negative rc is a VBox status, positive an errno. */
static int fail(const char *what, int rc, int is_errno) {
	if (is_errno)
		fprintf(stderr, "kindling-vbox: %s: %s\n", what, strerror(rc));
	else
		fprintf(stderr, "kindling-vbox: %s: VirtualBox status %d\n", what, rc);
	return EXIT_FAILED;
}

static void header(struct vbg_ioctl_hdr *h, size_t in, size_t out) {
	h->size_in = (uint32_t)(sizeof(*h) + in);
	h->version = VBG_IOCTL_HDR_VERSION;
	h->type = VBG_IOCTL_HDR_TYPE_DEFAULT;
	h->rc = 0;
	h->size_out = (uint32_t)(sizeof(*h) + out);
	h->reserved = 0;
}

static int open_session(int *fd, uint32_t *client) {
	*fd = open(device, O_RDWR | O_CLOEXEC);
	if (*fd < 0) {
		int e = errno;
		fprintf(stderr, "kindling-vbox: open %s: %s\n", device, strerror(e));
		return (e == ENOENT || e == ENODEV || e == ENXIO) ? EXIT_NO_DEVICE : EXIT_FAILED;
	}

	struct vbg_ioctl_driver_version_info ver;
	memset(&ver, 0, sizeof(ver));
	header(&ver.hdr, sizeof(ver.u.in), sizeof(ver.u.out));
	ver.u.in.req_version = VBG_IOC_VERSION;
	ver.u.in.min_version = VBG_IOC_VERSION & 0xffff0000u;
	if (ioctl(*fd, VBG_IOCTL_DRIVER_VERSION_INFO, &ver) != 0)
		return fail("VBG_IOCTL_DRIVER_VERSION_INFO", errno, 1);
	if (ver.hdr.rc < 0)
		return fail("VBG_IOCTL_DRIVER_VERSION_INFO", ver.hdr.rc, 0);

	struct vbg_ioctl_hgcm_connect con;
	memset(&con, 0, sizeof(con));
	header(&con.hdr, sizeof(con.u.in), sizeof(con.u.out));
	con.u.in.loc.type = VMMDEV_HGCM_LOC_LOCALHOST_EXISTING;
	strcpy(con.u.in.loc.u.localhost.service_name, "VBoxGuestPropSvc");
	if (ioctl(*fd, VBG_IOCTL_HGCM_CONNECT, &con) != 0)
		return fail("connecting to VBoxGuestPropSvc", errno, 1);
	if (con.hdr.rc < 0)
		return fail("connecting to VBoxGuestPropSvc", con.hdr.rc, 0);
	*client = con.u.out.client_id;
	return EXIT_FOUND;
}

static int disconnect(int fd, uint32_t client) {
	struct vbg_ioctl_hgcm_disconnect dis;
	memset(&dis, 0, sizeof(dis));
	header(&dis.hdr, sizeof(dis.u.in), 0);
	dis.u.in.client_id = client;
	if (ioctl(fd, VBG_IOCTL_HGCM_DISCONNECT, &dis) != 0)
		return fail("disconnecting from VBoxGuestPropSvc", errno, 1);
	if (dis.hdr.rc < 0)
		return fail("disconnecting from VBoxGuestPropSvc", dis.hdr.rc, 0);
	return EXIT_FOUND;
}

/* An HGCM call message: the call header followed by its 64-bit parameters. */
struct call4 {
	struct vbg_ioctl_hgcm_call call;
	struct vmmdev_hgcm_function_parameter64 parm[4];
};

static void call_header(struct vbg_ioctl_hgcm_call *c, uint32_t client, uint32_t fn, uint16_t nparm) {
	size_t size = sizeof(*c) + nparm * sizeof(struct vmmdev_hgcm_function_parameter64);
	header(&c->hdr, size - sizeof(c->hdr), size - sizeof(c->hdr));
	c->client_id = client;
	c->function = fn;
	c->timeout_ms = UINT32_MAX; /* wait as long as the host takes */
	c->interruptible = 1;
	c->parm_count = nparm;
}

static void name_parm(struct vmmdev_hgcm_function_parameter64 *p, const char *name) {
	p->type = VMMDEV_HGCM_PARM_TYPE_LINADDR_IN;
	p->u.pointer.size = (uint32_t)strlen(name) + 1;
	p->u.pointer.u.linear_addr = (uintptr_t)name;
}

static int write_all(const char *p, size_t n) {
	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return fail("writing the value", errno, 1);
		p += w;
		n -= (size_t)w;
	}
	return EXIT_FOUND;
}

static int get_prop(int fd, uint32_t client, const char *name) {
	uint32_t size = FIRST_BUFFER;
	for (int tries = 0; tries < MAX_TRIES; tries++) {
		char *buf = malloc(size);
		if (buf == NULL)
			return fail("allocating the value buffer", ENOMEM, 1);
		struct call4 m;
		memset(&m, 0, sizeof(m));
		call_header(&m.call, client, FN_GET_PROP, 4);
		name_parm(&m.parm[0], name);
		m.parm[1].type = VMMDEV_HGCM_PARM_TYPE_LINADDR; /* value\0flags\0 (out) */
		m.parm[1].u.pointer.size = size;
		m.parm[1].u.pointer.u.linear_addr = (uintptr_t)buf;
		m.parm[2].type = VMMDEV_HGCM_PARM_TYPE_64BIT; /* timestamp (out) */
		m.parm[3].type = VMMDEV_HGCM_PARM_TYPE_32BIT; /* size needed (out) */
		if (ioctl(fd, VBG_IOCTL_HGCM_CALL_64(sizeof(m)), &m) != 0) {
			int e = errno;
			free(buf);
			return fail("GET_PROP call", e, 1);
		}
		uint32_t needed = m.parm[3].u.value32;
		if (m.call.hdr.rc == VERR_NOT_FOUND) {
			free(buf);
			return EXIT_NOT_SET;
		}
		if (m.call.hdr.rc == VERR_BUFFER_OVERFLOW) {
			free(buf);
			if (needed <= size)
				return fail("GET_PROP reported an overflow without a larger size", VERR_BUFFER_OVERFLOW, 0);
			size = needed;
			continue;
		}
		if (m.call.hdr.rc < 0) {
			free(buf);
			return fail("GET_PROP call", m.call.hdr.rc, 0);
		}
		if (needed > size) {
			free(buf);
			return fail("GET_PROP answered more bytes than the buffer holds", VERR_BUFFER_OVERFLOW, 0);
		}
		/* "value\0flags\0": only the value is wanted. */
		char *nul = memchr(buf, '\0', needed);
		if (nul == NULL) {
			free(buf);
			fprintf(stderr, "kindling-vbox: the value of %s is not NUL-terminated\n", name);
			return EXIT_FAILED;
		}
		int r = write_all(buf, (size_t)(nul - buf));
		free(buf);
		return r;
	}
	return fail("GET_PROP: the property kept growing", VERR_BUFFER_OVERFLOW, 0);
}

static int del_prop(int fd, uint32_t client, const char *name) {
	struct {
		struct vbg_ioctl_hgcm_call call;
		struct vmmdev_hgcm_function_parameter64 parm[1];
	} m;
	memset(&m, 0, sizeof(m));
	call_header(&m.call, client, FN_DEL_PROP, 1);
	name_parm(&m.parm[0], name);
	if (ioctl(fd, VBG_IOCTL_HGCM_CALL_64(sizeof(m)), &m) != 0)
		return fail("DEL_PROP call", errno, 1);
	if (m.call.hdr.rc == VERR_PERMISSION_DENIED) {
		fprintf(stderr, "kindling-vbox: deleting %s: permission denied; is the property read-only?\n", name);
		return EXIT_FAILED;
	}
	if (m.call.hdr.rc < 0)
		return fail("DEL_PROP call", m.call.hdr.rc, 0);
	return EXIT_FOUND;
}

static int usage(void) {
	fprintf(stderr, "usage: kindling-vbox [-d DEVICE] get|delete NAME\n");
	return EXIT_USAGE;
}

int main(int argc, char **argv) {
	int i = 1;
	if (i + 1 < argc && strcmp(argv[i], "-d") == 0) {
		device = argv[i + 1];
		i += 2;
	}
	if (argc - i != 2)
		return usage();
	const char *op = argv[i], *name = argv[i + 1];
	int get = strcmp(op, "get") == 0;
	if (!get && strcmp(op, "delete") != 0)
		return usage();
	/* The host limits names to 64 bytes with the NUL; anything longer is refused here already. */
	if (name[0] == '\0' || strlen(name) >= 64) {
		fprintf(stderr, "kindling-vbox: bad property name\n");
		return EXIT_USAGE;
	}

	int fd = -1;
	uint32_t client = 0;
	int r = open_session(&fd, &client);
	if (r != EXIT_FOUND) {
		if (fd >= 0)
			close(fd);
		return r;
	}
	r = get ? get_prop(fd, client, name) : del_prop(fd, client, name);
	int d = disconnect(fd, client);
	close(fd);
	/* As in Ignition, a failed disconnect fails the whole read: better noticed than ignored. */
	return r != EXIT_FOUND ? r : d;
}
