/*
 * The 9P2000.L server driven directly with messages over a temp
 * directory: the operations Linux uses, confinement (".." at the root,
 * names with '/', symlinks pointing out, symlinks and directories swapped
 * in on the host after a walk), the ro share, and hostile messages.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hyperkit.h"
#include "p9_client.h"
#include "test.h"

static char top[64], share[96], outside[96];

static void sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    if (system(cmd) != 0)
        fprintf(stderr, "command failed: %s\n", cmd);
}

static void setup(void)
{
    snprintf(top, sizeof(top), "/tmp/hk-p9-XXXXXX");
    if (!mkdtemp(top))
        abort();
    snprintf(share, sizeof(share), "%s/share", top);
    snprintf(outside, sizeof(outside), "%s/outside", top);
    sh("mkdir -p %s/sub %s && echo SECRET >%s/secret.txt && echo hello >%s/f.txt", share,
       outside, outside, share);
    sh("ln -s %s %s/abs && ln -s ../outside %s/rel && ln -s ../../outside %s/sub/up2", outside,
       share, share, share);
    sh("echo SECRET >%s/secret.txt", top);
}

static void test_ops(void)
{
    static struct pc c;
    CHECK_EQ(p9_server_new(share, false, &c.s), 0, "ops: server");
    CHECK_EQ(pc_version(&c, 1u << 30), P9_TVERSION + 1, "ops: Rversion");
    CHECK_EQ(p9_get32(&c.in), P9_MAX_MSIZE, "ops: msize capped");
    CHECK_EQ(pc_version(&c, 100), P9_RLERROR, "ops: a tiny msize refused");
    CHECK_EQ(pc_version(&c, 65536), P9_TVERSION + 1, "ops: msize 64 KiB");
    CHECK_EQ(p9_server_msize(c.s), 65536, "ops: msize negotiated");
    CHECK_EQ(pc_attach(&c, 0), P9_TATTACH + 1, "ops: Rattach");
    CHECK_EQ(pc_attach(&c, 0), P9_RLERROR, "ops: fid in use");
    int nq = -1;
    /* Create, write, read back. */
    CHECK_EQ(pc_walk(&c, 0, 1, &nq, 0), 0, "ops: clone");
    pc_begin(&c, P9_TLCREATE);
    p9_put32(&c.o, 1);
    pc_s(&c, "new.txt");
    p9_put32(&c.o, O_RDWR | O_CREAT);
    p9_put32(&c.o, 0640);
    p9_put32(&c.o, 0);
    CHECK_EQ(pc_call(&c), P9_TLCREATE + 1, "ops: Rlcreate");
    pc_begin(&c, P9_TWRITE);
    p9_put32(&c.o, 1);
    p9_put64(&c.o, 3);
    p9_put32(&c.o, 5);
    memcpy(p9_reserve(&c.o, 5), "world", 5);
    CHECK_EQ(pc_call(&c), P9_TWRITE + 1, "ops: Rwrite");
    CHECK_EQ(p9_get32(&c.in), 5, "ops: 5 written");
    char buf[256] = "";
    CHECK_EQ(pc_read(&c, 1, 0, 100, buf), 8, "ops: read back 8 bytes");
    CHECK(!memcmp(buf + 3, "world", 5) && !buf[0], "ops: the bytes at their offset");
    struct stat st;
    char path[256];
    snprintf(path, sizeof(path), "%s/new.txt", share);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640 && st.st_size == 8,
          "ops: the host sees the file");
    /* Setattr: mode, size, mtime. */
    pc_begin(&c, P9_TSETATTR);
    p9_put32(&c.o, 1);
    p9_put32(&c.o, 0x1 | 0x8 | 0x20 | 0x100);
    p9_put32(&c.o, 0604);
    p9_put32(&c.o, 0);
    p9_put32(&c.o, 0);
    p9_put64(&c.o, 4);
    p9_put64(&c.o, 0);
    p9_put64(&c.o, 0);
    p9_put64(&c.o, 1234567890);
    p9_put64(&c.o, 5);
    CHECK_EQ(pc_call(&c), P9_TSETATTR + 1, "ops: Rsetattr");
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0604 && st.st_size == 4 &&
              st.st_mtime == 1234567890,
          "ops: mode, size and mtime set");
    pc_begin(&c, P9_TGETATTR);
    p9_put32(&c.o, 1);
    p9_put64(&c.o, ~0ull);
    CHECK_EQ(pc_call(&c), P9_TGETATTR + 1, "ops: Rgetattr");
    p9_getbytes(&c.in, 8 + 13);
    CHECK_EQ(p9_get32(&c.in) & 07777, 0604, "ops: getattr mode");
    CHECK_EQ(pc_simple(&c, P9_TCLUNK, 1), 0, "ops: clunk");
    CHECK_EQ(pc_simple(&c, P9_TCLUNK, 1), EBADF, "ops: clunk twice");
    /* mkdir, symlink, link, readlink, renameat, unlinkat, readdir. */
    pc_begin(&c, P9_TMKDIR);
    p9_put32(&c.o, 0);
    pc_s(&c, "d");
    p9_put32(&c.o, 0755);
    p9_put32(&c.o, 0);
    CHECK_EQ(pc_call(&c), P9_TMKDIR + 1, "ops: Rmkdir");
    pc_begin(&c, P9_TSYMLINK);
    p9_put32(&c.o, 0);
    pc_s(&c, "ln");
    pc_s(&c, "/etc/passwd");
    p9_put32(&c.o, 0);
    CHECK_EQ(pc_call(&c), P9_TSYMLINK + 1, "ops: Rsymlink");
    CHECK_EQ(pc_walk(&c, 0, 2, &nq, 1, "ln"), 0, "ops: walk to the symlink");
    CHECK_EQ(pc_simple(&c, P9_TREADLINK, 2), 0, "ops: Rreadlink");
    struct p9_str t = p9_getstr(&c.in);
    CHECK(t.len == 11 && !memcmp(t.s, "/etc/passwd", 11), "ops: the target as text");
    CHECK_EQ(pc_lopen(&c, 2, O_RDONLY), ELOOP, "ops: opening a symlink is refused");
    CHECK_EQ(pc_walk(&c, 0, 3, &nq, 1, "new.txt"), 0, "ops: walk to the file");
    pc_begin(&c, P9_TLINK);
    p9_put32(&c.o, 0);
    p9_put32(&c.o, 3);
    pc_s(&c, "hard");
    CHECK_EQ(pc_call(&c), P9_TLINK + 1, "ops: Rlink");
    CHECK(stat(path, &st) == 0 && st.st_nlink == 2, "ops: two links");
    pc_begin(&c, P9_TRENAMEAT);
    p9_put32(&c.o, 0);
    pc_s(&c, "hard");
    p9_put32(&c.o, 0);
    pc_s(&c, "hard2");
    CHECK_EQ(pc_call(&c), P9_TRENAMEAT + 1, "ops: Rrenameat");
    pc_begin(&c, P9_TUNLINKAT);
    p9_put32(&c.o, 0);
    pc_s(&c, "hard2");
    p9_put32(&c.o, 0);
    CHECK_EQ(pc_call(&c), P9_TUNLINKAT + 1, "ops: Runlinkat");
    pc_begin(&c, P9_TUNLINKAT);
    p9_put32(&c.o, 0);
    pc_s(&c, "d");
    p9_put32(&c.o, 0x200);
    CHECK_EQ(pc_call(&c), P9_TUNLINKAT + 1, "ops: Runlinkat of a directory");
    CHECK_EQ(pc_walk(&c, 0, 4, &nq, 0), 0, "ops: clone for readdir");
    CHECK_EQ(pc_lopen(&c, 4, O_RDONLY), 0, "ops: open the root");
    pc_begin(&c, P9_TREADDIR);
    p9_put32(&c.o, 4);
    p9_put64(&c.o, 0);
    p9_put32(&c.o, 8192);
    CHECK_EQ(pc_call(&c), P9_TREADDIR + 1, "ops: Rreaddir");
    uint32_t cnt = p9_get32(&c.in);
    int names = 0, seen_new = 0;
    for (struct p9_in e = {.p = p9_getbytes(&c.in, cnt), .len = cnt}; e.off < e.len && !e.err;) {
        p9_getbytes(&e, 13 + 8 + 1);
        struct p9_str n = p9_getstr(&e);
        names++;
        seen_new |= n.len == 7 && !memcmp(n.s, "new.txt", 7);
    }
    CHECK(names >= 8 && seen_new, "ops: readdir lists the entries");
    pc_begin(&c, P9_TSTATFS);
    p9_put32(&c.o, 0);
    CHECK_EQ(pc_call(&c), P9_TSTATFS + 1, "ops: Rstatfs");
    pc_begin(&c, P9_TFSYNC);
    p9_put32(&c.o, 3);
    p9_put32(&c.o, 0);
    CHECK_EQ(pc_call(&c), P9_TFSYNC + 1, "ops: Rfsync");
    pc_begin(&c, P9_TXATTRWALK);
    p9_put32(&c.o, 0);
    p9_put32(&c.o, 9);
    pc_s(&c, "user.x");
    int ty = pc_call(&c);
    CHECK_EQ(pc_err(&c, ty), EOPNOTSUPP, "ops: xattrs not supported");
    pc_begin(&c, P9_TLOCK);
    p9_put32(&c.o, 3);
    p9_put8(&c.o, 1);
    p9_put32(&c.o, 0);
    p9_put64(&c.o, 0);
    p9_put64(&c.o, 0);
    p9_put32(&c.o, 1);
    pc_s(&c, "guest");
    CHECK_EQ(pc_call(&c), P9_TLOCK + 1, "ops: Rlock");
    CHECK_EQ(p9_get8(&c.in), 0, "ops: lock granted");
    pc_begin(&c, P9_TFLUSH);
    p9_put16(&c.o, 7);
    CHECK_EQ(pc_call(&c), P9_TFLUSH + 1, "ops: Rflush");
    CHECK_EQ(pc_simple(&c, P9_TREMOVE, 3), 0, "ops: Tremove");
    CHECK(stat(path, &st) < 0, "ops: removed");
    CHECK_EQ(pc_simple(&c, P9_TCLUNK, 3), EBADF, "ops: Tremove clunked the fid");
    p9_server_free(c.s);
}

