/*
 * virtio-sock's state, shared by its device glue (virtio_sock.c: options,
 * PCI, the I/O thread, the Unix listeners) and its protocol engine
 * (virtio_sock_proto.c: packets from the guest, packets to the guest, the
 * connection table).
 *
 * Threads: one I/O thread per device owns every socket and both data
 * queues (rx and tx are device-driven: the transport's kicks only wake
 * it). It polls the eventfd, the listeners and the connections with
 * poll(2) and does all protocol work under vs->lock, which it drops only
 * while it sleeps; the reset callback and hk_vm_vsock_connect take the
 * lock too. Not the event loop: which sockets are polled changes with
 * every packet (credit, buffered bytes, rx buffers), and one thread that
 * owns the whole protocol needs no other locking.
 *
 * Flow control (5.10.6.3): guest->host bytes go straight to the
 * non-blocking Unix socket; what it does not take waits in the
 * connection's buffer, which the credit we advertise (VS_BUF_ALLOC) bounds:
 * a guest that sends past it is reset. Host->guest bytes are read only
 * while the guest's credit allows. A host peer that stops reading thus
 * stops only its own connection; no queue is ever held up by one.
 */
#ifndef HK_DEVICES_VIRTIO_VIRTIO_SOCK_PRIV_H
#define HK_DEVICES_VIRTIO_VIRTIO_SOCK_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtio_pci.h"
#include "devices/virtio/virtio_sock.h"

#define VS_QUEUE_RX 0
#define VS_QUEUE_TX 1
#define VS_QUEUE_EVENT 2
#define VS_QUEUE_SIZE 256

#define VS_CID_HOST 2
#define VS_HDR_SIZE 44
#define VS_TYPE_STREAM 1

enum {
    VS_OP_INVALID, VS_OP_REQUEST, VS_OP_RESPONSE, VS_OP_RST, VS_OP_SHUTDOWN, VS_OP_RW,
    VS_OP_CREDIT_UPDATE, VS_OP_CREDIT_REQUEST,
};
#define VS_SHUT_RCV 1u      /* the sender will receive no more */
#define VS_SHUT_SEND 2u     /* the sender will send no more */
#define VS_SHUT_ALL 3u

#define VS_BUF_ALLOC (256u * 1024)      /* our receive buffer per connection */
#define VS_MAX_PKT (64u * 1024)         /* payload per packet, each way (Linux's too) */
#define VS_MAX_CONNS 1024
#define VS_HASH 2048
#define VS_RST_RING 64                  /* RSTs for packets of no connection */
#define VS_MAX_FWDS 16
#define VS_FIRST_HOST_PORT 0x10000u     /* ours for host->guest connections */
#define VS_LINE 18                      /* "%08x.%08x\n" */

/* A packet header, decoded (the wire form is 44 bytes, little-endian). */
struct vs_hdr {
    uint64_t src_cid, dst_cid;
    uint32_t src_port, dst_port, len;
    uint16_t type, op;
    uint32_t flags, buf_alloc, fwd_cnt;
};

void vs_hdr_decode(const uint8_t b[VS_HDR_SIZE], struct vs_hdr *h);
void vs_hdr_encode(const struct vs_hdr *h, uint8_t b[VS_HDR_SIZE]);

enum vs_state {
    VS_HANDSHAKE,       /* DIR/connect client: reading its "cid.port\n" */
    VS_REQUESTED,       /* host->guest: REQUEST sent (or to send), no RESPONSE yet */
    VS_ESTABLISHED,
    VS_DEAD,            /* fd closed; the RST still to send, then freed */
};

/* Control packets a connection owes the guest (vs_conn.pending). */
#define VS_P_REQUEST 1u
#define VS_P_RESPONSE 2u
#define VS_P_CREDIT 4u
#define VS_P_SHUTDOWN 8u
#define VS_P_RST 16u

struct vs_conn {
    enum vs_state state;
    int fd;
    int idx;                        /* in vs->conns */
    struct vs_conn *next;           /* hash chain (not while VS_HANDSHAKE) */
    uint32_t host_port, guest_port;
    char line[VS_LINE];             /* VS_HANDSHAKE */
    int linelen;
    unsigned pending;
    bool readable, writable;        /* poll's last word */
    /* Host->guest: the guest's credit. */
    uint32_t peer_buf_alloc, peer_fwd_cnt, rx_cnt;
    /* Guest->host: bytes given to the Unix socket, and the last count
     * the guest was told. */
    uint32_t fwd_cnt, fwd_told;
    uint8_t *wbuf;                  /* VS_BUF_ALLOC bytes once needed */
    uint32_t woff, wlen;            /* bytes [woff, wlen) wait for the host */
    uint32_t peer_shut, local_shut; /* VS_SHUT_* the guest sent, we sent */
};

struct vsock {
    struct dev_env *env;
    struct virtio_pci *vp;
    uint64_t guest_cid;
    char *dir;
    int connect_fd;                 /* DIR/connect */
    int nfwd;
    struct {
        int fd;
        uint32_t port;
    } fwd[VS_MAX_FWDS];
    int wake_fd;                    /* eventfd: kicks, new API connections, stop */
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;

    pthread_mutex_t lock;           /* everything below */
    struct virtq_chain *rxc, *txc;
    bool rx_held;                   /* rxc holds a popped rx chain */
    bool rx_empty;                  /* the last pop found none: wait for a kick */
    struct iovec *scratch;          /* VS_QUEUE_SIZE + 1 entries */
    struct vs_conn *conns[VS_MAX_CONNS];
    int nconns;
    struct vs_conn *hash[VS_HASH];
    struct {
        uint32_t host_port, guest_port;
    } rst[VS_RST_RING];
    int rst_head, rst_n;
    uint32_t next_port;
    unsigned long progress;         /* packets moved, either way */
    int warnings_left;
};

/* virtio_sock_proto.c (vs->lock held) */
/* One chain from the tx queue: the guest's packet. */
void vs_tx_packet(struct vsock *vs, const struct virtq_chain *c);
/* Pop and handle tx chains while replies have room. */
void vs_tx_drain(struct vsock *vs);
/* Move bytes: flush buffered writes, read what the host sent, send every
 * control packet owed, as far as rx buffers allow. */
void vs_work(struct vsock *vs);
/* Whether c may read the host now (established, open, guest credit). */
bool vs_conn_wants_read(const struct vs_conn *c);
/* A new connection with fd (handshake: state VS_HANDSHAKE; else to guest
 * port `port`, REQUEST owed). NULL if the table is full. */
struct vs_conn *vs_conn_new(struct vsock *vs, int fd, bool handshake, uint32_t port);
/* A complete handshake line: start the connection, or close it. */
void vs_handshake_read(struct vsock *vs, struct vs_conn *c);
/* Drop every connection (device reset, teardown). */
void vs_conn_drop_all(struct vsock *vs);
void vs_warn(struct vsock *vs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
