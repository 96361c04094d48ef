/* UDP and TCP over IPv4 or IPv6 for tests/linux/test_net.sh, run in the
 * guest (busybox nc has no UDP and no way to run many connections at once).
 * tests/linux/net_peer.py is the host's side: the same commands.
 *
 *   net udp-echo PORT              echo datagrams on [::]:PORT (v4 too), forever
 *   net tcp-echo PORT              echo each connection on [::]:PORT until
 *                                  its EOF (one process each), forever
 *   net udp-ping ADDR PORT N SECS  N datagrams of 1..1400 bytes, each until
 *                                  its echo comes back intact (resent every
 *                                  second: UDP may drop), within SECS
 *   net tcp-many ADDR PORT N BYTES SECS
 *                                  N connections at once, each sends BYTES
 *                                  of its own pattern, shuts down writing and
 *                                  reads the echo to EOF, compared byte by byte
 *
 * Output: "net: udp-ping ok=K of N" / "net: tcp-many ok=K of N bytes=B";
 * exit 0 when all are ok. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

#define MAXDGRAM 1400
#define MAXCONN 1024

/* Byte i of stream seed's pattern. */
static uint8_t pat(uint32_t seed, uint64_t i)
{
	uint32_t x = (uint32_t)(i * 2654435761u) ^ (seed * 40503u + 7);
	x ^= x >> 13;
	x *= 0x5bd1e995u;
	return (uint8_t)(x >> 24);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A numeric IPv4 or IPv6 address and port (no resolver in a static binary). */
struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
	int family;
};

static struct addr resolve(const char *addr, const char *port)
{
	struct addr a = {.family = strchr(addr, ':') ? AF_INET6 : AF_INET};
	uint16_t p = htons((uint16_t)atoi(port));
	struct sockaddr_in *a4 = (struct sockaddr_in *)&a.ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&a.ss;
	int ok = a.family == AF_INET ? inet_pton(AF_INET, addr, &a4->sin_addr)
				     : inet_pton(AF_INET6, addr, &a6->sin6_addr);
	if (ok != 1) {
		fprintf(stderr, "net: bad address %s\n", addr);
		exit(1);
	}
	if (a.family == AF_INET) {
		a4->sin_family = AF_INET;
		a4->sin_port = p;
		a.len = sizeof(*a4);
	} else {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = p;
		a.len = sizeof(*a6);
	}
	return a;
}

static int listener(const char *port, int type)
{
	int s = socket(AF_INET6, type, 0), off = 0, on = 1;
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)atoi(port))};
	setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) ||
	    (type == SOCK_STREAM && listen(s, MAXCONN))) {
		perror("net: listen");
		exit(1);
	}
	return s;
}

static _Noreturn void udp_echo(const char *port)
{
	int s = listener(port, SOCK_DGRAM);
	uint8_t b[65536];
	for (;;) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
		if (n >= 0)
			sendto(s, b, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}

static _Noreturn void echo_conn(int c)
{
	uint8_t b[16384];
	ssize_t n;
	while ((n = read(c, b, sizeof(b))) > 0)
		for (ssize_t off = 0, w; off < n; off += w)
			if ((w = write(c, b + off, (size_t)(n - off))) <= 0)
				_exit(1);
	shutdown(c, SHUT_WR);
	_exit(0);
}

static _Noreturn void tcp_echo(const char *port)
{
	int s = listener(port, SOCK_STREAM);
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		if (fork() == 0)
			echo_conn(c);
		close(c);
	}
}

/* One datagram: seq in the first 4 bytes, then seq's pattern. */
static size_t dgram(uint32_t seq, uint8_t *b)
{
	size_t len = 4 + (seq * 97u) % (MAXDGRAM - 3);
	memcpy(b, &seq, 4);
	for (size_t i = 4; i < len; i++)
		b[i] = pat(seq, i);
	return len;
}

static int udp_ping(const char *addr, const char *port, int n, double secs)
{
	struct addr a = resolve(addr, port);
	int s = socket(a.family, SOCK_DGRAM, 0), ok = 0;
	if (s < 0 || connect(s, (struct sockaddr *)&a.ss, a.len)) {
		perror("net: udp");
		return 1;
	}
	double end = now() + secs;
	uint8_t want[MAXDGRAM + 4], got[MAXDGRAM + 8];
	for (uint32_t seq = 0; seq < (uint32_t)n && now() < end; seq++) {
		size_t len = dgram(seq, want);
		bool done = false;
		while (!done && now() < end) {
			send(s, want, len, 0);
			struct pollfd p = {.fd = s, .events = POLLIN};
			double retry = now() + 1;
			while (!done && now() < retry && poll(&p, 1, 100) >= 0) {
				ssize_t r = p.revents ? recv(s, got, sizeof(got), MSG_DONTWAIT) : -1;
				done = r == (ssize_t)len && memcmp(got, want, len) == 0;
			}
		}
		ok += done;
	}
	printf("net: udp-ping ok=%d of %d\n", ok, n);
	return ok == n ? 0 : 1;
}