static void test_escape(void)
{
    static struct pc c;
    CHECK_EQ(p9_server_new(share, false, &c.s), 0, "esc: server");
    pc_version(&c, 65536);
    pc_attach(&c, 0);
    int nq = -1;
    /* ".." at the root stays at the root. */
    CHECK_EQ(pc_walk(&c, 0, 1, &nq, 2, "..", "outside"), 0, "esc: .. then outside: Rwalk");
    CHECK_EQ(nq, 1, "esc: .. stays at the root, 'outside' is not found there");
    CHECK_EQ(pc_walk(&c, 0, 1, &nq, 3, "..", "..", "secret.txt"), 0, "esc: ../../secret.txt");
    CHECK_EQ(nq, 2, "esc: ../.. stays at the root, secret.txt is not found there");
    CHECK_EQ(pc_walk(&c, 0, 1, &nq, 2, "sub", ".."), 0, "esc: sub/.. walks");
    CHECK_EQ(nq, 2, "esc: sub/.. both steps");
    CHECK_EQ(pc_walk(&c, 1, 2, &nq, 1, "f.txt"), 0, "esc: sub/.. is the root");
    pc_simple(&c, P9_TCLUNK, 1);
    pc_simple(&c, P9_TCLUNK, 2);
    /* Names carrying a path are refused. */
    CHECK_EQ(pc_walk(&c, 0, 1, &nq, 1, "../outside"), EINVAL, "esc: '../outside' refused");
    CHECK_EQ(pc_walk(&c, 0, 1, &nq, 1, "/etc"), EINVAL, "esc: '/etc' refused");
    CHECK_EQ(pc_walk(&c, 0, 1, &nq, 1, "sub/up2"), EINVAL, "esc: 'sub/up2' refused");
    CHECK_EQ(pc_walk(&c, 0, 1, &nq, 1, ""), EINVAL, "esc: empty name refused");
    /* Symlinks pointing out are never followed by the server. */
    CHECK_EQ(pc_walk(&c, 0, 1, &nq, 2, "abs", "secret.txt"), 0, "esc: abs/secret.txt: Rwalk");
    CHECK_EQ(nq, 1, "esc: the walk stops at the absolute symlink");
    CHECK_EQ(pc_walk(&c, 0, 1, &nq, 2, "rel", "secret.txt"), 0, "esc: rel/secret.txt: Rwalk");
    CHECK_EQ(nq, 1, "esc: the walk stops at the relative symlink");
    CHECK_EQ(pc_walk(&c, 0, 1, &nq, 3, "sub", "up2", "secret.txt"), 0, "esc: sub/up2/...");
    CHECK_EQ(nq, 2, "esc: the walk stops at sub/up2");
    CHECK_EQ(pc_walk(&c, 0, 1, &nq, 1, "abs"), 0, "esc: walk onto the symlink");
    CHECK_EQ(pc_lopen(&c, 1, O_RDONLY), ELOOP, "esc: opening it is refused");
    pc_begin(&c, P9_TLCREATE);
    p9_put32(&c.o, 1);
    pc_s(&c, "x");
    p9_put32(&c.o, O_RDWR);
    p9_put32(&c.o, 0600);
    p9_put32(&c.o, 0);
    CHECK(pc_call(&c) == P9_RLERROR, "esc: creating under the symlink is refused");
    pc_begin(&c, P9_TMKDIR);
    p9_put32(&c.o, 1);
    pc_s(&c, "x");
    p9_put32(&c.o, 0700);
    p9_put32(&c.o, 0);
    CHECK(pc_call(&c) == P9_RLERROR, "esc: mkdir under the symlink is refused");
    pc_simple(&c, P9_TCLUNK, 1);
    /* A directory fid whose name is swapped on the host for a symlink
     * pointing out keeps naming the directory it walked to. */
    CHECK_EQ(pc_walk(&c, 0, 1, &nq, 1, "sub"), 0, "esc: walk to sub");
    sh("mv %s/sub %s/sub.old && ln -s %s %s/sub", share, share, outside, share);
    CHECK_EQ(pc_walk(&c, 1, 2, &nq, 1, "secret.txt"), ENOENT, "esc: swapped dir: not outside");
    CHECK_EQ(pc_walk(&c, 1, 2, &nq, 1, "up2"), 0, "esc: still the old directory");
    pc_simple(&c, P9_TCLUNK, 2);
    /* A file fid swapped for a symlink to the secret opens the file. */
    CHECK_EQ(pc_walk(&c, 0, 3, &nq, 1, "f.txt"), 0, "esc: walk to f.txt");
    sh("mv %s/f.txt %s/f.old && ln -s %s/secret.txt %s/f.txt", share, share, outside, share);
    CHECK_EQ(pc_lopen(&c, 3, O_RDONLY), 0, "esc: open the walked file");
    char buf[64] = "";
    CHECK_EQ(pc_read(&c, 3, 0, sizeof(buf), buf), 6, "esc: read it");
    CHECK(!memcmp(buf, "hello\n", 6), "esc: the walked file's bytes, not the secret");
    /* Walking a fresh path after the swap stops at the symlink. */
    CHECK_EQ(pc_walk(&c, 0, 4, &nq, 2, "sub", "secret.txt"), 0, "esc: walk after the swap");
    CHECK_EQ(nq, 1, "esc: stops at the swapped-in symlink");
    /* The parent of a directory moved out of the share is refused. */
    CHECK_EQ(pc_walk(&c, 0, 5, &nq, 1, "sub.old"), 0, "esc: walk to sub.old");
    sh("mv %s/sub.old %s/moved", share, outside);
    CHECK_EQ(pc_walk(&c, 5, 6, &nq, 1, ".."), EACCES, "esc: .. of a dir moved out is refused");
    p9_server_free(c.s);
}

