/*
 * eval/attack_template.h - the template transform, for attack.c's dispatch
 * (attack_template.c).
 */
#ifndef WD_EVAL_ATTACK_TEMPLATE_H
#define WD_EVAL_ATTACK_TEMPLATE_H

#include <stdint.h>

#include "warden/attack.h"

/* Puts t into a template of p (p->template_index, or one drawn from the
 * splitmix64 stream *rng): into each of its slots, or after it (two
 * newlines between) when it has none. *out is malloc'd. WD_ERR_INVALID_ARG
 * when p has no templates. */
wd_status wd__attack_template(const char *t, const wd_attack_params *p, uint64_t *rng, char **out);

#endif
