/*
 * guard/formats/prompt_guard.c - the encoder classifiers' label formats:
 * Prompt Guard (Meta) and any sequence classifier read by its id2label.
 *
 *   prompt-guard    v1 (Prompt-Guard-86M): BENIGN, INJECTION, JAILBREAK;
 *                   v2 (Llama-Prompt-Guard-2-22M / 86M): LABEL_0 benign,
 *                   LABEL_1 malicious (MALICIOUS where named). INJECTION,
 *                   JAILBREAK, MALICIOUS and a two-label head's LABEL_1 ->
 *                   prompt_injection (the "prompt-guard" scheme).
 *   seq-classifier  the generic rules of guard/scanners/encoder_classifier.c
 *                   (that file applies them; this entry names the format).
 */
#include <string.h>
#include <strings.h>

#include "guard/formats/format.h"

wd_catmask wd_guard_format_label(wd_guard_format f, const char *label, size_t i, size_t n_labels,
                                 wd_catmask unsafe) {
    if (!label) return 0;
    wd_catmask m = 0;
    if (f == WD_GUARD_FORMAT_PROMPT_GUARD) {
        if (!wd_taxonomy_map("prompt-guard", label, &m)) return m;
        if (n_labels == 2 && i == 1 && !strncasecmp(label, "LABEL_", 6)) return WD_CATMASK(WD_CATEGORY_PROMPT_INJECTION);
        return 0;
    }
    (void)unsafe;
    return 0; /* seq-classifier: encoder_classifier.c's rules */
}

const wd__gformat wd__gf_prompt_guard = {
    .id = WD_GUARD_FORMAT_PROMPT_GUARD, .name = "prompt-guard", .scheme = "prompt-guard"};
const wd__gformat wd__gf_seq_classifier = {
    .id = WD_GUARD_FORMAT_SEQ_CLASSIFIER, .name = "seq-classifier", .scheme = "canonical"};
