/*
 * The 16550A register model through its hooks, then the VM glue with a
 * socketpair as the serial line.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/evloop.h"
#include "devices/lpc/uart8250.h"
#include "fake_env.h"
#include "test.h"

enum { THR = 0, RBR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4,
       LSR = 5, MSR = 6, SCR = 7 };

struct probe {
    uint8_t tx[64];
    size_t ntx;
    bool irq;
    int irq_changes;
    bool accepting;
    int rx_ready_calls;
};

static void probe_tx(void *opaque, uint8_t byte)
{
    struct probe *p = opaque;
    if (p->ntx < sizeof(p->tx))
        p->tx[p->ntx++] = byte;
}

static void probe_irq(void *opaque, bool level)
{
    struct probe *p = opaque;
    p->irq = level;
    p->irq_changes++;
}

static void probe_rx_ready(void *opaque, bool accepting)
{
    struct probe *p = opaque;
    p->accepting = accepting;
    p->rx_ready_calls++;
}

static struct uart8250 *new_uart(struct probe *p)
{
    static const struct uart8250_hooks hooks = {probe_tx, probe_irq, probe_rx_ready};
    *p = (struct probe){.accepting = true};
    struct uart8250 *u = NULL;
    if (uart8250_new(&hooks, p, &u) != 0) {
        printf("FAIL: uart8250_new\n");
        exit(1);
    }
    return u;
}

static void feed(struct uart8250 *u, const char *s)
{
    uart8250_receive(u, (const uint8_t *)s, strlen(s));
}

static void test_reset_state(void)
{
    struct probe p;
    struct uart8250 *u = new_uart(&p);
    CHECK_EQ(uart8250_read(u, LSR), 0x60, "uart reset: LSR has THRE and TEMT only");
    CHECK_EQ(uart8250_read(u, IIR), 0x01, "uart reset: IIR reports no interrupt, no FIFO");
    CHECK_EQ(uart8250_read(u, IER), 0, "uart reset: IER is 0");
    CHECK_EQ(uart8250_read(u, MCR), 0, "uart reset: MCR is 0");
    CHECK_EQ(uart8250_read(u, MSR), 0xb0, "uart reset: MSR shows DCD, DSR, CTS");
    CHECK(!p.irq && p.irq_changes == 0, "uart reset: interrupt line low");
    uart8250_free(u);
}

static void test_tx_and_rx(void)
{
    struct probe p;
    struct uart8250 *u = new_uart(&p);
    uart8250_write(u, THR, 'H');
    uart8250_write(u, THR, 'i');
    CHECK(p.ntx == 2 && p.tx[0] == 'H' && p.tx[1] == 'i', "uart THR writes reach the tx hook");
    CHECK_EQ(uart8250_read(u, LSR) & 0x60, 0x60, "uart LSR THRE|TEMT stay set after output");
    feed(u, "a");
    CHECK_EQ(uart8250_read(u, LSR) & 0x01, 1, "uart received byte sets LSR.DR");
    CHECK_EQ(uart8250_read(u, RBR), 'a', "uart RBR returns the received byte");
    CHECK_EQ(uart8250_read(u, LSR) & 0x01, 0, "uart LSR.DR clears once RBR is read");
    CHECK_EQ(uart8250_read(u, RBR), 'a', "uart empty RBR reads the last byte again");
    uart8250_free(u);
}

static void test_fifo_and_overrun(void)
{
    struct probe p;
    struct uart8250 *u = new_uart(&p);
    uart8250_write(u, FCR, 0x07);
    CHECK_EQ(uart8250_read(u, IIR) & 0xc0, 0xc0, "uart FCR enable shows FIFO bits in IIR");
    CHECK_EQ(uart8250_rx_room(u), 16, "uart FIFO room is 16 bytes");
    feed(u, "0123456789abcdef");
    CHECK_EQ(uart8250_rx_room(u), 0, "uart FIFO full after 16 bytes");
    CHECK(p.rx_ready_calls == 1 && !p.accepting, "uart full FIFO stops host input");
    CHECK_EQ(uart8250_read(u, LSR) & 0x02, 0, "uart no overrun at exactly 16 bytes");
    feed(u, "X");
    uint8_t lsr = uart8250_read(u, LSR);
    CHECK_EQ(lsr & 0x03, 0x03, "uart 17th byte sets LSR.OE with DR");
    CHECK_EQ(uart8250_read(u, LSR) & 0x02, 0, "uart reading LSR clears OE");
    char got[17] = "";
    for (int i = 0; i < 16; i++)
        got[i] = (char)uart8250_read(u, RBR);
    CHECK(strcmp(got, "0123456789abcdef") == 0, "uart FIFO keeps order, overrun byte lost");
    CHECK(p.accepting, "uart drained FIFO restarts host input");
    feed(u, "xyz");
    uart8250_write(u, FCR, 0x03);
    CHECK_EQ(uart8250_read(u, LSR) & 0x01, 0, "uart FCR bit 1 clears the RX FIFO");
    feed(u, "q");
    uart8250_write(u, FCR, 0x00);
    CHECK_EQ(uart8250_read(u, LSR) & 0x01, 0, "uart disabling the FIFO empties it");
    CHECK_EQ(uart8250_read(u, IIR) & 0xc0, 0, "uart FIFO bits clear in IIR when disabled");
    uart8250_free(u);
}

static void test_no_fifo_overrun(void)
{
    struct probe p;
    struct uart8250 *u = new_uart(&p);
    CHECK_EQ(uart8250_rx_room(u), 1, "uart without FIFO holds one byte");
    feed(u, "xy");
    CHECK_EQ(uart8250_read(u, LSR) & 0x03, 0x03, "uart 16450 mode overrun sets OE");
    CHECK_EQ(uart8250_read(u, RBR), 'y', "uart 16450 mode overrun overwrites RBR");
    uart8250_free(u);
}

static void test_dlab_and_scratch(void)
{
    struct probe p;
    struct uart8250 *u = new_uart(&p);
    uart8250_write(u, IER, 0x05);
    uart8250_write(u, LCR, 0x83);
    uart8250_write(u, DLL, 0x01);
    uart8250_write(u, DLM, 0x02);
    CHECK_EQ(p.ntx, 0, "uart DLL write with DLAB does not transmit");
    CHECK_EQ(uart8250_read(u, DLL), 0x01, "uart DLL reads back with DLAB");
    CHECK_EQ(uart8250_read(u, DLM), 0x02, "uart DLM reads back with DLAB");
    CHECK_EQ(uart8250_read(u, LCR), 0x83, "uart LCR reads back");
    uart8250_write(u, LCR, 0x03);
    CHECK_EQ(uart8250_read(u, IER), 0x05, "uart IER untouched by DLM write");
    uart8250_write(u, THR, 'k');
    CHECK(p.ntx == 1 && p.tx[0] == 'k', "uart THR works again after DLAB cleared");
    uart8250_write(u, IER, 0xff);
    CHECK_EQ(uart8250_read(u, IER), 0x0f, "uart IER bits 4-7 read as zero");
    uart8250_write(u, SCR, 0x5a);
    CHECK_EQ(uart8250_read(u, SCR), 0x5a, "uart scratch register holds a value");
    uart8250_write(u, MCR, 0xff);
    CHECK_EQ(uart8250_read(u, MCR), 0x1f, "uart MCR bits 5-7 read as zero");
    uart8250_free(u);
}

static void test_loopback(void)
{
    struct probe p;
    struct uart8250 *u = new_uart(&p);
    /* Linux autoconfig: LOOP|OUT2|RTS must read back as DCD|CTS. */
    uart8250_write(u, MCR, 0x1a);
    CHECK_EQ(uart8250_read(u, MSR) & 0xf0, 0x90, "uart loopback MSR mirrors OUT2 and RTS");
    CHECK(!p.accepting, "uart loopback disconnects host input");
    CHECK_EQ(uart8250_rx_room(u), 0, "uart loopback has no room for host input");
    uart8250_write(u, THR, 'Z');
    CHECK_EQ(p.ntx, 0, "uart loopback output does not leave the UART");
    feed(u, "host");
    CHECK_EQ(uart8250_read(u, LSR) & 0x01, 1, "uart loopback byte arrives in RBR");
    CHECK_EQ(uart8250_read(u, RBR), 'Z', "uart loopback RBR holds the sent byte");
    CHECK_EQ(uart8250_read(u, LSR) & 0x01, 0, "uart loopback ignores host input");
    uart8250_write(u, MCR, 0x15);   /* LOOP|OUT1|DTR */
    CHECK_EQ(uart8250_read(u, MSR), 0x60 | 0x0b,
             "uart loopback MSR: DSR, RI and deltas DCTS DDSR DDCD");
    CHECK_EQ(uart8250_read(u, MSR), 0x60, "uart reading MSR clears the deltas");
    uart8250_write(u, MCR, 0x11);   /* OUT1 off: RI trailing edge */
    CHECK_EQ(uart8250_read(u, MSR) & 0x0f, 0x04, "uart RI falling edge sets TERI only");
    uart8250_write(u, MCR, 0x00);
    CHECK_EQ(uart8250_read(u, MSR) & 0xf0, 0xb0, "uart leaving loopback restores the line");
    CHECK(p.accepting, "uart leaving loopback reconnects host input");
    uart8250_free(u);
}

