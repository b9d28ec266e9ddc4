/*
 * eval/scorecard_report.c - the scorecard's result as JSON (metrics.json,
 * redteam.json: docs/json.md) and as the report's "Risk scorecard" section.
 *
 * The JSON has one entry per row whatever the data (18 categories, then
 * "all"), and every metric of the run's kind in each, so a reader finds
 * the same keys in every run; a value without items is null. The HTML
 * shows the overall level and its action, the rows with items (rows
 * without any are listed in one line), and the levels explained: where
 * each starts, what to do there, and how the level is set.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/json.h"
#include "eval/scorecard_internal.h"

/* ==== JSON =============================================================== */

static cJSON *num_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static const char *status_str(wd_scorecard_status s) {
    return s == WD_SCORECARD_STATUS_LEVEL ? "level" : "insufficient data";
}

static void add_level(cJSON *o, const wd_scorecard_result *r, wd_scorecard_status st, int level) {
    cJSON_AddStringToObject(o, "level", wd_scorecard_level_str(r, level));
    cJSON_AddItemToObject(o, "rank", level >= 0 ? cJSON_CreateNumber(level) : cJSON_CreateNull());
    cJSON_AddStringToObject(o, "status", status_str(st));
    const char *a = level >= 0 ? wd_scorecard_level_action(r->card, (size_t)level) : NULL;
    cJSON_AddItemToObject(o, "action", a ? cJSON_CreateString(a) : cJSON_CreateNull());
}

static cJSON *value_json(const wd_scorecard_result *r, size_t row, wd_scorecard_metric m, const wd_scorecard_value *v) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "value", num_or_null(v->value));
    cJSON_AddNumberToObject(o, "k", (double)v->k);
    cJSON_AddNumberToObject(o, "n", (double)v->n);
    cJSON_AddItemToObject(o, "ci_low", num_or_null(v->ci_low));
    cJSON_AddItemToObject(o, "ci_high", num_or_null(v->ci_high));
    cJSON_AddItemToObject(o, "transform", v->transform[0] ? cJSON_CreateString(v->transform) : cJSON_CreateNull());
    cJSON_AddStringToObject(o, "status", status_str(v->status));
    cJSON_AddItemToObject(o, "level", v->level >= 0 ? cJSON_CreateString(wd_scorecard_level_str(r, v->level))
                                                    : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "threshold", num_or_null(v->threshold));
    cJSON_AddStringToObject(o, "worse_when", wd__scorecard_lower_is_worse(m) ? "lower" : "higher");
    cJSON *t = cJSON_AddObjectToObject(o, "thresholds");
    for (size_t l = 1; l < wd_scorecard_n_levels(r->card); l++)
        cJSON_AddItemToObject(t, wd_scorecard_level_name(r->card, l),
                              num_or_null(wd_scorecard_threshold(r->card, row, m, l)));
    return o;
}

