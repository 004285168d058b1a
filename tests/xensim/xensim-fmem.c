/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libxensim.so: libxenforeignmemory. Guest RAM is a memfd owned by the simulated
 * hypervisor; a foreign mapping reserves address space and maps each requested page
 * of the memfd there (MAP_FIXED), so a batch of scattered pfns gives one contiguous
 * virtual range, as privcmd does. The ioreq page of a server is a memfd too.
 *
 * Semantics kept from the real library on Linux (privcmd MMAPBATCH_V2):
 *  - with err[] the call succeeds and reports a per-page error; a page that failed
 *    stays inaccessible (PROT_NONE) in the returned range;
 *  - without err[] any failed page fails the whole call (NULL, errno = that error);
 *  - simulator choice: when every page fails, the call returns NULL with errno set.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xenforeignmemory.h>
#include <xen/memory.h>

#include "tests/xensim/xensim.h"

struct xenforeignmemory_handle {
	struct xsim_conn conn;
};

struct xenforeignmemory_resource_handle {
	void *addr;
	unsigned long nr_frames;
	uint32_t domid, type, id;
	struct xenforeignmemory_resource_handle *next; /* the mapped resources (resources) */
};

/*
 * Every mapped resource, for the emulated privcmd ioeventfd (xensim-kevt.c): the kernel
 * finds the ioreq page by its address in the caller's mappings (find_vma).
 */
static pthread_mutex_t res_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xenforeignmemory_resource_handle *resources;