static void test_iir_priorities(void)
{
    struct probe p;
    struct uart8250 *u = new_uart(&p);
    uart8250_write(u, MCR, 0x10);          /* loopback: make MSR deltas */
    uart8250_write(u, THR, 'a');
    uart8250_write(u, THR, 'b');           /* no FIFO: overrun */
    uart8250_write(u, MCR, 0x00);
    uart8250_write(u, IER, 0x0f);
    CHECK(p.irq, "uart IRQ raised with every source pending");
    CHECK_EQ(uart8250_read(u, IIR), 0x06, "uart IIR line status first");
    uart8250_read(u, LSR);
    CHECK_EQ(uart8250_read(u, IIR), 0x04, "uart IIR received data second");
    uart8250_read(u, RBR);
    CHECK_EQ(uart8250_read(u, IIR), 0x02, "uart IIR THR empty third");
    CHECK_EQ(uart8250_read(u, IIR), 0x00, "uart IIR read acknowledged THRE; modem status last");
    CHECK(p.irq, "uart IRQ still high for modem status");
    uart8250_read(u, MSR);
    CHECK_EQ(uart8250_read(u, IIR), 0x01, "uart IIR none after all acknowledged");
    CHECK(!p.irq, "uart IRQ low when nothing is pending");
    uart8250_free(u);
}

