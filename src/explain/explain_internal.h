/*
 * explain/explain_internal.h - what the files of explain/ share.
 */
#ifndef WD_EXPLAIN_INTERNAL_H
#define WD_EXPLAIN_INTERNAL_H

#include "base/strbuf.h"
#include "warden/explain.h"

/* The explanation as a cJSON object (the caller deletes it), or NULL when
 * out of memory (explain.c). */
void *wd__explanation_cjson(const wd_explanation *ex);

/* Appends the HTML of one explanation (its <div class="ex">) to b; heading
 * may be NULL (explain_html.c). */
void wd__explanation_html_one(wd__strbuf *b, const wd_explanation *ex, const char *heading);

/* The page's CSS, shared by the page and the section inserted into an
 * evaluation report (explain_html.c). */
extern const char wd__explain_css[];

#endif
