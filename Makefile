# hyperkit: libhyperkit (static + shared), the hyperkit command, test guests
# and tests. `make test` runs the suite; `make san` runs it under ASan+UBSan.

BUILD   ?= build
PREFIX  ?= /usr/local
CC      ?= cc
SAN     ?= 0
VERSION := 0.1.0

WERROR      ?= -Werror
CFLAGS_WARN := -Wall -Wextra $(WERROR) -Wno-unused-parameter
CPPFLAGS    += -D_GNU_SOURCE -Iinclude -Isrc
CFLAGS      ?= -O2 -g
override CFLAGS += -std=c11 -pthread -fPIC $(CFLAGS_WARN)
LDLIBS      += -pthread -lutil -llzma -lzstd -lz -lslirp

ifeq ($(SAN),1)
override CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRCS  := $(shell find src -name '*.c' | sort)
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_SRCS  := $(wildcard cli/*.c)
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
GUEST_SRCS := $(filter-out tests/guests/multiboot.S,$(wildcard tests/guests/*.S))
GUEST_BINS := $(GUEST_SRCS:tests/guests/%.S=$(BUILD)/guests/%.bin) \
              $(BUILD)/guests/multiboot.elf $(BUILD)/guests/multiboot-aout.bin
# Ring-0 conformance guests in C (tests/guests/sys): one binary per sys_*.c.
SYS_GUEST_SRCS := $(wildcard tests/guests/sys/sys_*.c)
SYS_GUEST_BINS := $(SYS_GUEST_SRCS:tests/guests/sys/%.c=$(BUILD)/guests/%.bin)
SYS_RT_OBJS    := $(BUILD)/guests/sys/entry.o $(BUILD)/guests/sys/rt.o
SYS_CFLAGS     := -std=gnu11 -O2 -ffreestanding -fno-pic -fno-pie -mno-red-zone \
                  -mgeneral-regs-only -fno-stack-protector -fno-asynchronous-unwind-tables \
                  -fcf-protection=none -Wall -Wextra $(WERROR) -Itests/guests/sys
GUEST_BINS += $(SYS_GUEST_BINS)
# Static Linux programs run in the Debian guest by tests/linux/
# test_linux_sysprogs.sh, packed as an initramfs layer that goes after
# initramfs-shell.img. NAME32 is SRC.c built -m32 (IA32 emulation), NAME64
# (and io) 64-bit. Needs gcc-multilib (scripts/install-deps.sh).
PROGS_CC     ?= gcc
PROGS_CFLAGS := -static -s -O2 -Wall -Wextra $(WERROR) -fno-pie -no-pie
PROGS_DIR    := $(BUILD)/linux-progs
PROGS_NAMES  := seg32 sig32 sys32 sys64 movss32 movss64 io ptrace32 ptrace64
PROGS_BINS   := $(PROGS_NAMES:%=$(PROGS_DIR)/bin/%)
PROGS_IMG    := $(PROGS_DIR)/progs.cpio.gz
# The disk tests' layer (tests/linux/test_disk_*.sh, bench/disk-bench.sh):
# the O_DIRECT helper, the vsock helper (test_vsock.sh), the net helper (test_net.sh) and the
# guest-side script, in /progs, kept apart from
# the programs above so those boots unpack only what they run.
DISK_IMG     := $(PROGS_DIR)/disk.cpio.gz
DISK_FILES   := $(PROGS_DIR)/bin/diskio $(PROGS_DIR)/bin/vsock $(PROGS_DIR)/bin/net \
                tests/linux/progs/disk-guest.sh
.SECONDARY: $(SYS_RT_OBJS) $(SYS_GUEST_SRCS:tests/guests/sys/%.c=$(BUILD)/guests/sys/%.o)

.PHONY: all lib cli guests tests linux-progs test san check demo demo-hello guest kvm-testbed bench bench-kvm bench-loop bench-disk bench-net fuzz install clean

# Debian's kernel and busybox initramfs images for the Linux tests
# (downloaded with apt, cached outside the tree by the script).
GUEST_DIR ?= build/guest
all: lib cli guests tests

lib: $(BUILD)/libhyperkit.a $(BUILD)/libhyperkit.so $(BUILD)/hyperkit.pc
cli: $(BUILD)/hyperkit
guests: $(GUEST_BINS)
tests: $(TEST_BINS) $(BUILD)/tests/net_embed linux-progs
linux-progs: $(PROGS_IMG) $(DISK_IMG)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libhyperkit.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libhyperkit.so: $(LIB_OBJS)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libhyperkit.so.0 -o $@ $^ $(LDLIBS)

$(BUILD)/hyperkit.pc: hyperkit.pc.in
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@

$(BUILD)/hyperkit: $(CLI_OBJS) $(BUILD)/libhyperkit.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(BUILD)/libhyperkit.a $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(wildcard tests/cpu/*.h) $(BUILD)/libhyperkit.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libhyperkit.a $(LDFLAGS) $(LDLIBS)

# Test guests: flat 64-bit binaries, entered by `-f flat64,FILE`.
$(BUILD)/guests/%.bin: tests/guests/%.S tests/guests/guest.inc tests/guests/hexdigits.inc
	@mkdir -p $(dir $@)
	$(CC) -c -nostdlib -Itests/guests -o $(BUILD)/guests/$*.o $<
	ld -Ttext=0x100000 --build-id=none -o $(BUILD)/guests/$*.elf $(BUILD)/guests/$*.o
	objcopy -O binary -j .text $(BUILD)/guests/$*.elf $@

$(BUILD)/guests/sys/%.o: tests/guests/sys/%.c tests/guests/sys/rt.h
	@mkdir -p $(dir $@)
	$(CC) $(SYS_CFLAGS) -c -o $@ $<

$(BUILD)/guests/sys/entry.o: tests/guests/sys/entry.S
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ $<

$(BUILD)/guests/sys_%.bin: $(BUILD)/guests/sys/sys_%.o $(SYS_RT_OBJS) tests/guests/sys/link.ld
	ld -T tests/guests/sys/link.ld -nostdlib -z noexecstack --build-id=none -o $(BUILD)/guests/sys_$*.elf \
	    $(SYS_RT_OBJS) $<
	objcopy -O binary $(BUILD)/guests/sys_$*.elf $@

$(PROGS_DIR)/bin/%32: tests/linux/progs/%.c tests/linux/progs/check.h tests/linux/progs/segv.h
	@mkdir -p $(dir $@)
	$(PROGS_CC) -m32 $(PROGS_CFLAGS) -o $@ $<

$(PROGS_DIR)/bin/%64: tests/linux/progs/%.c tests/linux/progs/check.h tests/linux/progs/segv.h
	@mkdir -p $(dir $@)
	$(PROGS_CC) -m64 $(PROGS_CFLAGS) -o $@ $<

$(PROGS_DIR)/bin/io: tests/linux/progs/io.c tests/linux/progs/check.h tests/linux/progs/segv.h
	@mkdir -p $(dir $@)
	$(PROGS_CC) -m64 $(PROGS_CFLAGS) -o $@ $<

$(PROGS_DIR)/bin/diskio: tests/linux/progs/diskio.c
	@mkdir -p $(dir $@)
	$(PROGS_CC) -m64 $(PROGS_CFLAGS) -o $@ $<

$(PROGS_DIR)/bin/vsock: tests/linux/progs/vsock.c
	@mkdir -p $(dir $@)
	$(PROGS_CC) -m64 $(PROGS_CFLAGS) -o $@ $<

$(PROGS_DIR)/bin/net: tests/linux/progs/net.c
	@mkdir -p $(dir $@)
	$(PROGS_CC) -m64 $(PROGS_CFLAGS) -o $@ $<

# test_net.sh's library embedder (run-time port forwards through the API).
$(BUILD)/tests/net_embed: tests/linux/net_embed.c include/hyperkit.h $(BUILD)/libhyperkit.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libhyperkit.a $(LDFLAGS) $(LDLIBS)

# cpio newc + gzip with fixed times and order; the kernel unpacks it after
# (and on top of) the busybox image it is concatenated to.
$(PROGS_IMG): $(PROGS_BINS)
	rm -rf $(PROGS_DIR)/root && mkdir -p $(PROGS_DIR)/root/progs
	cp $(PROGS_BINS) $(PROGS_DIR)/root/progs/
	find $(PROGS_DIR)/root -exec touch -h -d @0 {} +
	(cd $(PROGS_DIR)/root && find . -mindepth 1 | LC_ALL=C sort | \
	    cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -9 -n > $@.new
	mv $@.new $@

$(DISK_IMG): $(DISK_FILES)
	rm -rf $(PROGS_DIR)/disk-root && mkdir -p $(PROGS_DIR)/disk-root/progs
	cp $(DISK_FILES) $(PROGS_DIR)/disk-root/progs/
	find $(PROGS_DIR)/disk-root -exec touch -h -d @0 {} +
	(cd $(PROGS_DIR)/disk-root && find . -mindepth 1 | LC_ALL=C sort | \
	    cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -9 -n > $@.new
	mv $@.new $@

# Multiboot test kernels: a 32-bit ELF, and a flat a.out-kludge image.
MB_INCS := tests/guests/mb_entry.inc tests/guests/hexdigits.inc
$(BUILD)/guests/multiboot.elf: tests/guests/multiboot.S $(MB_INCS)
	@mkdir -p $(dir $@)
	$(CC) -m32 -c -o $(BUILD)/guests/multiboot.o $<
	ld -m elf_i386 -Ttext=0x100000 --build-id=none -o $@ $(BUILD)/guests/multiboot.o

$(BUILD)/guests/multiboot-aout.bin: tests/guests/multiboot.S $(MB_INCS)
	@mkdir -p $(dir $@)
	$(CC) -m32 -DAOUT_KLUDGE -c -o $(BUILD)/guests/multiboot-aout.o $<
	ld -m elf_i386 -Ttext=0x100000 --build-id=none -o $(BUILD)/guests/multiboot-aout.elf \
	    $(BUILD)/guests/multiboot-aout.o
	objcopy -O binary -j .text $(BUILD)/guests/multiboot-aout.elf $@

test: all
	HYPERKIT_GUEST_DIR=$(abspath $(GUEST_DIR)) tests/run.sh $(BUILD)

guest:
	sh scripts/fetch-guest.sh $(GUEST_DIR)

# ASan + UBSan run the guest several times slower: the Linux tests' boot
# limits grow to match (they are limits for a hang, not speed checks).
# The fuzz smoke run is left out there (its targets are built with ASan +
# UBSan already and ran in the plain suite), and the disk test's pattern is
# 16 MiB instead of 64 (the same code paths, a quarter of the guest's time).
# It runs the emu engine's interpreter alone (HYPERKIT_EMU_JIT=0), so CI
# runs every test with the JIT (the default) and without it.
san:
	HYPERKIT_EMU_JIT=0 HYPERKIT_BOOT_TIMEOUT=1200 RUN_FUZZ_SMOKE=0 DISK_PATTERN_MIB=16 \
	    $(MAKE) BUILD=build-san SAN=1 test

# The kvm engine on real KVM nested under QEMU's emulated SVM
# (scripts/kvm-testbed.sh): the engine-independent tests with TEST_ACCEL=kvm.
kvm-testbed: $(BUILD)/hyperkit guests $(BUILD)/tests/net_embed linux-progs
	sh scripts/kvm-testbed.sh $(BUILD)

# The boot bench's hyperkit part on kvm inside that bed (bench/README.md):
# nested under QEMU's TCG, so its figures are labelled as not a hardware figure.
bench-kvm: $(BUILD)/hyperkit guests
	KVM_TESTBED_MODE=bench KVM_TESTBED_RUNS=$(RUNS) sh scripts/kvm-testbed.sh $(BUILD)

# Everything CI runs: the suite, then the suite again under ASan + UBSan,
# and beside them the kvm test bed (one QEMU thread; its output, kept in
# $(BUILD)/kvm-testbed.log, is printed at the end) with the tests that pass
# on kvm there: every test on the one list for both engines (the default
# of scripts/kvm-testbed.sh). The bulk transfers are smaller there, as under
# ASan (the same code paths): the bed's own programs, the test peers in
# Python among them, run under QEMU's emulator.
KVM_TESTBED_CHECK_ENV := DISK_PATTERN_MIB=16 VSOCK_MIB=16 VSOCK_CONNS=16
check:
	$(MAKE) guest
	$(MAKE) all
	$(MAKE) kvm-testbed KVM_TESTBED_ENV="$(KVM_TESTBED_CHECK_ENV)" >$(BUILD)/kvm-testbed.log 2>&1 & \
	bed=$$!; status=0; \
	$(MAKE) test || status=1; \
	$(MAKE) san || status=1; \
	wait $$bed || status=1; \
	cat $(BUILD)/kvm-testbed.log; exit $$status

# The main job: Debian's kernel booted to a busybox shell on this console
# (type `poweroff -f` to leave). demo-hello runs the tiny assembly guest.
demo: cli guest
	$(BUILD)/hyperkit -A -m 512M -s 0:0,hostbridge -s 31,lpc -l com1,stdio \
	    -f kexec,$(GUEST_DIR)/vmlinuz,$(GUEST_DIR)/initramfs-shell.img,"console=ttyS0"

demo-hello: cli guests
	$(BUILD)/hyperkit -m 64M -l com1,stdio --debug-exit -f flat64,$(BUILD)/guests/hello.bin; \
	    status=$$?; echo "(hyperkit exited with status $$status)"; [ $$status = 43 ]

# Boot benchmark against QEMU's software emulator (bench/README.md); RUNS=N for a median of N;
# QEMU runs once per -cpu model in QEMU_CPUS. Then the tight-loop bench (bench-loop).
RUNS ?= 1
QEMU_CPUS ?= qemu64,max
bench: cli guest $(BUILD)/bench/loop-guest.elf
	bash bench/boot-bench.sh --runs $(RUNS) --qemu-cpu $(QEMU_CPUS) --hyperkit $(BUILD)/hyperkit \
	    --guest $(GUEST_DIR) --log-dir $(BUILD)/bench
	$(MAKE) --no-print-directory bench-loop

# Tight-loop bench: test_cpu_diff --bench's loops as the same Multiboot guest
# under hyperkit and QEMU TCG, start-up subtracted (bench/README.md). Its
# figure is a difference of two boots, so one slow boot swings it far (QEMU
# once at 5,340 M instructions/s for 2,050-3,850 otherwise): the median of
# LOOP_RUNS final pairs, 3 unless RUNS asks for more.
LOOP_RUNS ?= $(if $(filter 1 2,$(RUNS)),3,$(RUNS))
bench-loop: cli $(BUILD)/bench/loop-guest.elf
	bash bench/loop-bench.sh --runs $(LOOP_RUNS) --qemu-cpu $(QEMU_CPUS) --hyperkit $(BUILD)/hyperkit \
	    --guest-elf $(BUILD)/bench/loop-guest.elf --log-dir $(BUILD)/bench

# A 32-bit Multiboot ELF (QEMU's -kernel loads no other kind) that enters long mode itself.
$(BUILD)/bench/loop-guest.elf: bench/loop-guest.S $(MB_INCS)
	@mkdir -p $(dir $@)
	$(CC) -m32 -Itests/guests -c -o $(BUILD)/bench/loop-guest.o $<
	ld -m elf_i386 -Ttext=0x100000 --build-id=none -o $@ $(BUILD)/bench/loop-guest.o

# Disk bench: O_DIRECT throughput and random-read IOPS on virtio-blk (raw,
# qcow2) against QEMU TCG's, same guest and images (bench/README.md).
bench-disk: cli linux-progs guest
	bash bench/disk-bench.sh --hyperkit $(BUILD)/hyperkit --guest $(GUEST_DIR) \
	    --layer $(DISK_IMG) --log-dir $(BUILD)/bench

# Network bench: TCP over slirp both ways, 9p read/write, vsock, against
# QEMU TCG's user networking and virtio-9p, same guest (bench/README.md).
bench-net: cli linux-progs guest
	bash bench/net-bench.sh --hyperkit $(BUILD)/hyperkit --guest $(GUEST_DIR) \
	    --layer $(DISK_IMG) --log-dir $(BUILD)/bench

# libFuzzer targets for the emu engine (clang): tests/fuzz/README.md
fuzz:
	$(MAKE) -f tests/fuzz/fuzz.mk

install: lib cli
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(BUILD)/hyperkit $(DESTDIR)$(PREFIX)/bin/hyperkit
	install -m 644 $(BUILD)/libhyperkit.a $(DESTDIR)$(PREFIX)/lib/libhyperkit.a
	install -m 755 $(BUILD)/libhyperkit.so $(DESTDIR)$(PREFIX)/lib/libhyperkit.so.0
	ln -sf libhyperkit.so.0 $(DESTDIR)$(PREFIX)/lib/libhyperkit.so
	install -m 644 include/hyperkit.h $(DESTDIR)$(PREFIX)/include/hyperkit.h
	install -m 644 $(BUILD)/hyperkit.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/hyperkit.pc

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d)