int xsim_fmem_resource_at(const void *addr, uint32_t *ret_domid, uint32_t *ret_type,
			  uint32_t *ret_id)
{
	int ret = -EFAULT;

	pthread_mutex_lock(&res_lock);
	for (struct xenforeignmemory_resource_handle *f = resources; f; f = f->next) {
		if ((const char *)addr >= (const char *)f->addr &&
		    (const char *)addr < (const char *)f->addr + f->nr_frames * XSIM_PAGE_SIZE) {
			*ret_domid = f->domid;
			*ret_type = f->type;
			*ret_id = f->id;
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&res_lock);
	return ret;
}

xenforeignmemory_handle *xenforeignmemory_open(struct xentoollog_logger *logger,
					       unsigned open_flags)
{
	xenforeignmemory_handle *h = calloc(1, sizeof(*h));
	int ret;

	if (!h)
		return NULL;
	ret = xsim_conn_open(&h->conn, XSIM_KIND_FMEM);
	if (ret < 0) {
		free(h);
		errno = -ret;
		return NULL;
	}
	return h;
}

int xenforeignmemory_close(xenforeignmemory_handle *fmem)
{
	if (!fmem)
		return 0;
	xsim_conn_close(&fmem->conn);
	free(fmem);
	return 0;
}

/* The RAM layout of `dom`: the memfd (caller closes) and its banks. */
static int get_ram(xenforeignmemory_handle *h, uint32_t dom, struct xsim_bank *banks,
		   unsigned *ret_nbanks, int *ret_fd)
{
	struct xsim_req req = { .op = XSIM_OP_FMEM_RAM, .domid = dom };
	struct xsim_reply r;
	int ret = xsim_call(&h->conn, &req, NULL, 0, &r);
	uint64_t n = r.hdr.val[0];

	if (!ret && (n > XSIM_MAX_BANKS || r.hdr.len != n * sizeof(*banks) || r.nfds != 1))
		ret = -EIO;
	if (!ret) {
		memcpy(banks, r.data, r.hdr.len);
		*ret_nbanks = (unsigned)n;
		*ret_fd = r.fds[0];
		r.fds[0] = -1;
	}
	xsim_reply_fini(&r);
	return ret;
}

static int map_page(void *at, int prot, xen_pfn_t pfn, const struct xsim_bank *banks,
		    unsigned nbanks, int fd)
{
	uint64_t gpa = (uint64_t)pfn * XSIM_PAGE_SIZE;

	if (pfn > UINT64_MAX / XSIM_PAGE_SIZE)
		return -EINVAL;
	for (unsigned b = 0; b < nbanks; b++) {
		if (gpa < banks[b].gpa || gpa - banks[b].gpa >= banks[b].size)
			continue;
		if (mmap(at, XSIM_PAGE_SIZE, prot, MAP_SHARED | MAP_FIXED, fd,
			 (off_t)(banks[b].offset + gpa - banks[b].gpa)) == MAP_FAILED)
			return -errno;
		return 0;
	}
	return -EINVAL; /* not guest RAM */
}

static void *map_pages(xenforeignmemory_handle *h, uint32_t dom, void *addr, int prot, int flags,
		       size_t pages, const xen_pfn_t arr[], int err[])
{
	struct xsim_bank banks[XSIM_MAX_BANKS];
	unsigned nbanks = 0, nok = 0;
	int fd = -1, ret, first_err = 0;
	char *base;

	if (!pages || pages > SIZE_MAX / XSIM_PAGE_SIZE) {
		errno = EINVAL;
		return NULL;
	}
	ret = get_ram(h, dom, banks, &nbanks, &fd);
	if (ret < 0) {
		errno = -ret;
		return NULL;
	}
	base = mmap(addr, pages * XSIM_PAGE_SIZE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | (flags & MAP_FIXED), -1, 0);
	if (base == MAP_FAILED) {
		close(fd);
		return NULL;
	}
	for (size_t i = 0; i < pages; i++) {
		err[i] = map_page(base + i * XSIM_PAGE_SIZE, prot, arr[i], banks, nbanks, fd);
		if (err[i] && !first_err)
			first_err = err[i];
		nok += !err[i];
	}
	close(fd);
	if (!nok) {
		munmap(base, pages * XSIM_PAGE_SIZE);
		errno = -first_err;
		return NULL;
	}
	return base;
}

void *xenforeignmemory_map2(xenforeignmemory_handle *fmem, uint32_t dom, void *addr, int prot,
			    int flags, size_t pages, const xen_pfn_t arr[], int err[])
{
	int *own_err = NULL;
	void *p;

	if (!err) {
		own_err = calloc(pages ? pages : 1, sizeof(int));
		if (!own_err)
			return NULL;
		err = own_err;
	}
	p = map_pages(fmem, dom, addr, prot, flags, pages, arr, err);
	for (size_t i = 0; p && own_err && i < pages; i++) {
		if (err[i]) {
			munmap(p, pages * XSIM_PAGE_SIZE);
			p = NULL;
			errno = -err[i];
		}
	}
	free(own_err);
	return p;
}

void *xenforeignmemory_map(xenforeignmemory_handle *fmem, uint32_t dom, int prot, size_t pages,
			   const xen_pfn_t arr[], int err[])
{
	return xenforeignmemory_map2(fmem, dom, NULL, prot, 0, pages, arr, err);
}

int xenforeignmemory_unmap(xenforeignmemory_handle *fmem, void *addr, size_t pages)
{
	return munmap(addr, pages * XSIM_PAGE_SIZE);
}

int xenforeignmemory_restrict(xenforeignmemory_handle *fmem, domid_t domid)
{
	int ret = xsim_simple(&fmem->conn, XSIM_OP_RESTRICT, domid, 0, 0, 0, 0, 0, NULL);

	return ret < 0 ? xsim_fail(ret) : 0;
}

xenforeignmemory_resource_handle *
xenforeignmemory_map_resource(xenforeignmemory_handle *fmem, domid_t domid, unsigned int type,
			      unsigned int id, unsigned long frame, unsigned long nr_frames,
			      void **paddr, int prot, int flags)
{
	struct xsim_req req = { .op = XSIM_OP_FMEM_RESOURCE,
				.domid = domid,
				.arg = { type, id, frame, nr_frames } };
	struct xenforeignmemory_resource_handle *fres;
	struct xsim_reply r;
	void *p = MAP_FAILED;
	int ret;

	fres = calloc(1, sizeof(*fres));
	if (!fres)
		return NULL;
	ret = xsim_call(&fmem->conn, &req, NULL, 0, &r);
	if (!ret && r.nfds != 1)
		ret = -EIO;
	if (!ret) {
		p = mmap(*paddr, nr_frames * XSIM_PAGE_SIZE, prot, flags | MAP_SHARED, r.fds[0], 0);
		if (p == MAP_FAILED)
			ret = -errno;
	}
	xsim_reply_fini(&r);
	if (ret < 0) {
		free(fres);
		errno = -ret;
		return NULL;
	}
	fres->addr = p;
	fres->nr_frames = nr_frames;
	fres->domid = domid;
	fres->type = type;
	fres->id = id;
	pthread_mutex_lock(&res_lock);
	fres->next = resources;
	resources = fres;
	pthread_mutex_unlock(&res_lock);
	*paddr = p;
	return fres;
}

int xenforeignmemory_unmap_resource(xenforeignmemory_handle *fmem,
				    xenforeignmemory_resource_handle *fres)
{
	int ret = 0;

	if (!fres)
		return 0;
	pthread_mutex_lock(&res_lock);
	for (struct xenforeignmemory_resource_handle **pp = &resources; *pp; pp = &(*pp)->next) {
		if (*pp == fres) {
			*pp = fres->next;
			break;
		}
	}
	pthread_mutex_unlock(&res_lock);
	if (fres->addr)
		ret = munmap(fres->addr, fres->nr_frames * XSIM_PAGE_SIZE);
	free(fres);
	return ret;
}

/* An ioreq server resource is one bufioreq frame plus one ioreq frame (Xen ≥ 4.12). */
int xenforeignmemory_resource_size(xenforeignmemory_handle *fmem, domid_t domid, unsigned int type,
				   unsigned int id, size_t *size)
{
	if (type != XENMEM_resource_ioreq_server) {
		errno = EOPNOTSUPP;
		return -1;
	}
	*size = 2 * XSIM_PAGE_SIZE;
	return 0;
}
