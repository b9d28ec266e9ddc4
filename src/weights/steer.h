/*
 * weights/steer.h - what steer.c shares inside weights/.
 */
#ifndef WD_WEIGHTS_STEER_H
#define WD_WEIGHTS_STEER_H

#include "warden/weights.h"

/* Loads the direction file path, checks it against a model of L layers
 * and width C, and picks the layer (< 0: the file's) into *which. On
 * WD_OK *r holds the file (free with wd_steer_result_free). */
wd_status wd__steer_vector(const char *path, int layer, size_t L, size_t C, wd_steer_result *r,
                           size_t *which);

/* A result for L layers of width C with every array allocated (zeros;
 * refusal rates NaN). */
wd_status wd__steer_alloc(wd_steer_result *r, size_t L, size_t C, wd_direction_method method);

/* The directions r_l, the classes' mean components along them and their
 * separation, from last-position states of harmful prompts h (nh, L+1, C)
 * and benign ones b (nb, L+1, C), as r->method says. */
wd_status wd__steer_directions(wd_steer_result *r, const float *h, size_t nh, const float *b, size_t nb);

#endif
