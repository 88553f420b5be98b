/*
 * Test stand-in for the vboxguest driver and VirtualBox's guest property service (host side),
 * loaded into kindling-vbox with LD_PRELOAD (test/providers/virtualbox.test.ts compiles it).
 *
 * open() of $VBOXSHIM_DEVICE returns a descriptor (a memfd) that stands for the device;
 * ioctl() on it is answered as the Linux driver (drivers/virt/vboxguest) and the host service
 * (VBoxGuestPropSvc.cpp) would: every request is checked byte by byte against the layouts of
 * <linux/vboxguest.h>, written out here as raw offsets and literal ioctl numbers rather than
 * taken from that header, so a layout mistake in the helper cannot be mirrored here. A request
 * the driver would refuse fails with EINVAL (as the driver does) and a "VIOLATION" line in the log.
 *
 * Environment:
 *   VBOXSHIM_DEVICE  the path that is the device (nothing else is intercepted)
 *   VBOXSHIM_PROPS   the host's properties: records "name\0value\0flags\0"; DEL_PROP rewrites it
 *   VBOXSHIM_LOG     one line per operation is appended here
 *   VBOXSHIM_FAULT   version=RC | connect=RC | get=RC | disconnect=RC (the host answers RC),
 *                    get-errno=N (the GET_PROP ioctl fails with errno N),
 *                    grow=BYTES (after its first overflow answer the property grows by BYTES
 *                    spaces, so the next answer overflows again)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define IOC_VERSION_INFO 0xC02C5600u /* _IOWR('V', 0, 24 + 20 bytes) */
#define IOC_CONNECT 0xC09C5604u      /* _IOWR('V', 4, 24 + 132) */
#define IOC_DISCONNECT 0xC01C5605u   /* _IOWR('V', 5, 24 + 4) */
#define IOC_CALL64_BASE 0xC0005607u  /* _IOC(R|W, 'V', 7, size) */
#define IOC_CALL32_BASE 0xC0005606u
#define HDR 24
#define CALL_HDR 40 /* hdr + client_id, function, timeout_ms, interruptible, reserved, parm_count */
#define PARM 16     /* packed: type u32, then value32 | value64 | {size u32, linear_addr u64} */

#define VERR_INVALID_PARAMETER (-2)
#define VERR_PERMISSION_DENIED (-10)
#define VERR_VERSION_MISMATCH (-11)
#define VERR_NOT_IMPLEMENTED (-12)
#define VERR_BUFFER_OVERFLOW (-41)
#define VERR_NOT_FOUND (-78)
#define VERR_HGCM_SERVICE_NOT_FOUND (-2900)

struct prop {
	char *name, *value, *flags;
};

static struct prop props[64];
static int nprops = -1;
static int dev_fd = -1;
static uint32_t clients[64];
static uint32_t next_client = 42;
static int grown;

