#!/usr/bin/env bash
# Write the seed corpus for fuzz_emu into tests/fuzz/corpus/emu, for
# fuzz_decode into tests/fuzz/corpus/decode and for fuzz_virtq into
# tests/fuzz/corpus/virtq (the files are checked in; run this after
# changing a target's header or to add seeds).
#
# emu seed: seed NAME MODE CFG REGS RFLAGS HANDLER IRQ_VEC IRQ_PERIOD DATA PAGING CODE
#   MODE, CFG, RFLAGS, HANDLER, IRQ_*, PAGING: hex bytes, see struct fz_hdr in fuzz_emu.c
#   REGS: 16 hex nibbles, one per register rax rcx rdx rbx rsp rbp rsi rdi r8..r15,
#         each choosing a value (fz_reg_value): 0 zero (rsp: the stack), 1 one,
#         2 data page, 3 read-only page, 4 supervisor page, 5 unmapped, 6 MMIO,
#         7 non-canonical, 8 all ones, 9 0xffffffff, a straddles into read-only,
#         b high alias, c end of RAM, d DATA as a number, e port 0x3f8, f code
#   DATA: 16 hex digits, the device answers and the "d" register value
#   CODE: hex bytes, spaces allowed
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$here/corpus/emu
mkdir -p "$out" "$here/corpus/decode" "$here/corpus/virtq"

