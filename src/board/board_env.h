/*
 * The board's dev_env: what every device of a VM is given instead of the
 * VM. Interrupt lines go through an irq_router (shared lines ORed) to the
 * engine's own controllers (kvm) or the irqchip (emu); MSIs to the engine
 * (KVM_SIGNAL_MSI) or the irqchip's LAPICs; exits, teardowns and log lines
 * to the VM core.
 */
#ifndef HK_BOARD_BOARD_ENV_H
#define HK_BOARD_BOARD_ENV_H

#include "board/irq_router.h"
#include "devices/devenv.h"

struct vm;
struct irqchip;

struct board_env {
    struct dev_env env;
    struct vm *vm;
    struct irqchip *irqchip;   /* set once created; NULL when the engine has its own */
    struct irq_router router;
};

/* Fill be for vm (buses, memory, event loop, -U, -u from its config). */
void board_env_init(struct board_env *be, struct vm *vm);
void board_env_fini(struct board_env *be);

#endif
