/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libxensim.so: /dev/xen/privcmd for processes that map guest memory themselves — a
 * vhost-user back-end given F_XEN_MMAP regions maps each region's privcmd fd and issues
 * IOCTL_PRIVCMD_MMAPBATCH_V2 with the guest's frame numbers and domid (FACTS 11; rust-vmm
 * vm-memory's MmapXenForeign). Design (tests/xensim/README.md):
 *
 *  - open("/dev/xen/privcmd") (open, open64, openat, their _2 fortify forms) returns a
 *    new connection to the simulated hypervisor, of kind XSIM_KIND_PRIVCMD, whose own end
 *    is bound to the abstract address "\0xensim-privcmd/<pid>/<n>". A socket survives
 *    SCM_RIGHTS, so the fd can travel from xvdm to a back-end, and any process holding it
 *    recognises it with getsockname(). Every other path goes to libc.
 *  - mmap() of such an fd reserves address space (PROT_NONE), as privcmd_mmap() makes an
 *    empty VM_PFNMAP area. Other mmap() calls go to libc.
 *  - ioctl(IOCTL_PRIVCMD_MMAPBATCH_V2) follows privcmd_ioctl_mmap_batch(): the first
 *    call on an area must cover it exactly, later ones only its unmapped holes; each
 *    frame that is guest RAM is mapped from the hypervisor's RAM memfd (MAP_FIXED, runs
 *    of consecutive frames in one mmap); a frame that is not gets err[i] = -EINVAL and
 *    stays inaccessible; err[] is written only if some frame failed; the call returns 0.
 *    The hypervisor logs each batch (HV_EV_PRIVCMD_MAP, with the caller's pid).
 *    IOCTL_PRIVCMD_RESTRICT is kept per fd, as Linux keeps it per open file.
 *    IOCTL_PRIVCMD_IRQFD/IOEVENTFD go to xensim-kevt.c (ENOTTY unless
 *    XENSIM_PRIVCMD_EVENTFD=1). Other privcmd ioctls fail with ENOSYS and a "not
 *    simulated" line.
 *  - munmap() forgets the areas it touches (a partial unmap forgets the whole area).
 *
 * Differences from Linux: touching an unmapped page of an area is SIGSEGV, not SIGBUS;
 * paged-out frames (-ENOENT) do not exist. Plain libc only: this lives inside someone
 * else's process. Trust boundary: the caller's arguments are checked as privcmd does.
 */
#undef _FORTIFY_SOURCE	 /* we define open() itself */
#undef _FILE_OFFSET_BITS /* ... and open64(): no redirection of one to the other */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/backends/privcmd-abi.h"
#include "xen/privcmd-evt-abi.h"
#include "tests/xensim/xensim.h"

#define PAGE 4096ULL

/* One privcmd mapping (a VM_PFNMAP area in Linux). */
struct area {
	uintptr_t start;
	size_t len; /* a multiple of PAGE */
	int prot;
	bool populated;	 /* a batch was mapped (vm_private_data != NULL) */
	uint8_t *mapped; /* one bit per page */
	struct area *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct area *areas;
static unsigned open_count;

/* libc's definition, found once (a racing second lookup finds the same pointer). */
static void *next_sym(void **slot, const char *name)
{
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (!p) {
		p = dlsym(RTLD_NEXT, name);
		__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	}
	return p;
}

#define NEXT(type, name)                              \
	({                                            \
		static void *slot_##name;             \
		(type) next_sym(&slot_##name, #name); \
	})

static void *real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *(*fn)(void *, size_t, int, int, int, off_t) =
		NEXT(void *(*)(void *, size_t, int, int, int, off_t), mmap);

	if (fn)
		return fn(addr, len, prot, flags, fd, off);
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static int real_munmap(void *addr, size_t len)
{
	int (*fn)(void *, size_t) = NEXT(int (*)(void *, size_t), munmap);

	return fn ? fn(addr, len) : (int)syscall(SYS_munmap, addr, len);
}

/* --- recognising an emulated privcmd fd --- */

static bool privcmd_path(const char *path)
{
	const char *sock = getenv(XSIM_ENV_SOCKET);

	return path && sock && *sock && !strcmp(path, PRIVCMD_DEV);
}

static bool privcmd_fd(int fd)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	size_t n = strlen(XSIM_PRIVCMD_NAME);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0 || sa.sun_family != AF_UNIX)
		return false;
	return len >= offsetof(struct sockaddr_un, sun_path) + 1 + n && sa.sun_path[0] == '\0' &&
	       !memcmp(sa.sun_path + 1, XSIM_PRIVCMD_NAME, n);
}

/* --- open --- */

static int privcmd_open(int flags)
{
	struct xsim_conn c;
	char name[64];
	int ret;

	snprintf(name, sizeof(name), XSIM_PRIVCMD_NAME "%d/%u", (int)getpid(),
		 __atomic_fetch_add(&open_count, 1, __ATOMIC_RELAXED));
	ret = xsim_conn_open_named(&c, XSIM_KIND_PRIVCMD, name);
	if (ret < 0)
		return xsim_fail(ret);
	pthread_mutex_destroy(&c.lock);
	if (!(flags & O_CLOEXEC) && fcntl(c.fd, F_SETFD, 0) < 0) {
		ret = -errno;
		close(c.fd);
		return xsim_fail(ret);
	}
	return c.fd;
}

static mode_t va_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

#define OPEN_LIKE(name)                                                                \
	int name(const char *path, int flags, ...)                                     \
	{                                                                              \
		va_list ap;                                                            \
		mode_t mode;                                                           \
                                                                                       \
		va_start(ap, flags);                                                   \
		mode = va_mode(flags, ap);                                             \
		va_end(ap);                                                            \
		if (privcmd_path(path))                                                \
			return privcmd_open(flags);                                    \
		return NEXT(int (*)(const char *, int, ...), name)(path, flags, mode); \
	}

#define OPENAT_LIKE(name)                                                                          \
	int name(int dirfd, const char *path, int flags, ...)                                      \
	{                                                                                          \
		va_list ap;                                                                        \
		mode_t mode;                                                                       \
                                                                                                   \
		va_start(ap, flags);                                                               \
		mode = va_mode(flags, ap);                                                         \
		va_end(ap);                                                                        \
		if (privcmd_path(path))                                                            \
			return privcmd_open(flags);                                                \
		return NEXT(int (*)(int, const char *, int, ...), name)(dirfd, path, flags, mode); \
	}

#define OPEN_2_LIKE(name)                                                   \
	int name(const char *path, int flags)                               \
	{                                                                   \
		if (privcmd_path(path))                                     \
			return privcmd_open(flags);                         \
		return NEXT(int (*)(const char *, int), name)(path, flags); \
	}

#define OPENAT_2_LIKE(name)                                                             \
	int name(int dirfd, const char *path, int flags)                                \
	{                                                                               \
		if (privcmd_path(path))                                                 \
			return privcmd_open(flags);                                     \
		return NEXT(int (*)(int, const char *, int), name)(dirfd, path, flags); \
	}

/* The fortify entry points have no prototypes in the headers we include. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

OPEN_LIKE(open)
OPEN_LIKE(open64)
OPENAT_LIKE(openat)
OPENAT_LIKE(openat64)
OPEN_2_LIKE(__open_2)
OPEN_2_LIKE(__open64_2)
OPENAT_2_LIKE(__openat_2)
OPENAT_2_LIKE(__openat64_2)

/* --- mmap / munmap --- */

static void area_free(struct area *a)
{
	free(a->mapped);
	free(a);
}

/* Forget the areas that [start, start + len) touches (lock held). */
static void forget(uintptr_t start, size_t len)
{
	struct area **p = &areas;

	while (*p) {
		struct area *a = *p;

		if (start < a->start + a->len && a->start < start + len) {
			*p = a->next;
			area_free(a);
		} else {
			p = &a->next;
		}
	}
}

static void *privcmd_mmap(void *addr, size_t len, int prot, int flags)
{
	size_t rlen = (len + PAGE - 1) & ~(PAGE - 1);
	struct area *a;
	void *p;

	if (!len || rlen < len) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	a = calloc(1, sizeof(*a));
	if (a)
		a->mapped = calloc(rlen / PAGE / 8 + 1, 1);
	if (!a || !a->mapped) {
		free(a);
		errno = ENOMEM;
		return MAP_FAILED;
	}
	p = real_mmap(addr, rlen, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			      (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)),
		      -1, 0);
	if (p == MAP_FAILED) {
		area_free(a);
		return MAP_FAILED;
	}
	a->start = (uintptr_t)p;
	a->len = rlen;
	a->prot = prot;
	pthread_mutex_lock(&lock);
	forget(a->start, a->len); /* MAP_FIXED replaced whatever was there */
	a->next = areas;
	areas = a;
	pthread_mutex_unlock(&lock);
	return p;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (fd < 0 || (flags & MAP_ANONYMOUS) || !privcmd_fd(fd))
		return real_mmap(addr, len, prot, flags, fd, off);
	return privcmd_mmap(addr, len, prot, flags);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

int munmap(void *addr, size_t len)
{
	int ret = real_munmap(addr, len);

	if (!ret && __atomic_load_n(&areas, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&lock);
		forget((uintptr_t)addr, len);
		pthread_mutex_unlock(&lock);
	}
	return ret;
}

/* --- ioctl --- */

static bool page_mapped(const struct area *a, size_t pg)
{
	return a->mapped[pg / 8] & (1u << (pg % 8));
}

/* The area of addr and the page index of addr in it, per privcmd's rules (lock held). */
static struct area *batch_area(uint64_t addr, uint64_t pages, size_t *ret_first)
{
	struct area *a;

	for (a = areas; a; a = a->next) {
		if (addr >= a->start && addr < a->start + a->len)
			break;
	}
	if (!a || addr % PAGE || pages > (a->start + a->len - addr) / PAGE)
		return NULL;
	if (!a->populated && (addr != a->start || pages * PAGE != a->len))
		return NULL; /* the first batch maps the whole area */
	*ret_first = (addr - a->start) / PAGE;
	for (size_t i = 0; i < pages; i++) {
		if (page_mapped(a, *ret_first + i))
			return NULL; /* later batches fill holes only */
	}
	return a;
}

static const struct xsim_bank *bank_of(const struct xsim_bank *b, unsigned n, uint64_t pfn)
{
	uint64_t gpa = pfn * PAGE;

	for (unsigned i = 0; pfn <= UINT64_MAX / PAGE && i < n; i++) {
		if (gpa >= b[i].gpa && gpa - b[i].gpa < b[i].size)
			return &b[i];
	}
	return NULL;
}

/* Map frames [i, j) that are consecutive in one bank; returns j. */
static size_t map_run(struct area *a, size_t first, const struct privcmd_mmapbatch_v2 *m,
		      const struct xsim_bank *banks, unsigned nb, int ramfd, int *err, size_t i)
{
	const struct xsim_bank *b = bank_of(banks, nb, m->arr[i]);
	uint64_t gpa = m->arr[i] * PAGE;
	size_t j = i + 1;
	void *p;

	if (!b) {
		err[i] = -EINVAL; /* not guest RAM */
		return j;
	}
	while (j < m->num && m->arr[j] == m->arr[j - 1] + 1 &&
	       gpa + (j - i) * PAGE - b->gpa < b->size)
		j++;
	p = real_mmap((void *)(uintptr_t)(m->addr + i * PAGE), (j - i) * PAGE, a->prot,
		      MAP_SHARED | MAP_FIXED, ramfd, (off_t)(b->offset + gpa - b->gpa));
	for (size_t k = i; k < j; k++) {
		err[k] = p == MAP_FAILED ? -errno : 0;
		if (p != MAP_FAILED)
			a->mapped[(first + k) / 8] |= 1u << ((first + k) % 8);
	}
	return j;
}

/* Ask the hypervisor for the domain's RAM over the privcmd connection itself. */
static int get_ram(int fd, const struct privcmd_mmapbatch_v2 *m, struct xsim_bank *banks,
		   unsigned *ret_n, int *ret_ramfd)
{
	struct xsim_req req = { .op = XSIM_OP_PRIVCMD_MAP,
				.domid = m->dom,
				.arg = { m->arr[0], m->num, (uint64_t)getpid() } };
	struct xsim_conn c = { .fd = fd };
	struct xsim_reply r;
	uint64_t n;
	int ret;

	pthread_mutex_init(&c.lock, NULL);
	ret = xsim_call(&c, &req, NULL, 0, &r);
	pthread_mutex_destroy(&c.lock);
	n = r.hdr.val[0];
	if (!ret && (n > XSIM_MAX_BANKS || r.hdr.len != n * sizeof(*banks) || r.nfds != 1))
		ret = -EIO;
	if (!ret) {
		memcpy(banks, r.data, r.hdr.len);
		*ret_n = (unsigned)n;
		*ret_ramfd = r.fds[0];
		r.fds[0] = -1;
	}
	xsim_reply_fini(&r);
	return ret;
}

static int mmapbatch(int fd, const struct privcmd_mmapbatch_v2 *m)
{
	struct xsim_bank banks[XSIM_MAX_BANKS];
	unsigned nb = 0, failed = 0;
	int ramfd = -1, ret, *err;
	size_t first = 0;
	struct area *a;

	if (!m->num || m->num > INT_MAX || !m->arr)
		return -EINVAL;
	err = calloc(m->num, sizeof(*err));
	if (!err)
		return -ENOMEM;
	pthread_mutex_lock(&lock);
	a = batch_area(m->addr, m->num, &first);
	ret = a ? get_ram(fd, m, banks, &nb, &ramfd) : -EINVAL;
	if (ret == -ESRCH) {
		for (size_t i = 0; i < m->num; i++)
			err[i] = -ESRCH; /* no such domain: every frame fails */
		ret = 0;
	} else if (!ret) {
		for (size_t i = 0; i < m->num;)
			i = map_run(a, first, m, banks, nb, ramfd, err, i);
		close(ramfd);
	}
	if (!ret)
		a->populated = true;
	pthread_mutex_unlock(&lock);
	for (size_t i = 0; !ret && i < m->num; i++)
		failed += err[i] != 0;
	if (!ret && failed) {
		if (m->err)
			memcpy(m->err, err, m->num * sizeof(*err));
		else
			ret = -EFAULT;
	}
	free(err);
	return ret;
}

static int restrict_fd(int fd, const uint16_t *domid)
{
	struct xsim_conn c = { .fd = fd };
	struct xsim_reply r;
	struct xsim_req req = { .op = XSIM_OP_RESTRICT };
	int ret;

	if (!domid)
		return -EFAULT;
	req.domid = *domid;
	pthread_mutex_init(&c.lock, NULL);
	ret = xsim_call(&c, &req, NULL, 0, &r);
	pthread_mutex_destroy(&c.lock);
	xsim_reply_fini(&r);
	return ret;
}

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	int ret;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (_IOC_TYPE(req) != 'P' || !privcmd_fd(fd))
		return NEXT(int (*)(int, unsigned long, ...), ioctl)(fd, req, arg);
	if (req == IOCTL_PRIVCMD_MMAPBATCH_V2) {
		if (!arg)
			return xsim_fail(-EFAULT);
		ret = mmapbatch(fd, arg);
	} else if (req == IOCTL_PRIVCMD_RESTRICT) {
		ret = restrict_fd(fd, arg);
	} else if (req == XH_IOCTL_PRIVCMD_IRQFD || req == XH_IOCTL_PRIVCMD_IOEVENTFD) {
		ret = xsim_kevt_ioctl(fd, req, arg); /* xensim-kevt.c */
	} else {
		fprintf(stderr, "xensim: privcmd ioctl 0x%lx is not simulated\n", req);
		ret = -ENOSYS;
	}
	return ret < 0 ? xsim_fail(ret) : 0;
}