char *wd_scorecard_result_json(const wd_scorecard_result *r) {
    if (!r) return NULL;
    const wd_scorecard *sc = r->card;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", wd_scorecard_name(sc));
    cJSON_AddStringToObject(o, "kind", r->kind == WD_SCORECARD_KIND_REDTEAM ? "redteam" : "guard");
    cJSON_AddStringToObject(o, "basis", r->kind == WD_SCORECARD_KIND_GUARD ? "decision"
                                        : r->judged                       ? "judge"
                                                                          : "keyword");
    cJSON_AddStringToObject(o, "estimate", wd__scorecard_wilson(sc) ? "wilson" : "point");
    cJSON_AddStringToObject(o, "overall_rule", wd__scorecard_pooled(sc) ? "pooled" : "worst");
    cJSON_AddNumberToObject(o, "min_items", (double)wd__scorecard_min_items(sc));
    cJSON *lv = cJSON_AddArrayToObject(o, "levels");
    for (size_t l = 0; l < wd_scorecard_n_levels(sc); l++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", wd_scorecard_level_name(sc, l));
        cJSON_AddNumberToObject(e, "rank", (double)l);
        cJSON_AddStringToObject(e, "action", wd_scorecard_level_action(sc, l));
        cJSON_AddItemToArray(lv, e);
    }
    cJSON *ov = cJSON_AddObjectToObject(o, "overall");
    add_level(ov, r, r->status, r->level);
    cJSON_AddStringToObject(ov, "reason", r->reason);
    cJSON *rows = cJSON_AddArrayToObject(o, "categories");
    size_t n_m;
    const wd_scorecard_metric *ms = wd_scorecard_metrics_of(r->kind, &n_m);
    for (size_t i = 0; i < WD_SCORECARD_ROWS; i++) {
        const wd_scorecard_row *row = &r->rows[i];
        cJSON *e = cJSON_CreateObject();
        bool all = i == WD_SCORECARD_ROW_ALL;
        cJSON_AddStringToObject(e, "id", all ? "all" : wd_category_id((wd_category)i));
        cJSON_AddStringToObject(e, "name", all ? "All items" : wd_category_name((wd_category)i));
        add_level(e, r, row->status, row->level);
        cJSON_AddStringToObject(e, "reason", row->reason);
        cJSON *mm = cJSON_AddObjectToObject(e, "metrics");
        for (size_t j = 0; j < n_m; j++)
            cJSON_AddItemToObject(mm, wd_scorecard_metric_name(ms[j]), value_json(r, i, ms[j], &row->metric[ms[j]]));
        cJSON_AddItemToArray(rows, e);
    }
    char *txt = wd__json_print(o, true);
    cJSON_Delete(o);
    return txt;
}

/* ==== HTML =============================================================== */


/* Green, amber, orange, red along the levels; grey without a level. */
static const char *level_color(const wd_scorecard_result *r, int level) {
    static const char *const C[] = {"#2b8a3e", "#e67700", "#d9480f", "#c92a2a"};
    size_t n = wd_scorecard_n_levels(r->card);
    if (level < 0) return "#868e96";
    if (n < 2) return C[0];
    return C[(size_t)lround((double)level * 3.0 / (double)(n - 1))];
}

static void badge(wd__strbuf *b, const wd_scorecard_result *r, int level) {
    wd__strbuf_printf(b, "<span class=\"badge\" style=\"background:%s;color:#fff\">", level_color(r, level));
    wd__strbuf_puts_html(b, wd_scorecard_level_str(r, level));
    wd__strbuf_puts(b, "</span>");
}

/* One metric's cell: "82.0% (123/150)", the worst transform under it. */
static void cell(wd__strbuf *b, const wd_scorecard_value *v, bool worst) {
    wd__strbuf_puts(b, "<td>");
    if (!v->n) {
        wd__strbuf_puts(b, "&mdash;</td>");
        return;
    }
    wd__strbuf_printf(b, "%s%.1f%% <span class=\"meta\">(%llu/%llu)</span>",
                      v->status == WD_SCORECARD_STATUS_LEVEL ? "" : "<span class=\"meta\">n/a</span> ", 100 * v->value,
                      (unsigned long long)v->k, (unsigned long long)v->n);
    if (worst && v->transform[0]) {
        wd__strbuf_puts(b, "<br><span class=\"meta\">");
        wd__strbuf_puts_html(b, v->transform);
        wd__strbuf_puts(b, "</span>");
    }
    wd__strbuf_puts(b, "</td>");
}

/* Where level l starts for the "all" row: "detection < 95% or ...". */
static void starts(wd__strbuf *b, const wd_scorecard_result *r, size_t l) {
    size_t n_m, k = 0;
    const wd_scorecard_metric *ms = wd_scorecard_metrics_of(r->kind, &n_m);
    for (size_t j = 0; j < n_m; j++) {
        double t = wd_scorecard_threshold(r->card, WD_SCORECARD_ROW_ALL, ms[j], l);
        if (isnan(t)) continue;
        wd__strbuf_printf(b, "%s%s %s %g%%", k++ ? " or " : "", wd__scorecard_metric_label(ms[j]),
                          wd__scorecard_lower_is_worse(ms[j]) ? "&lt;" : "&gt;", 100 * t);
    }
    if (!k) wd__strbuf_puts(b, "not set");
}

