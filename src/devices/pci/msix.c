/*
 * MSI-X (PCI 3.0, 6.8.2) and single-vector MSI (6.8.1). The guest owns
 * every value here; a bad address or data only sends a bad message, which
 * the interrupt router rejects.
 */
#include "devices/pci/msix.h"

#include <stdlib.h>
#include <string.h>

#include "hyperkit.h"

#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_MASK 0x4000
#define MSIX_VEC_MASKED 0x1
#define MSI_CTRL_ENABLE 0x0001
#define MSI_CTRL_64BIT 0x0080

/* Does [offset, offset+size) touch [start, start+len)? */
static bool touches(unsigned offset, unsigned size, unsigned start, unsigned len)
{
    return offset < start + len && start < offset + size;
}

int msix_init(struct msix *m, struct pci_func *f, struct dev_env *env, unsigned nvec, int bar,
              uint32_t table_off, uint32_t pba_off)
{
    if (!m || !f || !env || nvec == 0 || nvec > MSIX_MAX_VECTORS || bar < 0 || bar >= PCI_NBARS ||
        (table_off & 7) || (pba_off & 7))
        return HK_EINVAL;
    memset(m, 0, sizeof(*m));
    m->table = calloc(nvec, sizeof(*m->table));
    m->pba = calloc((nvec + 63) / 64, sizeof(*m->pba));
    if (!m->table || !m->pba) {
        free(m->table);
        free(m->pba);
        return HK_ENOMEM;
    }
    int cap = pci_add_cap(f, PCI_CAP_ID_MSIX, 12);
    if (cap < 0) {
        free(m->table);
        free(m->pba);
        return cap;
    }
    m->func = f;
    m->env = env;
    m->cap = cap;
    m->nvec = nvec;
    /* Vectors start masked (6.8.2.9). */
    for (unsigned i = 0; i < nvec; i++)
        m->table[i].ctrl = MSIX_VEC_MASKED;
    pthread_mutex_init(&m->lock, NULL);
    pci_set_cfg(f, (unsigned)cap + 2, 2, nvec - 1);
    pci_set_wmask(f, (unsigned)cap + 2, 2, MSIX_CTRL_ENABLE | MSIX_CTRL_MASK);
    pci_set_cfg(f, (unsigned)cap + 4, 4, table_off | (uint32_t)bar);
    pci_set_cfg(f, (unsigned)cap + 8, 4, pba_off | (uint32_t)bar);
    return HK_OK;
}

void msix_fini(struct msix *m)
{
    if (!m || !m->table)
        return;
    pthread_mutex_destroy(&m->lock);
    free(m->table);
    free(m->pba);
    m->table = NULL;
    m->pba = NULL;
}

static void send_entry(struct msix *m, unsigned vec)
{
    const struct msix_entry *e = &m->table[vec];
    m->env->ops->msi(m->env->ctx, (uint64_t)e->addr_hi << 32 | e->addr_lo, e->data);
}

static bool pending(const struct msix *m, unsigned vec)
{
    return m->pba[vec / 64] & (1ull << (vec % 64));
}

static void set_pending(struct msix *m, unsigned vec, bool on)
{
    if (on)
        m->pba[vec / 64] |= 1ull << (vec % 64);
    else
        m->pba[vec / 64] &= ~(1ull << (vec % 64));
}

/* Send what became deliverable (lock held). */
static void flush_pending(struct msix *m, unsigned first, unsigned last)
{
    if (!m->enabled || m->masked)
        return;
    for (unsigned v = first; v <= last && v < m->nvec; v++) {
        if (pending(m, v) && !(m->table[v].ctrl & MSIX_VEC_MASKED)) {
            set_pending(m, v, false);
            send_entry(m, v);
        }
    }
}

static uint32_t entry_dword(const struct msix_entry *e, unsigned i)
{
    switch (i) {
    case 0: return e->addr_lo;
    case 1: return e->addr_hi;
    case 2: return e->data;
    default: return e->ctrl;
    }
}

uint64_t msix_table_read(struct msix *m, uint64_t off, unsigned size)
{
    if ((size != 4 && size != 8) || (off & (size - 1)) || off + size > MSIX_TABLE_BYTES(m->nvec))
        return 0;
    pthread_mutex_lock(&m->lock);
    const struct msix_entry *e = &m->table[off / MSIX_ENTRY_SIZE];
    unsigned i = (unsigned)(off % MSIX_ENTRY_SIZE) / 4;
    uint64_t v = entry_dword(e, i);
    if (size == 8)
        v |= (uint64_t)entry_dword(e, i + 1) << 32;
    pthread_mutex_unlock(&m->lock);
    return v;
}

static void entry_write(struct msix_entry *e, unsigned i, uint32_t v)
{
    switch (i) {
    case 0: e->addr_lo = v & ~3u; break;     /* dword aligned (6.8.2.5) */
    case 1: e->addr_hi = v; break;
    case 2: e->data = v; break;
    default: e->ctrl = v & MSIX_VEC_MASKED; break;
    }
}

