# The fuzzers: libFuzzer targets built with clang, ASan and UBSan, from the
# emu engine's sources, guest memory, the virtqueue and the virtio-blk
# request parser; fuzz_qcow2 from the block layer alone.
#   make -f tests/fuzz/fuzz.mk            build $(FUZZ_BUILD)/fuzz_emu, fuzz_decode, fuzz_virtq,
#                                         fuzz_virtio_blk, fuzz_qcow2, fuzz_p9, fuzz_vsock, fuzz_net
#   make -f tests/fuzz/fuzz.mk replay     corpus replayer for any compiler (no libFuzzer)
FUZZ_BUILD ?= build-fuzz
FUZZ_CC    ?= clang
CC         ?= cc
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CPPFLAGS := -D_GNU_SOURCE -Iinclude -Isrc
FUZZ_WARN  := -Wall -Wextra -Wno-unused-parameter
FUZZ_CFLAGS := -std=c11 -O1 -g -pthread $(FUZZ_WARN) $(FUZZ_SAN)

FUZZ_LIB_SRCS := $(sort $(wildcard src/accel/emu/*.c src/accel/emu/jit/*.c)) src/core/guest_mem.c \
                 src/core/iov.c src/core/log.c \
                 src/devices/virtio/virtqueue.c src/devices/virtio/virtio_blk_req.c
FUZZ_OBJS   := $(FUZZ_LIB_SRCS:%.c=$(FUZZ_BUILD)/fz/%.o)
REPLAY_OBJS := $(FUZZ_LIB_SRCS:%.c=$(FUZZ_BUILD)/rp/%.o)

.PHONY: fuzz replay
.SECONDARY: $(FUZZ_OBJS) $(REPLAY_OBJS)
fuzz: $(FUZZ_BUILD)/fuzz_emu $(FUZZ_BUILD)/fuzz_decode $(FUZZ_BUILD)/fuzz_virtq \
      $(FUZZ_BUILD)/fuzz_virtio_blk $(FUZZ_BUILD)/fuzz_qcow2 $(FUZZ_BUILD)/fuzz_p9 \
      $(FUZZ_BUILD)/fuzz_vsock $(FUZZ_BUILD)/fuzz_net
replay: $(FUZZ_BUILD)/replay_emu $(FUZZ_BUILD)/replay_decode $(FUZZ_BUILD)/replay_virtq \
        $(FUZZ_BUILD)/replay_virtio_blk $(FUZZ_BUILD)/replay_qcow2 $(FUZZ_BUILD)/replay_p9 \
        $(FUZZ_BUILD)/replay_vsock $(FUZZ_BUILD)/replay_net

# fuzz_vsock: virtio-sock's protocol engine; the target fakes the transport.
VS_SRCS    := src/devices/virtio/virtio_sock_proto.c src/core/iov.c
VS_FZ_OBJS := $(VS_SRCS:%.c=$(FUZZ_BUILD)/fz/%.o)
VS_RP_OBJS := $(VS_SRCS:%.c=$(FUZZ_BUILD)/rp/%.o)
.SECONDARY: $(VS_FZ_OBJS) $(VS_RP_OBJS)

$(FUZZ_BUILD)/fuzz_vsock: tests/fuzz/fuzz_vsock.c $(VS_FZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(VS_FZ_OBJS)

$(FUZZ_BUILD)/replay_vsock: tests/fuzz/fuzz_vsock.c tests/fuzz/replay.c $(VS_RP_OBJS)
	$(CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -o $@ $< tests/fuzz/replay.c $(VS_RP_OBJS)

# fuzz_net: virtio-net through the real virtio PCI transport and queues,
# on a fake backend and the unit tests' fake environment.
NET_SRCS    := $(sort $(wildcard src/devices/virtio/virtio_net*.c)) \
               $(sort $(wildcard src/devices/virtio/virtio_pci*.c)) \
               src/devices/virtio/virtqueue.c $(sort $(wildcard src/devices/pci/*.c)) \
               $(sort $(wildcard src/backends/net/*.c)) src/devices/devenv.c \
               src/core/guest_mem.c src/core/iobus.c src/core/evloop.c src/core/error.c \
               src/core/log.c src/core/iov.c
NET_FZ_OBJS := $(NET_SRCS:%.c=$(FUZZ_BUILD)/fz/%.o)
NET_RP_OBJS := $(NET_SRCS:%.c=$(FUZZ_BUILD)/rp/%.o)
NET_LIBS    := -lslirp
.SECONDARY: $(NET_FZ_OBJS) $(NET_RP_OBJS)

$(FUZZ_BUILD)/fuzz_net: tests/fuzz/fuzz_net.c $(NET_FZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(NET_FZ_OBJS) $(NET_LIBS)

$(FUZZ_BUILD)/replay_net: tests/fuzz/fuzz_net.c tests/fuzz/replay.c $(NET_RP_OBJS)
	$(CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -o $@ $< tests/fuzz/replay.c $(NET_RP_OBJS) $(NET_LIBS)

# fuzz_p9: the 9P server alone (parser and operations).
P9_SRCS    := $(sort $(wildcard src/backends/p9/*.c))
P9_FZ_OBJS := $(P9_SRCS:%.c=$(FUZZ_BUILD)/fz/%.o)
P9_RP_OBJS := $(P9_SRCS:%.c=$(FUZZ_BUILD)/rp/%.o)
.SECONDARY: $(P9_FZ_OBJS) $(P9_RP_OBJS)

$(FUZZ_BUILD)/fuzz_p9: tests/fuzz/fuzz_p9.c $(P9_FZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(P9_FZ_OBJS)

$(FUZZ_BUILD)/replay_p9: tests/fuzz/fuzz_p9.c tests/fuzz/replay.c $(P9_RP_OBJS)
	$(CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -o $@ $< tests/fuzz/replay.c $(P9_RP_OBJS)

# fuzz_qcow2: the block layer alone, with zlib and zstd.
BLK_SRCS    := $(sort $(wildcard src/backends/block/*.c)) src/core/iov.c
BLK_FZ_OBJS := $(BLK_SRCS:%.c=$(FUZZ_BUILD)/fz/%.o)
BLK_RP_OBJS := $(BLK_SRCS:%.c=$(FUZZ_BUILD)/rp/%.o)
BLK_LIBS    := -lz -lzstd
.SECONDARY: $(BLK_FZ_OBJS) $(BLK_RP_OBJS)

$(FUZZ_BUILD)/fuzz_qcow2: tests/fuzz/fuzz_qcow2.c $(BLK_FZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(BLK_FZ_OBJS) $(BLK_LIBS)

$(FUZZ_BUILD)/replay_qcow2: tests/fuzz/fuzz_qcow2.c tests/fuzz/replay.c $(BLK_RP_OBJS)
	$(CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -o $@ $< tests/fuzz/replay.c $(BLK_RP_OBJS) $(BLK_LIBS)

$(FUZZ_BUILD)/fz/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_COV) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS)

# The same targets with a plain main() over files: reproduce a crash or
# replay the corpus with gcc, where clang's libFuzzer is missing.
$(FUZZ_BUILD)/rp/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(REPLAY_OBJS)
	$(CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -o $@ $< tests/fuzz/replay.c $(REPLAY_OBJS)

-include $(FUZZ_OBJS:.o=.d) $(REPLAY_OBJS:.o=.d) $(BLK_FZ_OBJS:.o=.d) $(BLK_RP_OBJS:.o=.d) \
         $(P9_FZ_OBJS:.o=.d) $(P9_RP_OBJS:.o=.d) $(VS_FZ_OBJS:.o=.d) $(VS_RP_OBJS:.o=.d) \
         $(NET_FZ_OBJS:.o=.d) $(NET_RP_OBJS:.o=.d)
