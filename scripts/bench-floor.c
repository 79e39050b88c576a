/*
 * bench-floor.c: the smallest ONC RPC responder nfs-bench can drive, to measure the floor of a call
 * with one in flight on this machine: what ANY server costs (wake-up, read, write) when it does no work.
 * It is a benchmark tool, never part of mic-fs: scripts/bench.sh builds it with gcc (BENCH_FLOOR=1)
 * and runs nfs-bench's null rows against it next to mic-fs and nfs-ganesha.
 *
 * One thread, epoll (level-triggered), one socket for MOUNT and NFS. It answers, with canned bodies:
 *   MOUNT v3 MNT (a fixed 8-byte root handle, AUTH_SYS), NFS v3 NULL, GETATTR (a fixed fattr3),
 *   FSINFO (fixed limits); every other procedure PROC_UNAVAIL (RFC 5531 section 9). No auth checks.
 * Each reply is one write() in the same loop turn as the read that completed its call.
 *
 * Usage: bench-floor PORT   (0 = any free port; prints "port N" on stdout once listening)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF (1 << 20)
struct conn {
	int fd;
	size_t len;
	unsigned char in[BUF];
	unsigned char out[BUF];
};

static uint32_t get32(const unsigned char *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static unsigned char *put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
	return p + 4;
}

/* one call (a whole record, fragments joined) -> reply into o (after the 4-byte mark); returns the end */
static unsigned char *answer(const unsigned char *c, size_t n, unsigned char *o)
{
	uint32_t xid, prog, proc, i;
	if (n < 24)
		return NULL;
	xid = get32(c); prog = get32(c + 12); proc = get32(c + 20);
	o = put32(o, xid); o = put32(o, 1); o = put32(o, 0); /* REPLY, MSG_ACCEPTED */
	o = put32(o, 0); o = put32(o, 0);                    /* verifier AUTH_NONE */
	if (prog == 100005 && proc == 0) {
		o = put32(o, 0);
	} else if (prog == 100005 && proc == 1) { /* MNT */
		o = put32(o, 0); o = put32(o, 0); o = put32(o, 8);
		o = put32(o, 0x6d696300); o = put32(o, 1);
		o = put32(o, 1); o = put32(o, 1); /* auth flavors: [AUTH_SYS] */
	} else if (prog == 100003 && proc == 0) {
		o = put32(o, 0);
	} else if (prog == 100003 && proc == 1) { /* GETATTR: NFS3_OK fattr3 of a directory */
		o = put32(o, 0); o = put32(o, 0);
		o = put32(o, 2); o = put32(o, 0755); o = put32(o, 2); o = put32(o, 0); o = put32(o, 0);
		for (i = 0; i < 4; i++) o = put32(o, 0); /* size, used */
		o = put32(o, 0); o = put32(o, 0);        /* rdev */
		o = put32(o, 0); o = put32(o, 1);        /* fsid */
		o = put32(o, 0); o = put32(o, 1);        /* fileid */
		for (i = 0; i < 6; i++) o = put32(o, 0); /* times */
	} else if (prog == 100003 && proc == 19) { /* FSINFO */
		o = put32(o, 0); o = put32(o, 0); o = put32(o, 0); o = put32(o, 0); /* OK, no attrs */
		o = put32(o, 1 << 20); o = put32(o, 1 << 20); o = put32(o, 4096);
		o = put32(o, 1 << 20); o = put32(o, 1 << 20); o = put32(o, 4096);
		o = put32(o, 65536);
		o = put32(o, 0xffffffff); o = put32(o, 0xffffffff);
		o = put32(o, 0); o = put32(o, 1);
		o = put32(o, 0x1b);
	} else {
		o = put32(o, 3); /* PROC_UNAVAIL */
	}
	return o;
}

/* handle every complete record in the buffer; one write for all replies; -1 = close */
static int drain(struct conn *k)
{
	size_t off = 0;
	unsigned char *o = k->out;
	static unsigned char rec[BUF];
	for (;;) {
		size_t p = off, rl = 0;
		int last = 0;
		while (!last) { /* record marking, RFC 5531 section 11 */
			uint32_t m, fl;
			if (k->len - p < 4)
				goto partial;
			m = get32(k->in + p); fl = m & 0x7fffffff; last = m >> 31;
			if (k->len - p - 4 < fl)
				goto partial;
			if (rl + fl > BUF)
				return -1;
			memcpy(rec + rl, k->in + p + 4, fl);
			rl += fl; p += 4 + fl;
		}
		{
			unsigned char *e;
			if ((size_t)(k->out + BUF - o) < 512)
				return -1;
			e = answer(rec, rl, o + 4);
			if (!e)
				return -1;
			put32(o, 0x80000000u | (uint32_t)(e - o - 4));
			o = e;
		}
		off = p;
	}
partial:
	if (off) {
		memmove(k->in, k->in + off, k->len - off);
		k->len -= off;
	}
	if (o > k->out) {
		size_t w = 0, want = o - k->out;
		while (w < want) { /* replies are small: a blocking retry is fine for a benchmark */
			ssize_t r = write(k->fd, k->out + w, want - w);
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r <= 0)
				return -1;
			w += r;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int ls, ep, one = 1;
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	struct epoll_event ev, evs[64];

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(argc > 1 ? atoi(argv[1]) : 0);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 128)) {
		perror("listen");
		return 1;
	}
	getsockname(ls, (struct sockaddr *)&a, &al);
	printf("port %d\n", ntohs(a.sin_port));
	fflush(stdout);
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1), i;
		for (i = 0; i < n; i++) {
			struct conn *k = evs[i].data.ptr;
			if (!k) {
				int fd = accept(ls, NULL, NULL);
				if (fd < 0)
					continue;
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				k = calloc(1, sizeof(*k));
				k->fd = fd;
				ev.events = EPOLLIN;
				ev.data.ptr = k;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				continue;
			}
			{
				ssize_t r = read(k->fd, k->in + k->len, BUF - k->len);
				if (r <= 0 || (k->len += r, drain(k) < 0)) {
					epoll_ctl(ep, EPOLL_CTL_DEL, k->fd, NULL);
					close(k->fd);
					free(k);
				}
			}
		}
	}
}
