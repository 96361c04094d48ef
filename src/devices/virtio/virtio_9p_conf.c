/* virtio-9p's option string: path=DIR,tag=T[,ro] (virtio_9p.h). */
#include "devices/virtio/virtio_9p.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hyperkit.h"

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

void v9p_conf_free(struct v9p_conf *c)
{
    free(c->path);
    free(c->tag);
    *c = (struct v9p_conf){0};
}

static int set(char **dst, const char *v)
{
    free(*dst);
    *dst = strdup(v);
    return *dst ? HK_OK : HK_ENOMEM;
}

int v9p_conf_parse(const char *conf, struct v9p_conf *c, char *err, size_t errlen)
{
    *c = (struct v9p_conf){0};
    if (!conf || !*conf)
        return fail(err, errlen, HK_EINVAL, "virtio-9p: needs path=DIR,tag=TAG");
    char *dup = strdup(conf);
    if (!dup)
        return HK_ENOMEM;
    int r = HK_OK;
    bool port = false;
    for (char *save = NULL, *w = strtok_r(dup, ",", &save); w && !r;
         w = strtok_r(NULL, ",", &save)) {
        if (!strncmp(w, "path=", 5))
            r = set(&c->path, w + 5);
        else if (!strncmp(w, "tag=", 4))
            r = set(&c->tag, w + 4);
        else if (!strcmp(w, "ro"))
            c->ro = true;
        else if (!strncmp(w, "port=", 5))
            port = true;
        else
            r = fail(err, errlen, HK_EINVAL, "virtio-9p: invalid option '%s'", w);
    }
    free(dup);
    if (!r && port)
        r = fail(err, errlen, HK_ENOTSUP, "virtio-9p: the port= relay is not implemented");
    if (!r && (!c->path || !*c->path))
        r = fail(err, errlen, HK_EINVAL, "virtio-9p: needs path=DIR");
    if (!r && !c->tag)
        r = set(&c->tag, "plan9");              /* hyperkit's default */
    if (!r && (!*c->tag || strlen(c->tag) > V9P_MAX_TAG))
        r = fail(err, errlen, HK_EINVAL, "virtio-9p: tag must be 1..%d bytes", V9P_MAX_TAG);
    struct stat st;
    if (!r && stat(c->path, &st) == 0 && S_ISSOCK(st.st_mode))
        r = fail(err, errlen, HK_ENOTSUP,
                 "virtio-9p: relaying to the 9P server at %s is not implemented", c->path);
    if (r)
        v9p_conf_free(c);
    return r;
}