static void test_ro(void)
{
    static struct pc c;
    CHECK_EQ(p9_server_new(share, true, &c.s), 0, "ro: server");
    pc_version(&c, 65536);
    pc_attach(&c, 0);
    int nq;
    CHECK_EQ(pc_walk(&c, 0, 1, &nq, 1, "f.old"), 0, "ro: walk");
    CHECK_EQ(pc_lopen(&c, 1, O_WRONLY), EROFS, "ro: open for writing");
    CHECK_EQ(pc_lopen(&c, 1, O_RDONLY | O_TRUNC), EROFS, "ro: O_TRUNC");
    CHECK_EQ(pc_lopen(&c, 1, O_RDONLY), 0, "ro: open for reading");
    pc_begin(&c, P9_TWRITE);
    p9_put32(&c.o, 1);
    p9_put64(&c.o, 0);
    p9_put32(&c.o, 1);
    p9_put8(&c.o, 'x');
    int t = pc_call(&c);
    CHECK_EQ(pc_err(&c, t), EROFS, "ro: write");
    pc_begin(&c, P9_TMKDIR);
    p9_put32(&c.o, 0);
    pc_s(&c, "d");
    p9_put32(&c.o, 0755);
    p9_put32(&c.o, 0);
    t = pc_call(&c);
    CHECK_EQ(pc_err(&c, t), EROFS, "ro: mkdir");
    pc_begin(&c, P9_TUNLINKAT);
    p9_put32(&c.o, 0);
    pc_s(&c, "f.old");
    p9_put32(&c.o, 0);
    t = pc_call(&c);
    CHECK_EQ(pc_err(&c, t), EROFS, "ro: unlinkat");
    pc_begin(&c, P9_TSETATTR);
    p9_put32(&c.o, 1);
    p9_put32(&c.o, 1);
    for (int i = 0; i < 3; i++)
        p9_put32(&c.o, 0);
    for (int i = 0; i < 5; i++)
        p9_put64(&c.o, 0);
    t = pc_call(&c);
    CHECK_EQ(pc_err(&c, t), EROFS, "ro: setattr");
    CHECK_EQ(pc_simple(&c, P9_TREMOVE, 1), EROFS, "ro: remove");
    char path[256];
    snprintf(path, sizeof(path), "%s/f.old", share);
    CHECK(access(path, F_OK) == 0, "ro: nothing removed");
    p9_server_free(c.s);
}