static void test_thre_interrupt(void)
{
    struct probe p;
    struct uart8250 *u = new_uart(&p);
    uart8250_write(u, IER, 0x02);
    CHECK(p.irq, "uart enabling ETBEI with THR empty raises the IRQ");
    uart8250_write(u, IER, 0x02);
    CHECK_EQ(uart8250_read(u, IIR), 0x02, "uart IIR reports THR empty");
    CHECK(!p.irq, "uart reading IIR clears the THRE interrupt");
    CHECK_EQ(uart8250_read(u, IIR), 0x01, "uart THRE not reported twice");
    /* Linux's UART_BUG_THRE probe: toggling ETBEI re-raises it. */
    uart8250_write(u, IER, 0x00);
    uart8250_write(u, IER, 0x02);
    CHECK_EQ(uart8250_read(u, IIR), 0x02, "uart ETBEI off/on re-arms THRE");
    int before = p.irq_changes;
    uart8250_write(u, THR, 'x');
    CHECK(p.irq && p.irq_changes == before + 1, "uart THR write re-raises THRE after sending");
    before = p.irq_changes;
    uart8250_write(u, THR, 'y');
    CHECK(p.irq && p.irq_changes == before + 2, "uart THR write pulses a high IRQ (edge)");
    uart8250_write(u, IER, 0x00);
    CHECK(!p.irq, "uart clearing IER lowers the IRQ");
    uart8250_free(u);
}

