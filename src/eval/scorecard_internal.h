/*
 * eval/scorecard_internal.h - what the scorecard's reader (scorecard.c),
 * its JSON and HTML (scorecard_report.c) and the report (report.c) share.
 */
#ifndef WD_EVAL_SCORECARD_INTERNAL_H
#define WD_EVAL_SCORECARD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/strbuf.h"
#include "warden/scorecard.h"

/* "detection under attack", "attack success", ... (for people). Static. */
const char *wd__scorecard_metric_label(wd_scorecard_metric m);
/* Whether a lower value of m is worse (detection) or a higher one (attack success). */
bool wd__scorecard_lower_is_worse(wd_scorecard_metric m);
size_t wd__scorecard_min_items(const wd_scorecard *sc);
bool   wd__scorecard_wilson(const wd_scorecard *sc); /* estimate: wilson */
bool   wd__scorecard_pooled(const wd_scorecard *sc); /* overall: pooled  */
/* "S9 Indiscriminate Weapons", or "all items". */
void wd__scorecard_row_name(size_t row, char *buf, size_t n);

/* Appends the report's scorecard section (an <h2>, the overall level, the
 * table of rows, the levels explained) to b. */
void wd__scorecard_html(wd__strbuf *b, const wd_scorecard_result *r);

#endif