hex() { # hex digits (spaces ignored) -> bytes
    local h=${1// /} i
    for ((i = 0; i < ${#h}; i += 2)); do printf "\\x${h:i:2}"; done
}

seed() {
    local name=$1 mode=$2 cfg=$3 regs=$4 rflags=$5 handler=$6 irqv=$7 irqp=$8 data=$9
    local paging=${10} code=${11} packed="" i
    for ((i = 0; i < 16; i += 2)); do packed+="${regs:i+1:1}${regs:i:1}"; done
    { hex "$mode$cfg$packed$rflags$handler$irqv$irqp$data${paging}00"; hex "$code"; } >"$out/$name"
}

Z=0000000000000000  # all registers zero (rsp: the stack)
D=0000000000000000  # no device data
SMALL=4000000000000000 # DATA: the "d" value 0x40, devices answer 0x40...

# Long mode, CPL 0: plain instructions.
seed nop_hlt            00 00 $Z 00 00 00 00 $D 00 "90 f4"
seed alu                00 00 8d1e000000000000 00 00 00 00 $SMALL 00 "4801c8 4829d0 4821d8 4831c0 48ffc0 48d1e0 480fafc1 4819c8 4811c8 48f7d8 f4"
seed mem_rw             00 00 0000002200000000 00 00 00 00 $D 00 "488b06 488907 488b4e08 f0480fb10e f4"
seed call_ret           00 00 $Z 00 00 00 00 $D 00 "50 5b e801000000 f4 c3"
seed rep_small          00 00 0d00002200000000 00 00 00 00 $SMALL 00 "f3a4 f348ab f3a6 f2ae fd f3aa f4"
seed rep_huge           00 01 0800002200000000 00 00 00 00 $D 00 "f3 a4"
seed port_io            00 00 0de0002200000000 00 00 00 00 1122334455667788 00 "e460 e680 66ed ef ec 6c 6e f4"
seed rep_ins_outs       00 00 0de0002200000000 00 00 00 00 $SMALL 00 "f36c f36e f3666d f4"
seed mmio_rw            00 00 0006000000000000 00 00 00 00 1122334455667788 00 "8b03 8903 488b03 8803 668b03 f00fc103 f4"
seed mmio_string        00 00 0d00006200000000 00 00 00 00 $SMALL 00 "f3a4 f4"
seed pf_unmapped        00 00 0005000000000000 00 00 00 00 $D 00 "8b03 f4"
seed pf_readonly        00 00 0003000000000000 00 00 00 00 $D 00 "8903 f4"
seed gp_noncanonical    00 00 0007000000000000 00 00 00 00 $D 00 "8b03 f4"
seed ud_handler         00 00 $Z 00 02 00 00 $D 00 "0f0b 9090 9090 9090 f4"
seed iretq_handler      00 00 $Z 00 01 00 00 $D 00 "0f0b f4f4 4883042402 48cf"
seed self_modify        00 00 0000000f00000000 00 00 00 00 $D 00 "c64706f4 9090 90 ebfe"
seed cr_lgdt_invlpg     00 00 0000002200000000 00 00 00 00 $D 00 "0f20d8 0f22d8 0f20e0 0f22e0 0f013f 0f0106 f4"
seed far_jmp_compat     00 00 0000002000000000 00 00 00 00 $D 00 "ff6e10 90909090909090909090909090 2000010040000000 9090909090909090 b801000000 f4"
seed segments           00 00 0100000000000000 00 00 00 00 $D 00 "b810000000 8ed0 8ed8 66b85800 0f00d0 0f00c8 0f02c1 0f03c1 0f00e0 0f00e8 66b83000 0f00d8 f4"
seed x87_sse            00 00 0000002000000000 00 00 00 00 $D 00 "d9e8 d9ee dec1 dd1e 0f28c1 660fefc0 f30f58c1 0fae06 0fae0e f4"
seed cpuid_msr          00 00 $Z 00 00 00 00 $D 00 "0fa2 0f31 b9800000c0 0f32 0f30 b910080000 0f32 0f30 b91b000000 0f32 f4"
seed irq_sti            00 00 $Z 01 00 20 00 $D 00 "fb 90 90 f4"
seed irq_hlt_wake       00 00 $Z 01 00 30 02 $D 00 "fb f4 f4 f4"
seed enter_leave_flags  00 00 $Z 00 00 00 00 $D 00 "c8100001 c9 9c 9d 9f 9e f4"
seed atomics            00 00 0000002200000000 00 00 00 00 $D 00 "480fc70e 480fc106 480fbcc1 480fbdc1 480fa4c805 f4"
seed divide_error       00 00 $Z 00 00 00 00 $D 00 "31c9 f7f1 f4"
seed loops              00 00 $Z 00 00 00 00 $D 00 "b905000000 ffc0 e2fc e300 7400 f4"
seed system_misc        00 00 $Z 00 00 00 00 $D 00 "0f01f8 0f01f9 0f06 0f23c0 0f21c0 0f09 f4"
seed xchg_cmov_setcc    00 00 $Z 00 00 00 00 $D 00 "4887d8 0f44c1 0f94c0 480fc8 f4"
seed sse4_aes           00 00 $Z 00 00 00 00 $D 00 "660f38dcc1 660f3800c1 660f3a0fc104 660f3817c1 f20f38f0c1 f4"
seed rdrand             00 00 $Z 00 00 00 00 $D 00 "480fc7f0 480fc7f8 f4"
seed too_long           00 00 $Z 00 00 00 00 $D 00 "66666666666666666666666666666666 90 f4"
seed straddle_ram_end   00 00 000c000000000000 00 00 00 00 $D 00 "ffe3"
seed exec_mmio          00 00 0006000000000000 00 00 00 00 $D 00 "ffe3"
seed exec_highalias     00 00 000b000000000000 00 00 00 00 $D 00 "8b03 f4"
seed mmio_stack_fault   00 00 0000600000000000 00 00 00 00 0000800000000000 00 "0f0b"
seed triple_fault       80 00 $Z 00 00 00 00 $D 00 "0f0b"
seed double_fault_ist   20 00 0000700000000000 00 00 00 00 $D 00 "0f0b"
seed trap_flag          00 00 $Z 04 00 00 00 $D 00 "90 90 f4"
seed mmx_x87_alias      00 00 0000002000000000 00 00 00 00 $D 00 "0f6fc1 0ffec8 0f71d003 0f7e06 0f7f4e08 0f38 00c1 d9e8 0f77 d9e8 0fe7 0e 0ff7c1 f4"
seed trap_flag_rep      00 00 0d00002200000000 04 00 00 00 $SMALL 00 "f3a4 9c 8124 24ff feffff 9d 90 f4"
seed alignment_check    04 80 0000002000000000 08 00 00 00 $D 00 "8b4601 66894e03 488b4607 0f28460f f4"
seed int1_icebp         00 00 $Z 00 00 00 00 $D 00 "f1 90 f4"
seed nm_ts              00 02 $Z 00 00 00 00 $D 00 "d9e8 0f28c1 f4"
seed ud_no_osfxsr       00 08 $Z 00 00 00 00 $D 00 "0f28c1 f4"
seed trace_devnull      00 20 $Z 00 00 00 00 $D 00 "0f0b"
seed bad_msr_ignored    00 40 $Z 00 00 00 00 $D 00 "b934120000 0f32 0f30 f4"

# CPL 3: privileged instructions fault; syscalls and gates.
seed user_int           04 00 $Z 00 00 00 00 $D 00 "cc cd80 f4"
seed user_syscall       04 00 $Z 00 01 00 00 $D 00 "0f05 9090 480f07"
seed user_iopl3_io      04 00 $Z 30 00 00 00 $D 00 "fa fb e460 f4"
seed user_supervisor_pf 04 00 0004000000000000 00 00 00 00 $D 00 "8b03 f4"
seed user_sysenter      04 00 $Z 00 00 00 00 $D 00 "0f34 0f35 f4"

# Compat mode, legacy protected mode (no paging, 32-bit, PAE), real mode.
seed compat_bcd         02 00 $Z 00 00 00 00 $D 00 "27 2f 37 3f d40a d50a 60 61 f4"
seed compat_user        06 00 0006000000000000 00 00 00 00 $D 00 "8b03 cd80 f4"
seed prot32_flat        03 00 0002000000000000 00 00 00 00 $D 00 "8b03 8903 cd03 f4"
seed prot32_paging      03 00 0005000000000000 00 00 00 00 $D 01 "8b03 8903 f4"
seed prot32_pae         03 00 0006000000000000 00 00 00 00 $D 02 "8b03 8903 0f0b f4"
seed prot32_far_16      03 00 $Z 00 00 00 00 $D 00 "ea0000010048 00 f4"
seed real_mode          10 00 $Z 00 00 00 00 $D 00 "b80010 8ed8 a10000 cd10 f4"
seed real_mode_io       10 00 $Z 00 00 00 00 1122334455667788 00 "e460 e680 f4"

# The one-instruction-at-a-time driver.
seed step_alu           08 00 8d1e000000000000 00 00 00 00 $SMALL 00 "4801c8 4829d0 f4"
seed step_io_mmio       08 00 0de6002200000000 00 00 00 00 1122334455667788 00 "e460 8b03 f36c 6e f4"
seed step_irq           08 00 $Z 01 00 21 01 $D 00 "fb 90 f4 f4"
seed step_faults        08 00 0005000000000000 00 02 00 00 $D 00 "8b03 90 0f0b 90 f4"
seed step_mmio_stack    08 00 0000600000000000 00 00 00 00 0000800000000000 00 "0f0b 90 90 8b03 f4"
seed step_rep_huge      08 01 0800002200000000 00 00 00 00 $D 00 "f3 a4"

# fuzz_decode seeds: one mode byte (0 long, 1 prot32, 2 compat32, 3 prot16,
# 4 compat16, 5 real), then up to 15 instruction bytes.
dec() { hex "$2" >"$here/corpus/decode/$1"; }
dec long_rex_sib   "00 4c8b84c8 78563412"
dec long_rip_rel   "00 488b0510000000"
dec long_prefixes  "00 f0f2f3 66 67 2e 48 0fb10e"
dec long_vex_like  "00 c5f877"
dec long_sse       "00 66410f3a0fc104"
dec long_x87       "00 dd1e"
dec long_too_long  "00 666666666666666666666666666690"
dec long_moffs     "00 48a1 8877665544332211"
dec prot32_far     "01 ea 78563412 0800"
dec prot16_modrm   "03 8b87 3412"
dec real_enter     "05 c8 1000 01"
dec compat_les     "02 c406"

# Regressions: inputs that found bugs (kept as found, not regenerated).
#   regress_irq_during_mmio_rmw: an interrupt taken between an MMIO exit and
#   the re-execution of its instruction replayed that instruction's log.
#   regress_far_call_mmio_stack: CALL FAR whose second push went to MMIO
#   kept the first push's RSP, so the re-execution pushed elsewhere.
#   regress_ud_trace_bytes_mmio: #UD in code outside RAM; naming the bytes
#   for --trace read them through the device log even without --trace.
#   regress_rep_ins_replay: REP INSB, then REP INSW, storing over their own
#   bytes; the re-execution after a port exit decoded the new bytes (a
#   different instruction: out of step, or the VMM's answer dropped).

# fuzz_virtq seeds (struct fz_hdr in fuzz_virtq.c): a 16-byte header, the
# driver writes, then guest RAM from address 0. The seeds use a queue of 8
# with the descriptor table at 0x40, the avail ring at 0xc0, the used ring
# at 0xd8 and indirect tables at 0x120; buffers lie above the image (RAM
# is 64 KiB, zero past the image). Each stays under the smoke test's
# 512-byte max_len.
le16() { printf '%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)); }
le32() { le16 $(($1 & 0xffff)); le16 $(($1 >> 16 & 0xffff)); }
le64() { le32 $(($1 & 0xffffffff)); le32 $(($1 >> 32 & 0xffffffff)); }
VD=0x40 VA=0xc0 VU=0xd8 VI=0x120
NEXT=1 WRITE=2 INDIRECT=4
# vq_begin NAME OPTS [START [SIZE_LOG2]]: OPTS bit 0 INDIRECT_DESC,
# 1 EVENT_IDX, 2 write the writable buffers, 3 toggle kicks.
vq_begin() {
    vq_name=$1 vq_opts=$2 vq_start=${3:-0} vq_log2=${4:-3} vq_writes="" vq_nw=0 vq_img=()
    local i
    for ((i = 0; i < 0x180; i++)); do vq_img[i]=00; done
}
vq_put() { # GPA HEX
    local h=${2// /} i
    for ((i = 0; i < ${#h}; i += 2)); do vq_img[$1 + i / 2]=${h:i:2}; done
}
vq_desc() { vq_put $(($1 + 16 * $2)) "$(le64 $3)$(le32 $4)$(le16 $5)$(le16 $6)"; } # TABLE I ADDR LEN FLAGS NEXT
vq_avail() { # IDX HEAD...: avail->idx, then heads from slot START
    local idx=$1 slot=$vq_start h
    shift
    vq_put $((VA + 2)) "$(le16 $idx)"
    for h in "$@"; do
        vq_put $((VA + 4 + 2 * (slot & 7))) "$(le16 $h)"
        slot=$((slot + 1))
    done
}
vq_write() { vq_writes+="$(le16 $1)$(le16 $2)"; vq_nw=$((vq_nw + 1)); } # GPA VALUE
vq_end() {
    local hdr
    hdr="$(printf %02x $vq_log2)$(printf %02x $vq_opts)0000$(le16 $VD)$(le16 $VA)$(le16 $VU)"
    hdr+="$(le16 $vq_start)$(printf %02x $vq_nw)a50000"
    { hex "$hdr"; hex "$vq_writes"; hex "$(printf %s "${vq_img[@]}")"; } >"$here/corpus/virtq/$vq_name"
}

vq_begin direct_rw 4
vq_desc $VD 0 0x1000 64 $NEXT 5
vq_desc $VD 5 0x2000 32 $WRITE 0
vq_avail 1 0
vq_end

vq_begin indirect 5
vq_desc $VD 2 $VI 48 $INDIRECT 0
vq_desc $VI 0 0x1000 16 $NEXT 1
vq_desc $VI 1 0x2000 512 $((NEXT | WRITE)) 2
vq_desc $VI 2 0x3000 1 $WRITE 0
vq_avail 1 2
vq_end

vq_begin direct_then_indirect 5
vq_desc $VD 0 0x1000 16 $NEXT 1
vq_desc $VD 1 $VI 32 $INDIRECT 0
vq_desc $VI 0 0x1100 16 $NEXT 1
vq_desc $VI 1 0x2000 4096 $WRITE 0
vq_avail 1 0
vq_end

# Three chains, used_event 1, kicks toggled.
vq_begin event_idx 14
for i in 0 1 2; do vq_desc $VD $i $((0x1000 + 0x100 * i)) 64 $WRITE 0; done
vq_put $((VA + 4 + 16)) "$(le16 1)"
vq_avail 3 0 1 2
vq_end

vq_begin no_interrupt_kicks 12
vq_desc $VD 0 0x1000 8 0 0
vq_desc $VD 1 0x1008 8 $WRITE 0
vq_put $VA "$(le16 1)"
vq_avail 2 0 1
vq_end

# Indices about to wrap: last_avail and used_idx 0xfffe, avail->idx 2.
vq_begin index_wrap 4 0xfffe
for i in 0 1 2 3; do vq_desc $VD $i $((0x1000 + 0x40 * i)) 64 $WRITE 0; done
vq_avail 2 0 1 2 3
vq_end

# The driver publishes one chain, then rewrites its descriptor and
# publishes it again, then makes a third entry available.
vq_begin driver_writes 4
vq_desc $VD 0 0x1000 16 $WRITE 0
vq_avail 0 0 0 0
vq_write $((VA + 2)) 1
vq_write $((VD + 8)) 0x2000
vq_write $((VA + 2)) 2
vq_write $((VA + 2)) 3
vq_end

# The guest points a writable buffer at the rings themselves.
vq_begin buffer_on_rings 4
vq_desc $VD 0 0 0x180 $WRITE 0
vq_desc $VD 1 $VA 8 $WRITE 0
vq_avail 2 0 1
vq_end

vq_begin zero_length 4
vq_desc $VD 0 0xdead00000000 0 $NEXT 1
vq_desc $VD 1 0x1000 8 $((NEXT | WRITE)) 2
vq_desc $VD 2 0x2000 0 $WRITE 0
vq_avail 1 0
vq_end

vq_begin bad_loop 4
vq_desc $VD 0 0x1000 8 $NEXT 1
vq_desc $VD 1 0x1000 8 $NEXT 0
vq_avail 1 0
vq_end

vq_begin bad_nested_indirect 5
vq_desc $VD 0 $VI 32 $INDIRECT 0
vq_desc $VI 0 0x1000 8 $NEXT 1
vq_desc $VI 1 $VI 16 $INDIRECT 0
vq_avail 1 0
vq_end

vq_begin bad_write_then_read 4
vq_desc $VD 0 0x1000 8 $((NEXT | WRITE)) 1
vq_desc $VD 1 0x1000 8 0 0
vq_avail 1 0
vq_end
# fuzz_virtio_blk seeds: FLAGS (1 ro, 2 discard, 4 write-zeroes) CAPACITY
# NOUT NIN, one length byte per segment, then the segments' bytes (a
# 16-byte header: le32 type, le32 reserved, le64 sector; data; status).
mkdir -p "$here/corpus/virtio_blk"
vb() { hex "$2" >"$here/corpus/virtio_blk/$1"; }
z() { printf '%0*d' $(($1 * 2)) 0; }   # N zero bytes in hex
hdr() { printf '%02x000000 00000000 %02x00000000000000' "$1" "$2"; }  # TYPE SECTOR
vb read      "06 40 01 04 10 ff ff 02 01 $(hdr 0 1) $(z 513)"
vb write     "06 40 03 01 10 ff 01 01 $(hdr 1 2) $(z 256) 00"
vb write_ro  "07 40 03 01 10 ff 01 01 $(hdr 1 2) $(z 256) 00"
vb read_end  "06 02 01 04 10 ff ff 02 01 $(hdr 0 1) $(z 513)"
vb flush     "06 40 01 01 10 01 $(hdr 4 0) 00"
vb get_id    "06 40 01 02 10 14 01 $(hdr 8 0) $(z 21)"
vb discard   "06 40 02 01 10 10 01 $(hdr 11 0) 0400000000000000 08000000 00000000 00"
vb wzeroes   "06 40 02 01 10 20 01 $(hdr 13 0) 0000000000000000 04000000 01000000 3800000000000000 08000000 00000000 00"
vb split_hdr "06 40 03 02 05 0b 00 ff 01 $(hdr 0 3) $(z 256)"
vb no_status "06 40 01 00 10 $(hdr 0 0)"
vb unknown   "06 40 01 01 10 01 $(hdr 77 0) 00"

# fuzz_qcow2 seeds: small images made by qemu-img and qemu-io (512 B to
# 4 KiB clusters keep them a few KiB), one per feature the reader meets.
# Skipped without qemu-img; the checked-in files stay.
if command -v qemu-img >/dev/null && command -v qemu-io >/dev/null; then
    q=$here/corpus/qcow2
    w=$(mktemp -d)
    mkdir -p "$q"
    mk() { qemu-img create -q -f qcow2 -o "$1" "$w/img" "$2"; }
    io() { qemu-io -f qcow2 -c "$1" "$w/img" >/dev/null; }
    keep() { cp "$w/img" "$q/$1"; rm -f "$w/img"; }
    writes() { io "write -P 0x11 0 1k"; io "write -P 0x22 3k 512"; io "write -z 8k 2k"; }
    mk cluster_size=512 64K; keep v3_512_empty
    mk cluster_size=512 64K; writes; keep v3_512_data
    mk cluster_size=512,compat=0.10 64K; io "write -P 0x33 0 2k"; keep v2_512_data
    mk cluster_size=512 64K; writes; io "discard 0 1k"; keep v3_512_discarded
    mk cluster_size=512,refcount_bits=1 64K; writes; keep v3_512_refbits1
    mk cluster_size=512,refcount_bits=64 64K; writes; keep v3_512_refbits64
    # Crafted from that: every refcount table entry names one block whose
    # counts are all non-zero, so allocation scans past the table and grows it.
    cp "$q/v3_512_refbits64" "$w/img"
    head -c 512 /dev/zero | tr '\0' '\1' | dd of="$w/img" bs=1 seek=1024 conv=notrunc 2>/dev/null
    for i in $(seq 0 63); do
        printf '\0\0\0\0\0\0\004\0' | dd of="$w/img" bs=1 seek=$((512 + 8 * i)) conv=notrunc 2>/dev/null
    done
    keep crafted_full_refcounts
    mk cluster_size=4096 64M; io "write -P 0x44 60M 8k"; keep v3_4k_sparse
    mk cluster_size=512 64K; io "write -P 0x55 0 1k"; qemu-img snapshot -c s1 "$w/img"
    io "write -P 0x66 512 1k"; keep v3_512_snapshot
    mk cluster_size=512,lazy_refcounts=on 64K; io "write -P 0x77 0 1k"
    printf '\001' | dd of="$w/img" bs=1 seek=79 conv=notrunc 2>/dev/null; keep v3_512_dirty
    qemu-img create -q -f raw "$w/base.raw" 64K
    qemu-img create -q -f qcow2 -o cluster_size=512 -b base.raw -F raw "$w/img"
    io "write -P 0x88 1k 1k"; keep v3_512_backing
    head -c 8192 /dev/zero | tr '\0' 'a' >"$w/raw"
    printf 'hyperkit qcow2 compressed seed' | dd of="$w/raw" bs=1 seek=2048 conv=notrunc 2>/dev/null
    for t in zlib zstd; do
        qemu-img convert -c -O qcow2 -o cluster_size=1024,compression_type=$t "$w/raw" "$w/img"
        keep v3_1k_compressed_$t
    done
    rm -rf "$w"
fi

# fuzz_p9 seeds: SERVER-BYTE (0 rw, 1 ro) ROOM-BYTE, then messages
# (fid 0 is attached by the target). m TYPE BODY: one message, tag 1.
mkdir -p "$here/corpus/p9"
le() { # VALUE BYTES -> little-endian hex
    local v=$1 n=$2 i out=""
    for ((i = 0; i < n; i++)); do out+=$(printf '%02x' $(((v >> (8 * i)) & 255))); done
    printf '%s' "$out"
}
s9() { le ${#1} 2; printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
m() { local body=${2// /}; printf '%s' "$(le $((7 + ${#body} / 2)) 4)$(le "$1" 1)0100$body"; }
p9seed() { hex "$2" >"$here/corpus/p9/$1"; }
walk1() { m 110 "$(le 0 4)$(le "$1" 4)0100$(s9 "$2")"; }
p9seed read "00ff$(walk1 1 f)$(m 12 "$(le 1 4)$(le 0 4)")$(m 116 "$(le 1 4)$(le 0 8)$(le 100 4)")$(m 24 "$(le 1 4)$(le 2047 8)")"
p9seed create "00ff$(walk1 1 d)$(m 14 "$(le 1 4)$(s9 new)$(le 66 4)$(le 420 4)$(le 0 4)")$(m 118 "$(le 1 4)$(le 0 8)$(le 3 4)616263")$(m 120 "$(le 1 4)")"
p9seed readdir "01ff$(m 110 "$(le 0 4)$(le 1 4)0000")$(m 12 "$(le 1 4)$(le 0 4)")$(m 40 "$(le 1 4)$(le 0 8)$(le 4096 4)")"
p9seed escape "01ff$(m 110 "$(le 0 4)$(le 1 4)0300$(s9 ..)$(s9 abs)$(s9 x)")$(walk1 2 rel)$(m 22 "$(le 2 4)")$(m 12 "$(le 2 4)$(le 0 4)")"
p9seed names "0010$(m 72 "$(le 0 4)$(s9 dd)$(le 493 4)$(le 0 4)")$(m 16 "$(le 0 4)$(s9 ln)$(s9 /etc)$(le 0 4)")$(m 74 "$(le 0 4)$(s9 dd)$(le 0 4)$(s9 ee)")$(m 76 "$(le 0 4)$(s9 ee)$(le 512 4)")$(m 8 "$(le 0 4)")"

# fuzz_vsock seeds: records (see fuzz_vsock.c). vh: a 44-byte header with
# cids and type valid, SRC-PORT-BYTE DST-PORT-BYTE (mapped by FIX bit 2) OP
# FLAGS BUF-ALLOC FWD-CNT; tx FIX SPLIT HDR: a packet record of 44 bytes
# given (176 sent), rx ROOM COUNT: rx buffers.
mkdir -p "$here/corpus/vsock"
vh() { printf '%s' "$(le 3 8)$(le 2 8)$(le "$1" 4)$(le "$2" 4)$(le 0 4)0100$(le "$3" 2)$(le "$4" 4)$(le "$5" 4)$(le "$6" 4)"; }
tx() { printf '00%02x2c%02x%s' "$1" "$2" "$3"; }
rx() { printf '01%02x%02x' "$1" "$2"; }
vsseed() { hex "$2" >"$here/corpus/vsock/$1"; }
vsseed guest "$(rx 255 4)$(tx 5 16 "$(vh 0 0 1 0 262144 0)")$(tx 7 32 "$(vh 0 0 5 0 262144 0)")0203$(tx 5 44 "$(vh 0 0 4 3 262144 0)")$(rx 255 4)"
vsseed host "$(rx 255 8)0200$(tx 5 0 "$(vh 0 8 2 0 262144 0)")0201$(rx 255 8)0203$(tx 5 20 "$(vh 0 8 6 0 262144 3000)")$(tx 5 20 "$(vh 0 8 7 0 262144 0)")0202$(rx 100 8)"
vsseed refused "$(rx 3 4)$(tx 5 3 "$(vh 1 9 1 0 4096 0)")$(tx 1 50 "$(vh 2 2 5 0 0 0)")$(rx 255 4)03"

# fuzz_net seeds: FEATURES (le16, bits as kFeat in fuzz_net.c; 0x3003:
# MRG_RXBUF VERSION_1 MAC STATUS; 0x8000 legacy), then records: ntx NSEG
# SEGS... BYTES (SEGS: "LEN PLACE" pairs), nrxb COUNT SIZE NSEG, nfr LEN,
# 03 reset, 04 QUEUE OFF VALUE scribble (see fuzz_net.c).
mkdir -p "$here/corpus/net"
ntx() { local n=$1 out; shift; out="00$(le $((n - 1)) 1)"; while [ $# -gt 1 ]; do out+="$(le "$1" 2)$(le "$2" 1)"; shift 2; done; printf '%s%s' "$out" "$1"; }
nrxb() { printf '01%s%s%s' "$(le $(($1 - 1)) 1)" "$(le $(($2 - 1)) 2)" "$(le $(($3 - 1)) 1)"; }
nfr() { printf '02%s' "$(le "$1" 2)"; }
eth="ffffffffffff0200000000010800$(printf '45000028000100004006%04x' 0)7f0000010a00020f00500050000000000000000050020000000000000000"
nhdr() { printf '%02x%02x%s%s%s%s' "$1" "$2" "$(le "$3" 2)" "$(le "$4" 2)" "$(le "$5" 2)" "$(le "$6" 2)"; } # FLAGS GSO HDRLEN GSOSIZE CSTART COFF (10 bytes)
netseed() { hex "$2" >"$here/corpus/net/$1"; }
netseed tx_split "$(le $((0x3003)) 2)$(ntx 2 12 0 54 0 "$(nhdr 0 0 0 0 0 0)0000$eth")"
netseed tx_one_seg "$(le $((0x3003)) 2)$(ntx 1 66 0 "$(nhdr 0 0 0 0 0 0)0000$eth")"
netseed tx_csum_gso "$(le $((0x3f0f)) 2)$(ntx 2 12 0 54 0 "$(nhdr 1 1 54 1448 34 16)0000$eth")$(ntx 1 66 0 "$(nhdr 1 0 0 0 34 16)0000$eth")$(ntx 1 66 0 "$(nhdr 2 4 54 1400 34 6)0000$eth")"
netseed tx_hostile "$(le $((0x3003)) 2)$(ntx 1 8 0 00)$(ntx 2 12 0 4 0 "$(nhdr 0 0 0 0 0 0)0000")$(ntx 3 12 0 60000 0 60000 0 "")$(ntx 2 12 0 60 2 "")$(ntx 2 12 3 60 0 "")$(ntx 1 66 1 "")"
netseed rx_mergeable "$(le $((0x3003)) 2)$(nrxb 3 1000 1)$(nfr 2500)$(nfr 100)$(nrxb 4 4096 2)$(nfr 60)$(nfr 9000)"
netseed rx_legacy "$(le $((0xb000)) 2)$(nrxb 2 2048 2)$(nfr 1500)$(nfr 3000)$(nfr 60)$(nrxb 1 16384 3)$(nfr 16000)"
netseed rx_waiting "$(le $((0x300b)) 2)$(nfr 100)$(nfr 200)$(nrxb 1 64 1)$(nrxb 8 2048 1)03$(nfr 300)$(nrxb 2 2048 1)"
netseed scribble "$(le $((0x7003)) 2)$(nrxb 4 2048 1)040006000080$(ntx 1 66 0 "")0401e80f0300$(nfr 500)"