static void test_rx_interrupt(void)
{
    struct probe p;
    struct uart8250 *u = new_uart(&p);
    uart8250_write(u, IER, 0x01);
    CHECK(!p.irq, "uart ERBFI alone with no data: IRQ low");
    feed(u, "r");
    CHECK(p.irq, "uart received byte raises the IRQ with ERBFI");
    CHECK_EQ(uart8250_read(u, IIR), 0x04, "uart IIR received data without FIFO");
    uart8250_read(u, RBR);
    CHECK(!p.irq, "uart reading RBR lowers the IRQ");
    uart8250_write(u, FCR, 0xc1);          /* trigger level 14 */
    feed(u, "abc");
    CHECK_EQ(uart8250_read(u, IIR), 0xcc, "uart FIFO below trigger reports timeout");
    feed(u, "defghijklmn");
    CHECK_EQ(uart8250_read(u, IIR), 0xc4, "uart FIFO at trigger reports data available");
    uart8250_free(u);
}

static void test_io_ops_widths(void)
{
    struct probe p;
    struct uart8250 *u = new_uart(&p);
    uart8250_io_ops.write(u, 3, 1, 0x80);
    uart8250_io_ops.write(u, 0, 2, 0x0201);
    CHECK_EQ(uart8250_io_ops.read(u, 0, 2), 0x0201, "uart word access splits into DLL/DLM");
    uart8250_io_ops.write(u, 3, 1, 0x00);
    uart8250_io_ops.write(u, 7, 1, 0x33);
    CHECK_EQ(uart8250_io_ops.read(u, 6, 2), 0x33b0, "uart word read covers MSR and SCR");
    CHECK_EQ(uart8250_io_ops.read(u, 7, 4), 0xffffff33, "uart bytes past the ports read ones");
    uart8250_io_ops.write(u, 7, 8, ~0ull);
    CHECK_EQ(uart8250_read(u, SCR), 0xff, "uart oversized write stays within the ports");
    uart8250_free(u);
}

/* Random accesses: nothing may crash, and the invariants hold. */
static void test_random_accesses(void)
{
    struct probe p;
    struct uart8250 *u = new_uart(&p);
    unsigned seed = 12345;
    bool ok = true;
    for (int i = 0; i < 200000 && ok; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned off = (seed >> 8) % 10, size = 1u << ((seed >> 16) % 4);
        uint64_t val = seed ^ ((uint64_t)seed << 29);
        if (seed & 0x80000000u)
            uart8250_io_ops.write(u, off, size, val);
        else
            uart8250_io_ops.read(u, off, size);
        if ((seed & 0x7000) == 0)
            feed(u, "fuzz");
        ok = uart8250_rx_room(u) <= 16 && (uart8250_read(u, LSR) & 0x60) == 0x60 &&
             p.irq == uart8250_irq_level(u) && !(uart8250_read(u, IIR) & 0x30);
    }
    CHECK(ok, "uart random accesses keep LSR, IIR, room and IRQ consistent");
    uart8250_free(u);
}

/* --- Device glue (fake environment) ------------------------------------------------------------ */

static uint8_t pio_in(struct fake_env *f, uint16_t port)
{
    return (uint8_t)fake_env_in(f, port, 1);
}

static void pio_out(struct fake_env *f, uint16_t port, uint8_t b)
{
    fake_env_out(f, port, 1, b);
}