struct conn {
	int fd;
	uint64_t sent, got;
	bool bad, eof;
};

/* Move what can move on c (non-blocking): 1 while it has work left. */
static int conn_step(struct conn *c, uint32_t seed, uint64_t bytes)
{
	uint8_t b[16384];
	if (c->sent < bytes) {
		size_t k = bytes - c->sent < sizeof(b) ? (size_t)(bytes - c->sent) : sizeof(b);
		for (size_t i = 0; i < k; i++)
			b[i] = pat(seed, c->sent + i);
		ssize_t w = write(c->fd, b, k);
		if (w > 0)
			c->sent += (uint64_t)w;
		else if (w < 0 && errno != EAGAIN && errno != EINPROGRESS && errno != ENOTCONN)
			c->bad = true;
		if (c->sent == bytes)
			shutdown(c->fd, SHUT_WR);
	}
	ssize_t r;
	while ((r = read(c->fd, b, sizeof(b))) > 0) {
		for (ssize_t i = 0; i < r; i++)
			if (b[i] != pat(seed, c->got + (uint64_t)i))
				c->bad = true;
		c->got += (uint64_t)r;
	}
	if (r == 0)
		c->eof = true;
	else if (errno != EAGAIN && errno != EINPROGRESS && errno != ENOTCONN)
		c->bad = true;
	return !c->bad && !c->eof;
}

static int tcp_many(const char *addr, const char *port, int n, uint64_t bytes, double secs)
{
	struct addr a = resolve(addr, port);
	static struct conn cs[MAXCONN];
	static struct pollfd pf[MAXCONN];
	if (n < 1 || n > MAXCONN)
		return 1;
	for (int i = 0; i < n; i++) {
		cs[i] = (struct conn){.fd = socket(a.family, SOCK_STREAM | SOCK_NONBLOCK, 0)};
		if (cs[i].fd < 0 ||
		    (connect(cs[i].fd, (struct sockaddr *)&a.ss, a.len) && errno != EINPROGRESS))
			cs[i].bad = true;
	}
	double end = now() + secs;
	for (int live = n; live && now() < end;) {
		live = 0;
		for (int i = 0; i < n; i++) {
			pf[i] = (struct pollfd){.fd = -1};
			if (cs[i].bad || cs[i].eof)
				continue;
			pf[i] = (struct pollfd){.fd = cs[i].fd,
						.events = POLLIN | (cs[i].sent < bytes ? POLLOUT : 0)};
			live++;
		}
		if (live && poll(pf, (nfds_t)n, 200) > 0)
			for (int i = 0; i < n; i++)
				if (pf[i].revents)
					conn_step(&cs[i], (uint32_t)i + 1, bytes);
	}
	int ok = 0;
	uint64_t total = 0;
	for (int i = 0; i < n; i++) {
		total += cs[i].got;
		ok += !cs[i].bad && cs[i].eof && cs[i].sent == bytes && cs[i].got == bytes;
	}
	printf("net: tcp-many ok=%d of %d bytes=%llu\n", ok, n, (unsigned long long)total);
	return ok == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	if (!strcmp(m, "udp-echo") && argc == 3)
		udp_echo(argv[2]);
	if (!strcmp(m, "tcp-echo") && argc == 3)
		tcp_echo(argv[2]);
	if (!strcmp(m, "udp-ping") && argc == 6)
		return udp_ping(argv[2], argv[3], atoi(argv[4]), atof(argv[5]));
	if (!strcmp(m, "tcp-many") && argc == 7)
		return tcp_many(argv[2], argv[3], atoi(argv[4]), strtoull(argv[5], NULL, 0),
				atof(argv[6]));
	fprintf(stderr, "usage: net udp-echo|tcp-echo PORT | udp-ping ADDR PORT N SECS | "
			"tcp-many ADDR PORT N BYTES SECS\n");
	return 2;
}
