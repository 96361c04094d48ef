/* AF_VSOCK streams for tests/linux/test_vsock.sh, run in the guest
 * (busybox has no vsock tool).
 *
 *   vsock connect PORT BYTES N   N connections at once (one process each)
 *                                to the host (cid 2) port PORT
 *   vsock listen PORT BYTES N    listen on PORT, print "vsock: listening",
 *                                serve N connections at once
 *
 * Each connection is the same exchange, both ends at once: send a 16-byte
 * header (magic, seed, byte count, little-endian) and that many bytes of
 * the seed's pattern, then shut down writing; read the peer's header and
 * stream until EOF and compare it with the pattern its header names. The
 * host's peer (tests/linux/vsock_peer.py) does the same, so each end
 * checks every byte it got. Seeds: the connection's index + 1 here.
 *
 * Output: one line per connection,
 *   vsock: conn I sent=N got=N want=N data=ok|bad
 * then "vsock: MODE done conns=N ok=K usec=T" (T: first byte to the last
 * connection's end; the host does the math). Exit 1 on a setup error. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#define MAGIC 0x53564b48u /* "HKVS" */
#define PERIOD 65521      /* a prime: a misplaced 4 KiB block shows */
#define HDR 16
#define BUF (64 * 1024)

static uint8_t *pattern(uint32_t seed)
{
	uint8_t *p = malloc(PERIOD);
	uint32_t x = seed * 2654435761u + 12345;
	if (!p)
		exit(1);
	for (int i = 0; i < PERIOD; i++) {
		x = x * 1103515245u + 12345;
		p[i] = (uint8_t)(x >> 16);
	}
	return p;
}

static void put32(uint8_t *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *b, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static uint64_t now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

/* The exchange on fd; returns 0 if every byte checked. */
static int exchange(int fd, int idx, uint64_t bytes)
{
	uint32_t seed = (uint32_t)idx + 1;
	uint8_t *mine = pattern(seed), *theirs = NULL;
	uint8_t out[HDR], in[HDR], buf[BUF];
	put32(out, MAGIC);
	put32(out + 4, seed);
	put32(out + 8, (uint32_t)bytes);
	put32(out + 12, (uint32_t)(bytes >> 32));
	uint64_t sent = 0, got = 0, want = 0, total = HDR + bytes;
	int inlen = 0, bad = 0, eof = 0, wdone = 0;
	while (!eof || !wdone) {
		struct pollfd p = {.fd = fd, .events = (eof ? 0 : POLLIN) | (wdone ? 0 : POLLOUT)};
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!wdone && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
			size_t n = 0;
			if (sent < HDR) {
				n = HDR - sent;
				memcpy(buf, out + sent, n);
			}
			uint64_t off = sent + n - HDR;
			while (n < BUF && off < bytes) {
				size_t k = PERIOD - off % PERIOD;
				if (k > BUF - n)
					k = BUF - n;
				if (k > bytes - off)
					k = bytes - off;
				memcpy(buf + n, mine + off % PERIOD, k);
				n += k;
				off += k;
			}
			ssize_t w = send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w < 0 && errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "vsock: conn %d send: %s\n", idx, strerror(errno));
				bad = 1;
				wdone = 1;
			} else if (w > 0 && (sent += (uint64_t)w) == total) {
				shutdown(fd, SHUT_WR);
				wdone = 1;
			}
		}
		if (!eof && (p.revents & (POLLIN | POLLERR | POLLHUP))) {
			ssize_t r = recv(fd, buf, BUF, MSG_DONTWAIT);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0) {
				if (r < 0) {
					fprintf(stderr, "vsock: conn %d recv: %s\n", idx, strerror(errno));
					bad = 1;
				}
				eof = 1;
				continue;
			}
			size_t at = 0;
			while (inlen < HDR && at < (size_t)r)
				in[inlen++] = buf[at++];
			if (inlen == HDR && !theirs) {
				if (get(in, 4) != MAGIC)
					bad = 1;
				theirs = pattern((uint32_t)get(in + 4, 4));
				want = get(in + 8, 8);
			}
			/* memcmp by pattern segment: a byte loop is slow under emulation. */
			while (at < (size_t)r) {
				size_t k = (size_t)r - at, pos = got % PERIOD;
				if (k > PERIOD - pos)
					k = PERIOD - pos;
				if (!theirs || memcmp(buf + at, theirs + pos, k) != 0)
					bad = 1;
				at += k;
				got += k;
			}
		}
	}
	if (got != want || inlen < HDR)
		bad = 1;
	printf("vsock: conn %d sent=%" PRIu64 " got=%" PRIu64 " want=%" PRIu64 " data=%s\n", idx,
	       sent > HDR ? sent - HDR : 0, got, want, bad ? "bad" : "ok");
	fflush(stdout);
	return bad;
}

static int vsock_socket(void)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (fd < 0) {
		fprintf(stderr, "vsock: socket: %s\n", strerror(errno));
		exit(1);
	}
	return fd;
}

/* Fork one child per connection; children exit 0 when their data checked. */
static int spawn(int idx, int fd, uint64_t bytes)
{
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "vsock: fork: %s\n", strerror(errno));
		exit(1);
	}
	if (pid == 0)
		_exit(exchange(fd, idx, bytes) ? 1 : 0);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: vsock connect|listen PORT BYTES N\n");
		return 2;
	}
	unsigned port = (unsigned)strtoul(argv[2], NULL, 0);
	uint64_t bytes = strtoull(argv[3], NULL, 0);
	int n = atoi(argv[4]);
	struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = port};
	uint64_t t0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "connect") == 0) {
		a.svm_cid = VMADDR_CID_HOST;
		t0 = now_us();
		for (int i = 0; i < n; i++) {
			int fd = vsock_socket();
			if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
				printf("vsock: conn %d connect: %s\n", i, strerror(errno));
				close(fd);
				continue;
			}
			spawn(i, fd, bytes);
		}
	} else if (strcmp(argv[1], "listen") == 0) {
		a.svm_cid = VMADDR_CID_ANY;
		int l = vsock_socket();
		if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 128) < 0) {
			fprintf(stderr, "vsock: bind/listen: %s\n", strerror(errno));
			return 1;
		}
		printf("vsock: listening %u\n", port);
		t0 = 0;
		for (int i = 0; i < n; i++) {
			int fd = accept(l, NULL, NULL);
			if (fd < 0) {
				fprintf(stderr, "vsock: accept: %s\n", strerror(errno));
				return 1;
			}
			if (!t0)
				t0 = now_us();
			spawn(i, fd, bytes);
		}
		close(l);
	} else {
		fprintf(stderr, "vsock: unknown mode %s\n", argv[1]);
		return 2;
	}
	int ok = 0, st;
	while (wait(&st) > 0)
		ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
	printf("vsock: %s done conns=%d ok=%d usec=%" PRIu64 "\n", argv[1], n, ok, now_us() - t0);
	return 0;
}
