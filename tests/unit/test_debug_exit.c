/* isa-debug-exit: status (V << 1) | 1 at the access width, reads 0. */
#include <pthread.h>
#include <stdlib.h>

#include "devices/debug_exit.h"
#include "fake_env.h"
#include "test.h"

/* Write value at port with the given width; return the exit request. */
static struct hk_exit out_to(uint16_t port, unsigned size, uint64_t value)
{
    struct fake_env f;
    fake_env_init(&f, 0, false);
    struct hk_exit e = {0};
    if (debug_exit_create(&f.env, 0xf4) == 0) {
        iobus_access(&f.pio, port, size, true, &value);
        e.reason = f.exit_reason;
        e.status = f.exit_status;
        snprintf(e.message, sizeof(e.message), "%.150s", f.exit_why);
    }
    fake_env_fini(&f);
    return e;
}

int main(void)
{
    struct hk_exit e = out_to(0xf4, 1, 0x10);
    CHECK_EQ(e.reason, HK_EXIT_DEBUG_EXIT, "debug-exit byte write ends the VM");
    CHECK_EQ(e.status, 0x21, "debug-exit status is (V << 1) | 1");
    CHECK(strstr(e.message, "0x10") != NULL, "debug-exit message names the value");
    CHECK_EQ(out_to(0xf4, 1, 0x1ff).status, 0x1ff, "debug-exit byte write keeps 8 bits");
    CHECK_EQ(out_to(0xf4, 2, 0x12345).status, 0x468b, "debug-exit word write keeps 16 bits");
    CHECK_EQ(out_to(0xf4, 4, 0x7fffffff).status, -1, "debug-exit dword write keeps 32 bits");
    CHECK_EQ(out_to(0xf4, 4, 0).status, 1, "debug-exit value 0 gives status 1");
    CHECK_EQ(out_to(0xf5, 1, 3).status, 7, "debug-exit second port of the range works");
    CHECK_EQ(out_to(0xf6, 1, 3).reason, HK_EXIT_NONE, "debug-exit range is two ports");
    CHECK_EQ(out_to(0xf4, 8, 3).reason, HK_EXIT_NONE, "debug-exit ignores 8-byte accesses");

    struct fake_env f;
    fake_env_init(&f, 0, false);
    CHECK_EQ(debug_exit_create(&f.env, 0x501), 0, "debug-exit at QEMU's default port");
    uint64_t v = 0xdead;
    iobus_access(&f.pio, 0x501, 2, false, &v);
    CHECK_EQ(v, 0, "debug-exit reads return 0");
    CHECK_EQ(f.exit_reason, HK_EXIT_NONE, "debug-exit read does not end the VM");
    CHECK_EQ(debug_exit_create(&f.env, 0x502), HK_EEXIST, "debug-exit overlapping port refused");
    CHECK_EQ(debug_exit_create(&f.env, 0), HK_EINVAL, "debug-exit port 0 refused");
    fake_env_fini(&f);
    TEST_EXIT();
}