static void test_hostile(void)
{
    static struct pc c;
    CHECK_EQ(p9_server_new(share, false, &c.s), 0, "bad: server");
    uint8_t m[64] = {0};
    uint8_t r[64];
    put32(m, 40);
    m[4] = P9_TVERSION;
    CHECK_EQ(p9_server_handle(c.s, m, 20, r, sizeof(r)), 11, "bad: size field lies: Rlerror");
    CHECK_EQ(r[4], P9_RLERROR, "bad: Rlerror type");
    CHECK_EQ(p9_server_handle(c.s, m, 3, r, sizeof(r)), 0, "bad: no header: no reply");
    CHECK_EQ(p9_server_handle(c.s, m, 20, r, 5), 0, "bad: no room for a reply");
    pc_version(&c, 65536);
    pc_attach(&c, 0);
    /* A string longer than the message. */
    pc_begin(&c, P9_TWALK);
    p9_put32(&c.o, 0);
    p9_put32(&c.o, 1);
    p9_put16(&c.o, 1);
    p9_put16(&c.o, 500);
    int t = pc_call(&c);
    CHECK_EQ(pc_err(&c, t), EPROTO, "bad: string past the end");
    pc_begin(&c, P9_TWALK);
    p9_put32(&c.o, 0);
    p9_put32(&c.o, 1);
    p9_put16(&c.o, 17);
    t = pc_call(&c);
    CHECK_EQ(pc_err(&c, t), EINVAL, "bad: 17 names");
    CHECK_EQ(pc_walk(&c, 77, 1, NULL, 0), EBADF, "bad: unknown fid");
    CHECK_EQ(pc_walk(&c, 0, P9_NOFID, NULL, 0), EBADF, "bad: NOFID as newfid");
    /* Twrite whose count exceeds its data. */
    pc_walk(&c, 0, 1, NULL, 1, "f.old");
    pc_lopen(&c, 1, O_RDWR);
    pc_begin(&c, P9_TWRITE);
    p9_put32(&c.o, 1);
    p9_put64(&c.o, 0);
    p9_put32(&c.o, 0xffffffffu);
    p9_put8(&c.o, 'x');
    t = pc_call(&c);
    CHECK_EQ(pc_err(&c, t), EPROTO, "bad: write count past the end");
    pc_begin(&c, P9_TWRITE);
    p9_put32(&c.o, 1);
    p9_put64(&c.o, ~0ull);
    p9_put32(&c.o, 1);
    p9_put8(&c.o, 'x');
    t = pc_call(&c);
    CHECK_EQ(pc_err(&c, t), EINVAL, "bad: write offset past 2^63");
    /* A huge read count is clamped to the reply buffer. */
    pc_begin(&c, P9_TREAD);
    p9_put32(&c.o, 1);
    p9_put64(&c.o, 0);
    p9_put32(&c.o, 0xffffffffu);
    size_t n = p9_finish(&c.o);
    CHECK_EQ(p9_server_handle(c.s, c.req, n, r, 13), 13, "bad: read clamped to the room");
    CHECK_EQ(le32(r + 7), 2, "bad: two bytes fit");
    CHECK_EQ(pc_lopen(&c, 1, O_RDONLY), EBUSY, "bad: open twice");
    /* Tread and Treaddir want an opened fid of their own kind. */
    char b[8];
    CHECK_EQ(pc_read(&c, 0, 0, sizeof(b), b), -EBADF, "bad: read before open");
    CHECK_EQ(pc_walk(&c, 0, 50, NULL, 0), 0, "bad: clone the root");
    CHECK_EQ(pc_lopen(&c, 50, O_RDONLY), 0, "bad: open the root");
    CHECK_EQ(pc_read(&c, 50, 0, sizeof(b), b), -EISDIR, "bad: read of a directory");
    pc_begin(&c, P9_TREADDIR);
    p9_put32(&c.o, 1);
    p9_put64(&c.o, 0);
    p9_put32(&c.o, 100);
    t = pc_call(&c);
    CHECK_EQ(pc_err(&c, t), ENOTDIR, "bad: readdir of a file");
    pc_simple(&c, P9_TCLUNK, 50);
    pc_begin(&c, 55);
    t = pc_call(&c);
    CHECK_EQ(pc_err(&c, t), EOPNOTSUPP, "bad: an R-message type");
    pc_begin(&c, 200);
    t = pc_call(&c);
    CHECK_EQ(pc_err(&c, t), EOPNOTSUPP, "bad: unknown type");
    /* Too many fids. */
    int made = 0;
    for (uint32_t f = 100; f < 100 + P9_MAX_FIDS + 2; f++)
        made += pc_walk(&c, 0, f, NULL, 0) == 0;
    CHECK(made <= P9_MAX_FIDS && made > 100, "bad: the fid table is bounded");
    p9_server_free(c.s);
}

int main(void)
{
    setup();
    test_ops();
    test_escape();
    test_ro();
    test_hostile();
    sh("rm -rf %s", top);
    TEST_EXIT();
}
