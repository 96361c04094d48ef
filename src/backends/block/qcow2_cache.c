/*
 * A small cache of cluster-sized metadata tables (L2 tables, refcount
 * blocks). Write-through: callers write each change to the file and into
 * the cached copy, so an entry is never dirty and eviction is free.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/block/qcow2.h"

int qcow2_cache_init(struct qcow2_cache *c, int nslots, size_t table_size)
{
    memset(c, 0, sizeof(*c));
    c->slots = calloc((size_t)nslots, sizeof(*c->slots));
    if (!c->slots)
        return HK_ENOMEM;
    c->nslots = nslots;
    c->table_size = table_size;
    return 0;
}

void qcow2_cache_destroy(struct qcow2_cache *c)
{
    for (int i = 0; i < c->nslots && c->slots; i++)
        free(c->slots[i].data);
    free(c->slots);
    c->slots = NULL;
}

/* The slot holding off, or the one to reuse for it. */
static struct qcow2_cache_slot *find(struct qcow2_cache *c, uint64_t off, bool *hit)
{
    struct qcow2_cache_slot *victim = &c->slots[0];
    for (int i = 0; i < c->nslots; i++) {
        struct qcow2_cache_slot *s = &c->slots[i];
        if (s->off == off && s->data) {
            *hit = true;
            return s;
        }
        if (!s->data || (victim->data && s->used < victim->used))
            victim = s;
    }
    *hit = false;
    return victim;
}

static int fill(struct qcow2_cache *c, struct qcow2_cache_slot *s)
{
    if (!s->data && !(s->data = malloc(c->table_size)))
        return HK_ENOMEM;
    s->off = 0;
    return 0;
}

int qcow2_cache_get(struct qcow2_cache *c, struct blk_file *f, uint64_t off, uint8_t **data)
{
    bool hit;
    struct qcow2_cache_slot *s = find(c, off, &hit);
    if (!hit) {
        int r = fill(c, s);
        if (r < 0)
            return r;
        r = blk_file_pread(f, s->data, c->table_size, off);
        if (r < 0)
            return r;
        s->off = off;
    }
    s->used = ++c->tick;
    *data = s->data;
    return 0;
}

void qcow2_cache_insert(struct qcow2_cache *c, uint64_t off, const uint8_t *content)
{
    bool hit;
    struct qcow2_cache_slot *s = find(c, off, &hit);
    if (!hit && fill(c, s) < 0)
        return; /* not cached: the next get reads it from the file */
    memcpy(s->data, content, c->table_size);
    s->off = off;
    s->used = ++c->tick;
}
