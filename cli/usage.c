/*
 * -h and -v. The option letters and their wording follow moby/hyperkit's
 * usage(); --accel and --debug-exit are ours.
 */
#include <stdio.h>

#include "cli.h"

static const char usage_text[] =
    "Usage: hyperkit [-behuwxMACHPWY] [-c vcpus] [-F <pidfile>] [-g <gdb port>] [-l <lpc>]\n"
    "                [-m mem] [-s <pci>] [-U uuid] [--accel=ENGINE] [--debug-exit[=PORT]]\n"
    "                -f <fw>\n"
    "       -A: create ACPI tables\n"
    "       -b: enable the bvm console (not supported)\n"
    "       -c: # cpus (default 1)\n"
    "       -C: include guest memory in core file\n"
    "       -e: exit on unhandled I/O access\n"
    "       -f: firmware, one of\n"
    "             kexec,KERNEL[,INITRD][,\"CMDLINE\"]\n"
    "             multiboot,KERNEL[,MODULE[;CMDLINE][:MODULE[;CMDLINE]]...][,CMDLINE]\n"
    "             bootrom,ROM\n"
    "             flat64,FILE  (a flat binary run in 64-bit mode at 0x100000)\n"
    "       -F: pidfile (must not exist; removed at exit)\n"
    "       -g: gdb port\n"
    "       -h: help\n"
    "       -H: vmexit from the guest on hlt\n"
    "       -l: LPC device configuration: com1|com2[,BACKEND], BACKEND one of\n"
    "             stdio, null, autopty[=LINKFILE], log=FILE or a host device path.\n"
    "           Ex: -l com1,stdio -l com2,autopty -l com2,/dev/ttyS1\n"
    "       -m: memory size in MB, may be suffixed with one of K, M, G or T\n"
    "           (default 256M)\n"
    "       -M: print the vmnet MAC address (macOS only, not supported)\n"
    "       -P: vmexit from the guest on pause\n"
    "       -s: <slot,driver,configinfo> PCI slot config:\n"
    "             [bus:]slot[:func],EMULATION[,CONF] with EMULATION one of\n"
    "             hostbridge, amd_hostbridge, lpc, virtio-blk, virtio-net,\n"
    "             virtio-tap, virtio-vpnkit, virtio-rnd, virtio-sock, virtio-9p,\n"
    "             ahci-hd, ahci-cd, uart, dummy\n"
    "       -u: RTC keeps UTC time\n"
    "       -U: uuid (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)\n"
    "       -v: show build version and engines\n"
    "       -w: ignore unimplemented MSRs\n"
    "       -W: force virtio to use single-vector MSI\n"
    "       -x: local apic is in x2APIC mode\n"
    "       -Y: disable MPtable generation\n"
    "       --accel=auto|emu|kvm: the engine that runs the guest\n"
    "           (default: $HYPERKIT_ACCEL, else auto: kvm if usable, else emu)\n"
    "       --trace=FILE: write exceptions, interrupts and crash state to FILE\n"
    "           (emu), the count of exits to the VMM (kvm)\n"
    "       --debug-exit[=PORT]: a guest write of V to PORT (default 0xf4)\n"
    "           ends the VM with exit status (V << 1) | 1\n"
    "       --help, --version: same as -h, -v\n"
    "Exit status: 0 power-off or halt, 1 error, 2 reboot, 3 triple fault,\n"
    "             100 unknown.\n";

void cli_usage(FILE *out)
{
    fputs(usage_text, out);
}

void cli_version(FILE *out)
{
    fprintf(out, "hyperkit: %s\n\nengines:", hk_version());
    const char *const *names = hk_accel_names();
    int n = 0;
    for (; names && names[n]; n++)
        fprintf(out, " %s", names[n]);
    fprintf(out, "%s\n", n ? "" : " none");
}
