/*
 * guard/router_mlp.h - the sidecar file of an MLP router (warden/router.h):
 * its weights as a safetensors file beside router.json. Used by
 * guard/router.c, which reads and writes router.json itself.
 */
#ifndef WD_GUARD_ROUTER_MLP_H
#define WD_GUARD_ROUTER_MLP_H

#include "warden/router.h"

/* Writes m's tensors (names in warden/router.h) to path, atomically. */
wd_status wd__router_mlp_write(const wd_router_mlp *m, const char *path);
/* Reads the sidecar at path into a new MLP (*out) of the sizes router.json
 * (named by json_where in messages) gives: every tensor present, F32 or
 * another float dtype, of exactly its shape, every value finite, scale > 0.
 * Errors name the file and the tensor. */
wd_status wd__router_mlp_read(const char *path, const char *json_where, size_t n_in, size_t h1, size_t h2,
                              wd_router_mlp **out);

#endif
