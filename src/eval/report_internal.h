/*
 * eval/report_internal.h - what the steps run after an evaluation (the
 * cascade's section, eval/cascade_eval.c; the explanations of the worst
 * errors, explain/eval_explain.c) share to add to its report.html.
 */
#ifndef WD_EVAL_REPORT_INTERNAL_H
#define WD_EVAL_REPORT_INTERNAL_H

#include "warden/base.h"

/* Inserts section (HTML) into the page at path before its last </main>
 * (else its last </body>, else at the end) and rewrites the page
 * atomically. Returns WD_OK, or the read's / write's error. */
wd_status wd__report_insert_section(const char *path, const char *section);

#endif
