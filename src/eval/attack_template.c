/*
 * eval/attack_template.c - jailbreak templates (warden/attack.h): the
 * template transform puts the prompt into a template's slot ("{prompt}" or
 * "[INSERT PROMPT HERE]"; every slot, or after the text when it has none),
 * and wd_attack_templates_load reads the templates from a dataset file
 * (any format the dataset reader takes).
 */
#include "eval/attack_template.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/rng.h"
#include "base/strbuf.h"
#include "warden/dataset.h"

/* ==== the transform ====================================================== */

static const char *const SLOTS[] = {"{prompt}", "[INSERT PROMPT HERE]"};

static const char *find_slot(const char *s, size_t *slot_len) {
    const char *best = NULL;
    for (int i = 0; i < 2; i++) {
        const char *p = strstr(s, SLOTS[i]);
        if (p && (!best || p < best)) {
            best = p;
            *slot_len = strlen(SLOTS[i]);
        }
    }
    return best;
}

wd_status wd__attack_template(const char *t, const wd_attack_params *p, uint64_t *rng, char **out) {
    if (!p->templates || p->n_templates == 0)
        return wd__fail(WD_ERR_INVALID_ARG, "attack 'template': no templates given (--templates FILE)");
    size_t idx = p->template_index >= 0 ? (size_t)p->template_index % p->n_templates
                                        : wd__rng_below(rng, p->n_templates);
    const char *tpl = p->templates[idx];
    if (!tpl) return wd__fail(WD_ERR_INVALID_ARG, "attack 'template': template %zu is NULL", idx);
    wd__strbuf b = {0};
    size_t sl = 0;
    const char *s = tpl, *q;
    int any = 0;
    while ((q = find_slot(s, &sl))) {
        wd__strbuf_add(&b, s, (size_t)(q - s));
        wd__strbuf_puts(&b, t);
        s = q + sl;
        any = 1;
    }
    wd__strbuf_puts(&b, s);
    if (!any) {
        wd__strbuf_puts(&b, "\n\n");
        wd__strbuf_puts(&b, t);
    }
    if (!(*out = wd__strbuf_take(&b, NULL))) return wd__fail(WD_ERR_NOMEM, "attack: out of memory");
    return WD_OK;
}

/* ==== template files ==================================================== */

void wd_attack_templates_free(char **templates, size_t n) {
    if (!templates) return;
    for (size_t i = 0; i < n; i++) free(templates[i]);
    free(templates);
}

wd_status wd_attack_templates_load(const char *path, const char *field, int require_slot,
                                   char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    wd_dataset_params p = wd_dataset_params_default();
    p.text_field = field;
    wd_dataset *ds;
    wd_status st = wd_dataset_open(path, &p, &ds);
    if (st) return st;
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    const wd_dataset_item *it;
    while (!(st = wd_dataset_next(ds, &it)) && it) {
        size_t sl;
        if (require_slot && !find_slot(it->text, &sl)) continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 32;
            char **nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                st = wd__fail(WD_ERR_NOMEM, "out of memory");
                break;
            }
            v = nv;
        }
        if (!(v[cnt] = strdup(it->text))) {
            st = wd__fail(WD_ERR_NOMEM, "out of memory");
            break;
        }
        cnt++;
    }
    if (st && st != WD_ERR_NOMEM) wd__fail(st, "%s", wd_dataset_last_error(ds));
    wd_dataset_free(ds);
    if (!st && cnt == 0)
        st = wd__fail(WD_ERR_FORMAT, "%s: no templates%s", path,
                      require_slot ? " with a {prompt} or [INSERT PROMPT HERE] slot" : "");
    if (st) {
        wd_attack_templates_free(v, cnt);
        return st;
    }
    *out = v;
    *n = cnt;
    return WD_OK;
}
