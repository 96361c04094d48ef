/* The parsed form of a VM configuration (struct hk_config). */
#ifndef HK_CORE_CONFIG_H
#define HK_CORE_CONFIG_H

#include "hyperkit.h"

#define HK_MAX_PCI_SLOTS 64
#define HK_MAX_COM 2
#define HK_MAX_BOOT_MODULES 8

/* -s [bus:]slot[:func],emulation[,conf] */
struct hk_pci_slot {
    uint8_t bus, slot, func;
    char emulation[32];
    char *conf;          /* may be NULL */
};

/* Where a serial port's bytes go (-l comN,backend). */
enum hk_com_backend {
    HK_COM_NONE = 0,     /* port not configured */
    HK_COM_STDIO,
    HK_COM_NULL,
    HK_COM_AUTOPTY,      /* path: optional symlink to create */
    HK_COM_LOG,          /* path: log file */
    HK_COM_DEVICE,       /* path: a host tty or file */
    HK_COM_FDS,          /* in_fd/out_fd from hk_config_set_com_fds() */
};

struct hk_com {
    enum hk_com_backend backend;
    char *path;
    int in_fd, out_fd;
};

/* -f kind,... */
enum hk_boot_kind {
    HK_BOOT_NONE = 0,
    HK_BOOT_KEXEC,       /* kernel, initrd (may be NULL), cmdline (may be NULL) */
    HK_BOOT_MULTIBOOT,   /* kernel, modules[], cmdline */
    HK_BOOT_BOOTROM,     /* kernel = ROM image */
    HK_BOOT_FLAT64,      /* kernel = flat binary entered in long mode */
};

struct hk_boot_module {
    char *path;
    char *cmdline;       /* may be NULL */
};

struct hk_boot {
    enum hk_boot_kind kind;
    char *kernel;
    char *initrd;
    char *cmdline;
    int nmodules;
    struct hk_boot_module modules[HK_MAX_BOOT_MODULES];
};

struct hk_config {
    uint64_t memory_bytes;       /* default 256 MiB */
    int vcpus;                   /* default 1 */
    char accel[8];               /* "auto", "emu", "kvm" */
    bool flags[HK_FLAG_COUNT];
    uint16_t debug_exit_port;    /* 0: none */
    int gdb_port;                /* 0: none */
    char *trace_path;            /* NULL: no trace */
    bool has_uuid;
    uint8_t uuid[16];
    int npci;
    struct hk_pci_slot pci[HK_MAX_PCI_SLOTS];
    struct hk_com com[HK_MAX_COM];
    struct hk_boot boot;
    hk_log_fn log_fn;
    void *log_opaque;
    enum hk_log_level log_level;
    char error[256];
};

#endif