void msix_table_write(struct msix *m, uint64_t off, unsigned size, uint64_t value)
{
    if ((size != 4 && size != 8) || (off & (size - 1)) || off + size > MSIX_TABLE_BYTES(m->nvec))
        return;
    pthread_mutex_lock(&m->lock);
    unsigned vec = (unsigned)(off / MSIX_ENTRY_SIZE);
    unsigned i = (unsigned)(off % MSIX_ENTRY_SIZE) / 4;
    entry_write(&m->table[vec], i, (uint32_t)value);
    if (size == 8)
        entry_write(&m->table[vec], i + 1, (uint32_t)(value >> 32));
    flush_pending(m, vec, vec);
    pthread_mutex_unlock(&m->lock);
}

uint64_t msix_pba_read(struct msix *m, uint64_t off, unsigned size)
{
    if ((size != 4 && size != 8) || (off & (size - 1)) || off + size > MSIX_PBA_BYTES(m->nvec))
        return 0;
    pthread_mutex_lock(&m->lock);
    uint64_t v = m->pba[off / 8];
    pthread_mutex_unlock(&m->lock);
    if (size == 4)
        v = (uint32_t)(v >> (8 * (off & 4)));
    return v;
}

void msix_cfg_written(struct msix *m, unsigned offset, unsigned size)
{
    if (!m->table || !touches(offset, size, (unsigned)m->cap + 2, 2))
        return;
    uint16_t ctrl = (uint16_t)pci_get_cfg(m->func, (unsigned)m->cap + 2, 2);
    pthread_mutex_lock(&m->lock);
    m->enabled = ctrl & MSIX_CTRL_ENABLE;
    m->masked = ctrl & MSIX_CTRL_MASK;
    flush_pending(m, 0, m->nvec - 1);
    pthread_mutex_unlock(&m->lock);
}

bool msix_enabled(struct msix *m)
{
    if (!m->table)
        return false;
    pthread_mutex_lock(&m->lock);
    bool on = m->enabled;
    pthread_mutex_unlock(&m->lock);
    return on;
}

void msix_notify(struct msix *m, unsigned vec)
{
    if (!m->table || vec >= m->nvec)
        return;
    pthread_mutex_lock(&m->lock);
    if (m->enabled) {
        if (m->masked || (m->table[vec].ctrl & MSIX_VEC_MASKED))
            set_pending(m, vec, true);
        else
            send_entry(m, vec);
    }
    pthread_mutex_unlock(&m->lock);
}

/* --- MSI ------------------------------------------------------------------------ */

/* Layout with 64-bit addresses, no per-vector masking: control at +2,
 * address at +4 and +8, data at +12 (6.8.1). */
int msi_init(struct msi *m, struct pci_func *f, struct dev_env *env)
{
    if (!m || !f || !env)
        return HK_EINVAL;
    memset(m, 0, sizeof(*m));
    int cap = pci_add_cap(f, PCI_CAP_ID_MSI, 14);
    if (cap < 0)
        return cap;
    m->func = f;
    m->env = env;
    m->cap = cap;
    pthread_mutex_init(&m->lock, NULL);
    /* One vector requested (MMC 0); the enable bit and MME are writable,
     * but MME reads back 0 since only one vector exists. */
    pci_set_cfg(f, (unsigned)cap + 2, 2, MSI_CTRL_64BIT);
    pci_set_wmask(f, (unsigned)cap + 2, 2, MSI_CTRL_ENABLE);
    pci_set_wmask(f, (unsigned)cap + 4, 4, 0xfffffffcu);
    pci_set_wmask(f, (unsigned)cap + 8, 4, 0xffffffffu);
    pci_set_wmask(f, (unsigned)cap + 12, 2, 0xffff);
    return HK_OK;
}

void msi_fini(struct msi *m)
{
    if (m && m->func) {
        pthread_mutex_destroy(&m->lock);
        m->func = NULL;
    }
}

void msi_cfg_written(struct msi *m, unsigned offset, unsigned size)
{
    if (!m->func || !touches(offset, size, (unsigned)m->cap + 2, 12))
        return;
    unsigned c = (unsigned)m->cap;
    uint16_t ctrl = (uint16_t)pci_get_cfg(m->func, c + 2, 2);
    uint64_t addr = pci_get_cfg(m->func, c + 4, 4) | (uint64_t)pci_get_cfg(m->func, c + 8, 4) << 32;
    uint16_t data = (uint16_t)pci_get_cfg(m->func, c + 12, 2);
    pthread_mutex_lock(&m->lock);
    m->enabled = ctrl & MSI_CTRL_ENABLE;
    m->addr = addr;
    m->data = data;
    pthread_mutex_unlock(&m->lock);
}

bool msi_enabled(struct msi *m)
{
    if (!m->func)
        return false;
    pthread_mutex_lock(&m->lock);
    bool on = m->enabled;
    pthread_mutex_unlock(&m->lock);
    return on;
}

bool msi_notify(struct msi *m)
{
    if (!m->func)
        return false;
    pthread_mutex_lock(&m->lock);
    bool on = m->enabled;
    if (on)
        m->env->ops->msi(m->env->ctx, m->addr, m->data);
    pthread_mutex_unlock(&m->lock);
    return on;
}