/* Wait up to 2 s for the guest side to see LSR.DR. */
static bool wait_dr(struct fake_env *f, uint16_t base)
{
    for (int i = 0; i < 2000; i++) {
        if (pio_in(f, base + 5) & 1)
            return true;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return false;
}

static void test_vm_glue_fds(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct fake_env f;
    fake_env_init(&f, 0, true);
    f.log_level = HK_LOG_ERROR;
    struct hk_com com = {.backend = HK_COM_FDS, .in_fd = sv[0], .out_fd = sv[0]};
    char err[200];
    CHECK_EQ(uart8250_create(&f.env, 0, &com, err, sizeof(err)), 0, "uart com1 on fds created");
    pio_out(&f, 0x3f8, 'A');
    char c = 0;
    CHECK(read(sv[1], &c, 1) == 1 && c == 'A', "uart com1 output reaches the fd");
    char in[41];
    for (int i = 0; i < 40; i++)
        in[i] = (char)('a' + i % 26);
    /* FIFO on before input arrives: toggling FCR0 empties the FIFOs. */
    pio_out(&f, 0x3fa, 0x01);
    CHECK_EQ(write(sv[1], in, 40), 40, "uart test wrote 40 bytes of input");
    bool in_order = true;
    int pending_min = 40;
    for (int i = 0; i < 40 && in_order; i++) {
        in_order = wait_dr(&f, 0x3f8) && pio_in(&f, 0x3f8) == (uint8_t)in[i];
        int pending = 0;
        ioctl(sv[0], FIONREAD, &pending);
        if (i == 0 && pending < pending_min)
            pending_min = pending;
    }
    CHECK(in_order, "uart com1 input arrives in order through the FIFO");
    CHECK(pending_min >= 40 - 17, "uart full FIFO leaves the rest in the host buffer");
    CHECK_EQ(uart8250_create(&f.env, 1, &com, err, sizeof(err)), 0,
             "uart com2 may share com1's descriptors");
    com = (struct hk_com){.backend = HK_COM_NULL, .in_fd = -1, .out_fd = -1};
    CHECK_EQ(uart8250_create(&f.env, 0, &com, err, sizeof(err)), HK_EEXIST,
             "uart second com1 refused: ports in use");
    CHECK(strstr(err, "0x3f8") != NULL, "uart port conflict message names the ports");
    fake_env_fini(&f);
    close(sv[0]);
    close(sv[1]);
}

static void test_vm_glue_errors(void)
{
    struct fake_env f;
    fake_env_init(&f, 0, true);
    f.log_level = HK_LOG_ERROR;
    char err[200] = "";
    struct hk_com com = {.backend = HK_COM_LOG, .path = "/nonexistent-dir/com.log",
                         .in_fd = -1, .out_fd = -1};
    CHECK_EQ(uart8250_create(&f.env, 1, &com, err, sizeof(err)), HK_ENOENT,
             "uart bad log path gives HK_ENOENT");
    CHECK(strstr(err, "/nonexistent-dir/com.log") && !strchr(err, '\n'),
          "uart error is one line naming the path");
    CHECK_EQ(uart8250_create(&f.env, 2, &com, err, sizeof(err)), HK_EINVAL,
             "uart index 2 is refused");
    com = (struct hk_com){.backend = HK_COM_NULL, .in_fd = -1, .out_fd = -1};
    CHECK_EQ(uart8250_create(&f.env, 1, &com, err, sizeof(err)), 0, "uart com2 on null created");
    pio_out(&f, 0x2ff, 0x42);
    CHECK_EQ(pio_in(&f, 0x2ff), 0x42, "uart com2 answers at 0x2f8");
    pio_out(&f, 0x2f9, 0x02);   /* IER.ETBEI with THR empty: an interrupt */
    CHECK(fake_env_level(&f, 3) && f.raises[3] == 1, "uart com2 raises IRQ 3");
    pio_in(&f, 0x2fa);          /* reading IIR clears the THRE interrupt */
    CHECK(!fake_env_level(&f, 3) && f.bad_lines == 0, "uart com2 lowers IRQ 3");
    CHECK_EQ(f.nteardowns, 1, "uart failed creations leave no device behind");
    /* As `hyperkit ... </dev/null`: /dev/null cannot be polled. */
    int devnull = open("/dev/null", O_RDWR);
    com = (struct hk_com){.backend = HK_COM_FDS, .in_fd = devnull, .out_fd = devnull};
    CHECK_EQ(uart8250_create(&f.env, 0, &com, err, sizeof(err)), 0,
             "uart input that cannot be polled is ignored, not an error");
    fake_env_fini(&f);
    close(devnull);
}

int main(void)
{
    test_reset_state();
    test_tx_and_rx();
    test_fifo_and_overrun();
    test_no_fifo_overrun();
    test_dlab_and_scratch();
    test_loopback();
    test_iir_priorities();
    test_thre_interrupt();
    test_rx_interrupt();
    test_io_ops_widths();
    test_random_accesses();
    test_vm_glue_fds();
    test_vm_glue_errors();
    TEST_EXIT();
}