static void logf_(const char *fmt, ...) {
	const char *path = getenv("VBOXSHIM_LOG");
	if (!path)
		return;
	FILE *f = fopen(path, "a");
	if (!f)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

static int violation(const char *what) {
	logf_("VIOLATION: %s", what);
	errno = EINVAL;
	return -1;
}

/* VBOXSHIM_FAULT "key=value": the value for this key, or NULL. */
static const char *fault(const char *key) {
	const char *f = getenv("VBOXSHIM_FAULT");
	size_t n = strlen(key);
	if (f && strncmp(f, key, n) == 0 && f[n] == '=')
		return f + n + 1;
	return NULL;
}

static void load_props(void) {
	nprops = 0;
	const char *path = getenv("VBOXSHIM_PROPS");
	FILE *f = path ? fopen(path, "rb") : NULL;
	if (!f)
		return;
	static char data[1 << 24];
	size_t n = fread(data, 1, sizeof(data) - 1, f);
	fclose(f);
	size_t i = 0;
	while (i < n && nprops < 64) {
		char *fields[3];
		for (int k = 0; k < 3; k++) {
			fields[k] = strdup(data + i);
			i += strlen(data + i) + 1;
		}
		props[nprops++] = (struct prop){fields[0], fields[1], fields[2]};
	}
}

static void save_props(void) {
	const char *path = getenv("VBOXSHIM_PROPS");
	FILE *f = path ? fopen(path, "wb") : NULL;
	if (!f)
		return;
	for (int i = 0; i < nprops; i++)
		if (props[i].name)
			fprintf(f, "%s%c%s%c%s%c", props[i].name, 0, props[i].value, 0, props[i].flags, 0);
	fclose(f);
}

static struct prop *find_prop(const char *name) {
	for (int i = 0; i < nprops; i++)
		if (props[i].name && strcmp(props[i].name, name) == 0)
			return &props[i];
	return NULL;
}

static uint32_t u32(const unsigned char *p, size_t off) {
	uint32_t v;
	memcpy(&v, p + off, 4);
	return v;
}
static uint64_t u64(const unsigned char *p, size_t off) {
	uint64_t v;
	memcpy(&v, p + off, 8);
	return v;
}
static void put32(unsigned char *p, size_t off, uint32_t v) { memcpy(p + off, &v, 4); }
static void put64(unsigned char *p, size_t off, uint64_t v) { memcpy(p + off, &v, 8); }

static int client_slot(uint32_t id) {
	for (int i = 0; i < 64; i++)
		if (clients[i] == id && id != 0)
			return i;
	return -1;
}

static int fault_rc(const char *key, int rc) {
	const char *v = fault(key);
	return v ? atoi(v) : rc;
}

/* The common header checks of vbg_misc_device_ioctl and vbg_core_ioctl. */
static int check_header(unsigned long req, unsigned char *m, uint32_t want_in, uint32_t want_out) {
	if (u32(m, 4) != 0x10001)
		return violation("header version is not 0x10001");
	uint32_t in = u32(m, 0), out = u32(m, 16);
	if (in < HDR || (out && out < HDR))
		return violation("header sizes below 24");
	uint32_t size = in > out ? in : out;
	if (((req >> 16) & 0x3fff) != size)
		return violation("the ioctl number's size is not max(size_in, size_out)");
	if (u32(m, 8) != 0)
		return violation("header type is not VBG_IOCTL_HDR_TYPE_DEFAULT");
	if (u32(m, 20) != 0)
		return violation("header reserved field is not zero");
	if (want_in && (in != want_in || out != want_out)) {
		char why[96];
		snprintf(why, sizeof(why), "sizes in/out %u/%u, expected %u/%u", in, out, want_in, want_out);
		return violation(why);
	}
	put32(m, 12, 0); /* rc = VINF_SUCCESS */
	return 0;
}

static int version_info(unsigned long req, unsigned char *m) {
	if (check_header(req, m, HDR + 16, HDR + 20))
		return -1;
	uint32_t reqv = u32(m, 24), minv = u32(m, 28);
	if (u32(m, 32) || u32(m, 36))
		return violation("version info reserved fields are not zero");
	if (minv > reqv || (minv >> 16) != (reqv >> 16))
		return violation("bad version range");
	int rc = fault_rc("version", (minv <= 0x10000 && (minv >> 16) == 1) ? 0 : VERR_VERSION_MISMATCH);
	put32(m, 12, (uint32_t)rc);
	put32(m, 24, rc == 0 ? 0x10000 : 0xffffffffu); /* session_version */
	put32(m, 28, 0x10000);                         /* driver_version */
	put32(m, 32, 0);
	put32(m, 36, 0);
	put32(m, 40, 0);
	logf_("version req=0x%x min=0x%x -> rc=%d", reqv, minv, rc);
	return 0;
}

static int hgcm_connect(unsigned long req, unsigned char *m) {
	if (check_header(req, m, HDR + 132, HDR + 4))
		return -1;
	uint32_t type = u32(m, 24);
	char name[129];
	memcpy(name, m + 28, 128);
	name[128] = 0;
	if (memchr(m + 28, 0, 128) == NULL)
		return violation("service name is not NUL-terminated within 128 bytes");
	int rc;
	if (type != 2)
		rc = VERR_INVALID_PARAMETER; /* only VMMDEV_HGCM_LOC_LOCALHOST_EXISTING from a guest */
	else if (strcmp(name, "VBoxGuestPropSvc") != 0)
		rc = VERR_HGCM_SERVICE_NOT_FOUND;
	else
		rc = fault_rc("connect", 0);
	uint32_t id = 0;
	if (rc >= 0) {
		int slot;
		for (slot = 0; slot < 64 && clients[slot]; slot++)
			;
		if (slot == 64) {
			errno = EMFILE;
			return -1;
		}
		id = next_client++;
		clients[slot] = id;
	}
	put32(m, 12, (uint32_t)rc);
	put32(m, 24, id);
	logf_("connect type=%u %s -> client=%u rc=%d", type, name, id, rc);
	return 0;
}

static int hgcm_disconnect(unsigned long req, unsigned char *m) {
	if (check_header(req, m, HDR + 4, HDR))
		return -1;
	uint32_t id = u32(m, 24);
	int slot = client_slot(id);
	if (id == 0 || id == UINT32_MAX || slot < 0)
		return violation("disconnect of a client id this session does not hold");
	int rc = fault_rc("disconnect", 0);
	if (rc >= 0)
		clients[slot] = 0;
	put32(m, 12, (uint32_t)rc);
	logf_("disconnect client=%u -> rc=%d", id, rc);
	return 0;
}

/* A NUL-terminated name in a LINADDR/LINADDR_IN parameter, as HGCMSvcGetCStr and GuestPropValidateName want. */
static const char *name_parm(unsigned char *p, int *rc) {
	uint32_t type = u32(p, 0), size = u32(p, 4);
	const char *s = (const char *)(uintptr_t)u64(p, 8);
	if (type != 5 && type != 4) {
		*rc = VERR_INVALID_PARAMETER;
		return NULL;
	}
	if (size == 0 || s == NULL || s[size - 1] != 0 || strlen(s) != size - 1 || size > 64 || strpbrk(s, "*?|")) {
		*rc = VERR_INVALID_PARAMETER;
		return NULL;
	}
	return s;
}

static int hgcm_call(unsigned long req, unsigned char *m) {
	if (check_header(req, m, 0, 0))
		return -1;
	uint32_t in = u32(m, 0), out = u32(m, 16);
	uint32_t id = u32(m, 24), fn = u32(m, 28);
	uint16_t nparm;
	memcpy(&nparm, m + 38, 2);
	if (in < CALL_HDR)
		return violation("call smaller than its header");
	if (in != out)
		return violation("call size_in != size_out");
	if (nparm > 32)
		return violation("more than 32 parameters");
	if (id == 0 || id == UINT32_MAX || client_slot(id) < 0)
		return violation("call on a client id this session does not hold");
	if (in < (uint32_t)(CALL_HDR + nparm * PARM))
		return violation("call smaller than its parameters");
	if (m[37] != 0)
		return violation("call reserved byte is not zero");
	for (int i = 0; i < nparm; i++) {
		uint32_t t = u32(m, CALL_HDR + i * PARM);
		if (t != 1 && t != 2 && t != 4 && t != 5 && t != 6)
			return violation("parameter type a user process may not pass");
	}
	put32(m, 16, CALL_HDR + nparm * PARM);
	unsigned char *p = m + CALL_HDR;
	int rc = 0;

	if (fn == 1) { /* GET_PROP: name (in), buffer (out), timestamp (out), size (out) */
		const char *errno_fault = fault("get-errno");
		if (errno_fault) {
			logf_("call GET_PROP -> errno %s", errno_fault);
			errno = atoi(errno_fault);
			return -1;
		}
		if (nparm != 4) {
			logf_("VIOLATION: GET_PROP needs 4 parameters");
			put32(m, 12, (uint32_t)VERR_INVALID_PARAMETER);
			return 0;
		}
		const char *name = name_parm(p, &rc);
		uint32_t btype = u32(p, PARM), bsize = u32(p, PARM + 4);
		char *buf = (char *)(uintptr_t)u64(p, PARM + 8);
		if (btype != 4 && btype != 6) {
			logf_("VIOLATION: GET_PROP value buffer is not LINADDR/LINADDR_OUT");
			rc = VERR_INVALID_PARAMETER;
		}
		if (u32(p, 2 * PARM) != 2 || u32(p, 3 * PARM) != 1) {
			logf_("VIOLATION: GET_PROP timestamp/size parameters are not 64BIT/32BIT");
			rc = VERR_INVALID_PARAMETER;
		}
		if (bsize && !buf) {
			logf_("VIOLATION: GET_PROP buffer without an address");
			rc = VERR_INVALID_PARAMETER;
		}
		uint32_t needed = 0;
		if (rc == 0) {
			struct prop *pr = find_prop(name);
			rc = fault_rc("get", 0);
			if (rc == 0 && !pr)
				rc = VERR_NOT_FOUND;
			if (rc == 0) {
				size_t cv = strlen(pr->value) + 1, cf = strlen(pr->flags) + 1;
				needed = (uint32_t)(cv + cf);
				put32(p, 3 * PARM, 1);
				put32(p, 3 * PARM + 4, needed);
				if (bsize >= needed) {
					memcpy(buf, pr->value, cv);
					memcpy(buf + cv, pr->flags, cf);
					put32(p, 2 * PARM, 2);
					put64(p, 2 * PARM + 4, 1764403200000000000ull);
				} else {
					rc = VERR_BUFFER_OVERFLOW;
					const char *g = fault("grow");
					if (g && !grown) {
						grown = 1;
						size_t add = (size_t)atol(g), old = strlen(pr->value);
						char *v = malloc(old + add + 1);
						memcpy(v, pr->value, old);
						memset(v + old, ' ', add);
						v[old + add] = 0;
						pr->value = v;
					}
				}
			}
		}
		put32(m, 12, (uint32_t)rc);
		logf_("call GET_PROP name=%s buf=%u -> rc=%d needed=%u", name ? name : "?", bsize, rc, needed);
		return 0;
	}
	if (fn == 4) { /* DEL_PROP: name (in) */
		if (nparm != 1) {
			logf_("VIOLATION: DEL_PROP needs 1 parameter");
			put32(m, 12, (uint32_t)VERR_INVALID_PARAMETER);
			return 0;
		}
		const char *name = name_parm(p, &rc);
		if (rc == 0) {
			struct prop *pr = find_prop(name);
			if (pr && (strstr(pr->flags, "RDONLYGUEST") || strstr(pr->flags, "READONLY")))
				rc = VERR_PERMISSION_DENIED;
			else if (pr) {
				pr->name = NULL;
				save_props();
			}
		}
		put32(m, 12, (uint32_t)rc);
		logf_("call DEL_PROP name=%s -> rc=%d", name ? name : "?", rc);
		return 0;
	}
	put32(m, 12, (uint32_t)VERR_NOT_IMPLEMENTED);
	logf_("call function=%u -> rc=%d", fn, VERR_NOT_IMPLEMENTED);
	return 0;
}

static int is_device(const char *path) {
	const char *dev = getenv("VBOXSHIM_DEVICE");
	return dev && path && strcmp(path, dev) == 0;
}

static int open_device(const char *path, int flags) {
	if (nprops < 0)
		load_props();
	if ((flags & O_ACCMODE) != O_RDWR)
		logf_("VIOLATION: device opened without O_RDWR");
	/* A memfd stands for the device: no /dev/null needed, so this also works in a bare chroot. */
	dev_fd = memfd_create("vboxguest", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	logf_("open %s cloexec=%d", path, (flags & O_CLOEXEC) ? 1 : 0);
	return dev_fd;
}

int open(const char *path, int flags, ...) {
	mode_t mode = 0;
	if (flags & O_CREAT) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (is_device(path))
		return open_device(path, flags);
	static int (*real)(const char *, int, ...);
	if (!real)
		real = dlsym(RTLD_NEXT, "open");
	return real(path, flags, mode);
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...) {
	mode_t mode = 0;
	if (flags & O_CREAT) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (is_device(path))
		return open_device(path, flags);
	static int (*real)(int, const char *, int, ...);
	if (!real)
		real = dlsym(RTLD_NEXT, "openat");
	return real(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

int ioctl(int fd, unsigned long req, ...) {
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (fd != dev_fd || dev_fd < 0) {
		static int (*real)(int, unsigned long, ...);
		if (!real)
			real = dlsym(RTLD_NEXT, "ioctl");
		return real(fd, req, arg);
	}
	unsigned char *m = arg;
	uint32_t r = (uint32_t)req;
	if (r == IOC_VERSION_INFO)
		return version_info(req, m);
	if (r == IOC_CONNECT)
		return hgcm_connect(req, m);
	if (r == IOC_DISCONNECT)
		return hgcm_disconnect(req, m);
	if ((r & ~0x3fff0000u) == IOC_CALL64_BASE)
		return hgcm_call(req, m);
	if ((r & ~0x3fff0000u) == IOC_CALL32_BASE)
		return violation("32-bit HGCM call from a 64-bit process");
	logf_("VIOLATION: unknown ioctl 0x%lx", req);
	errno = ENOTTY;
	return -1;
}

int close(int fd) {
	static int (*real)(int);
	if (!real)
		real = dlsym(RTLD_NEXT, "close");
	if (fd == dev_fd && dev_fd >= 0) {
		int connected = 0;
		for (int i = 0; i < 64; i++)
			connected += clients[i] != 0;
		logf_("close connected=%d", connected);
		dev_fd = -1;
	}
	return real(fd);
}
