/* RDRAND and RDSEED (0F C7 /6 and /7, register forms), fed by the host's
 * getrandom(2). With them Linux seeds its CRNG at boot instead of waiting
 * for timer-jitter entropy, which takes a minute on an interpreter. */
#include <sys/random.h>

#include "accel/emu/exec.h"

EXEC(ex_rdrand)
{
    uint64_t v = 0;
    bool ok = getrandom(&v, in->opsz, GRND_NONBLOCK) == (ssize_t)in->opsz;
    /* On failure hardware returns 0 with CF=0 and the guest retries. */
    reg_write(cpu, in->rm, in->opsz, ok ? v : 0);
    emu_set_rflags(cpu, (emu_rflags(cpu) & ~RFLAGS_ARITH) | (ok ? RFLAGS_CF : 0));
    return next(cpu, in);
}