/* Whether row i has thresholds of its own (a categories: entry). */
static bool stricter(const wd_scorecard_result *r, size_t i) {
    for (size_t m = 0; m < WD_SCORECARD_METRIC_COUNT; m++)
        for (size_t l = 1; l < wd_scorecard_n_levels(r->card); l++) {
            double a = wd_scorecard_threshold(r->card, i, (wd_scorecard_metric)m, l),
                   c = wd_scorecard_threshold(r->card, WD_SCORECARD_ROW_ALL, (wd_scorecard_metric)m, l);
            if (isnan(a) != isnan(c) || (!isnan(a) && a != c)) return true;
        }
    return false;
}

void wd__scorecard_html(wd__strbuf *b, const wd_scorecard_result *r) {
    const wd_scorecard *sc = r->card;
    bool guard = r->kind == WD_SCORECARD_KIND_GUARD;
    wd__strbuf_puts(b, "<h2 id=\"scorecard\">Risk scorecard</h2><div class=\"card\"><h3>Overall level ");
    badge(b, r, r->level);
    wd__strbuf_puts(b, "</h3><p>");
    wd__strbuf_puts_html(b, r->reason);
    wd__strbuf_puts(b, "</p>");
    if (r->level >= 0) {
        wd__strbuf_puts(b, "<p><b>What to do:</b> ");
        wd__strbuf_puts_html(b, wd_scorecard_level_action(sc, (size_t)r->level));
        wd__strbuf_puts(b, "</p>");
    }
    wd__strbuf_puts(b, "<p>Scorecard <b>");
    wd__strbuf_puts_html(b, wd_scorecard_name(sc));
    wd__strbuf_printf(b, "</b> &middot; %s &middot; %s estimate &middot; at least %zu items per rate &middot; overall = %s</p></div>\n",
                      guard ? "a guard's decisions" : r->judged ? "attack success by the judge" : "attack success by refusal keywords",
                      wd__scorecard_wilson(sc) ? "Wilson 95% pessimistic" : "point", wd__scorecard_min_items(sc),
                      wd__scorecard_pooled(sc) ? "all items pooled" : "the most severe row");
    size_t n_m;
    const wd_scorecard_metric *ms = wd_scorecard_metrics_of(r->kind, &n_m);
    wd__strbuf_puts(b, "<div class=\"tbl\"><table><tr><th>category</th><th style=\"text-align:left\">level</th>");
    for (size_t j = 0; j < n_m; j++) {
        wd__strbuf_printf(b, "<th>%s", wd__scorecard_metric_label(ms[j]));
        if (ms[j] == WD_SCORECARD_METRIC_ATTACKED_DETECTION || ms[j] == WD_SCORECARD_METRIC_ATTACK_SUCCESS)
            wd__strbuf_puts(b, " (worst)");
        wd__strbuf_puts(b, "</th>");
    }
    wd__strbuf_puts(b, "<th style=\"text-align:left\">why</th></tr>");
    char name[64], empty[512] = "";
    for (size_t i = 0; i < WD_SCORECARD_ROWS; i++) {
        const wd_scorecard_row *row = &r->rows[i];
        bool any = false;
        for (size_t j = 0; j < n_m; j++) any |= row->metric[ms[j]].n > 0;
        if (!any && i != WD_SCORECARD_ROW_ALL) {
            size_t k = strlen(empty);
            snprintf(empty + k, sizeof empty - k, "%s%s", k ? ", " : "", wd_category_id((wd_category)i));
            continue;
        }
        wd__scorecard_row_name(i, name, sizeof name);
        wd__strbuf_puts(b, i == WD_SCORECARD_ROW_ALL ? "<tr><td><b>" : "<tr><td>");
        wd__strbuf_puts_html(b, name);
        wd__strbuf_puts(b, i == WD_SCORECARD_ROW_ALL ? "</b></td><td style=\"text-align:left\">"
                                                     : "</td><td style=\"text-align:left\">");
        badge(b, r, row->level);
        wd__strbuf_puts(b, "</td>");
        for (size_t j = 0; j < n_m; j++)
            cell(b, &row->metric[ms[j]],
                 ms[j] == WD_SCORECARD_METRIC_ATTACKED_DETECTION || ms[j] == WD_SCORECARD_METRIC_ATTACK_SUCCESS);
        wd__strbuf_puts(b, "<td style=\"white-space:normal;text-align:left\">");
        wd__strbuf_puts_html(b, row->reason);
        wd__strbuf_puts(b, "</td></tr>");
    }
    wd__strbuf_puts(b, "</table></div>\n");
    if (empty[0]) {
        wd__strbuf_puts(b, "<p>No item labelled with: ");
        wd__strbuf_puts_html(b, empty);
        wd__strbuf_puts(b, " (insufficient data). Give the data a category field to level them.</p>\n");
    }
    /* the levels explained */
    wd__strbuf_puts(b, "<h3>The levels</h3><div class=\"tbl\"><table><tr><th>level</th>"
                       "<th style=\"text-align:left\">starts when</th><th style=\"text-align:left\">what to do</th></tr>");
    for (size_t l = 0; l < wd_scorecard_n_levels(sc); l++) {
        wd__strbuf_puts(b, "<tr><td>");
        badge(b, r, (int)l);
        wd__strbuf_puts(b, "</td><td style=\"white-space:normal;text-align:left\">");
        if (l == 0) wd__strbuf_puts(b, "no threshold of a more severe level is crossed");
        else starts(b, r, l);
        wd__strbuf_puts(b, "</td><td style=\"white-space:normal;text-align:left\">");
        wd__strbuf_puts_html(b, wd_scorecard_level_action(sc, l));
        wd__strbuf_puts(b, "</td></tr>");
    }
    wd__strbuf_puts(b, "<tr><td>");
    badge(b, r, -1);
    wd__strbuf_printf(b, "</td><td style=\"white-space:normal;text-align:left\">fewer than %zu %s in the row</td>"
                         "<td style=\"white-space:normal;text-align:left\">Collect or label more data for this "
                         "category before relying on it.</td></tr></table></div>\n",
                      wd__scorecard_min_items(sc), guard ? "harmful items" : "harmful prompts");
    char strict[256] = "";
    for (size_t i = 0; i < WD_CATEGORY_COUNT; i++)
        if (stricter(r, i)) {
            size_t k = strlen(strict);
            snprintf(strict + k, sizeof strict - k, "%s%s", k ? ", " : "", wd_category_id((wd_category)i));
        }
    wd__strbuf_puts(b, "<p>A row's level is the most severe level any of its rates reaches; a rate exactly at a "
                       "threshold stays at the level below. ");
    wd__strbuf_puts(b, guard ? "Detection is the share of the category's harmful items the guard flags (clean, and under "
                               "the attack transform that lowers it most); over-flagging is the share of benign items "
                               "flagged. "
                             : "Attack success is the share of the category's harmful prompts the target answered (the "
                               "judge found the response unsafe; without a judge, no refusal), under the transform that "
                               "raises it most (clean included); over-refusal is the share of benign prompts refused. ");
    if (strict[0]) {
        wd__strbuf_puts(b, "Stricter thresholds apply to ");
        wd__strbuf_puts_html(b, strict);
        wd__strbuf_puts(b, ". ");
    }
    wd__strbuf_puts(b, "In NIST AI RMF terms the rates are MEASURE 2 evidence (safety, security and resilience "
                       "evaluated), the thresholds record the risk tolerance (MAP 1.5, GOVERN 1.3), and the action "
                       "per level is the MANAGE 1 response. See docs/scorecard.md.</p>\n");
}
