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

#endif
