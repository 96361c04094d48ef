/* Text for the library's error codes (enum hk_error in hyperkit.h). */
#include "hyperkit.h"

const char *hk_strerror(int err)
{
    switch (err) {
    case HK_OK: return "success";
    case HK_EINVAL: return "invalid argument";
    case HK_ENOMEM: return "out of memory";
    case HK_ENOENT: return "no such file";
    case HK_EIO: return "host I/O error";
    case HK_ENOTSUP: return "not implemented in this build";
    case HK_EEXIST: return "already exists or already configured";
    case HK_ESTATE: return "not valid in the VM's current state";
    case HK_ENOACCEL: return "no usable accelerator";
    case HK_EGUEST: return "the guest did something the VM cannot run";
    default: return "unknown error";
    }
}
