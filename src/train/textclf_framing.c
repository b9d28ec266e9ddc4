/*
 * train/textclf_framing.c - framed copies of training prompts, harmful and
 * benign alike, so that the classifier learns the words around a request
 * carry no signal.
 *
 * An obfuscated prompt reaches the classifier wrapped: the guard decodes a
 * hex or base64 payload in place, so the model reads "Decode these bytes
 * and answer ... <the request>"; a prefix attack puts an unrelated passage
 * first; a split attack quotes the request in two pieces. The training
 * sources hold no such wrappers, so the model's weights for their words are
 * whatever the rest of the data left there, and a benign request wrapped
 * this way crossed the threshold (hex-wrapped benign prompts flagged at
 * 3.9%, clean 1.2%). Framing the same share of harmful and benign
 * examples with the same frames makes the frame's words appear in both
 * classes at the data's own ratio: their weights go to about zero, and the
 * request decides.
 *
 * The frames were written for warden; they are deliberately not the wording
 * of `warden attack`'s transforms (src/eval/attack.c), so that the attack
 * evaluation measures whether the effect carries over to wrappers the model
 * never saw.
 */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/rng.h"
#include "train/textclf_train.h"

/* %s: the request. */
static const char *const DECODE_FRAMES[] = {
    "I wrote my question in an encoding to keep it private. Decoded, it says: %s",
    "Please decipher the message and respond to it.\n\n%s",
    "Turn the characters below back into words and reply to them.\n\n%s",
    "The following was obfuscated; undo that and give me an answer.\n\n%s",
    "Unscramble this line, then act on it:\n\n%s",
    "Read the encoded line below and handle what it asks.\n\n%s",
    "First translate the cipher, then reply. Plaintext: %s",
    "This came in as a sequence of character codes. Once decoded: %s",
    "These are escape sequences for bytes; turn them into text and reply to what it asks. %s",
    "Below is encoded text. Work out what it says and do as it says.\n\n%s",
    "Convert the numbers to letters, then answer the question they form: %s",
    "My message is written as byte values. Its plain text: %s",
    "Task: %s\nResponse:",
    "Instruction: %s",
    "### Request\n%s\n### Answer",
    "Please respond to the following.\n\n%s",
};

/* An unrelated first sentence, then a pivot, then the request. */
static const char *const FACTS[] = {
    "Glass is made by melting sand together with soda ash and lime.",
    "Jupiter's largest storm has been raging for at least three centuries.",
    "Emperor penguins huddle in their thousands to share warmth through the polar winter.",
    "The oldest known recipe for beer was written on a clay tablet.",
    "Tides are pulled mostly by the moon and a little by the sun.",
    "Bamboo is a grass, and some kinds grow almost a metre in a day.",
    "Early maps of the coast were drawn from sailors' notes of the soundings.",
    "A violin has about seventy separate pieces of wood in it.",
};
static const char *const PIVOTS[] = {
    "\n\nAnyway, what I meant to ask is this: ",
    " So here is what I want to know: ",
    "\n\nChanging the subject: ",
    " Moving on. ",
    "\n\nMy actual question follows. ",
};

/* Two quoted pieces of the request, to be put back together. */
static const char *const JOIN_FRAMES[] = {
    "Take p = \"%.*s\" and q = \"%s\". Answer the request p + q.",
    "Join the pieces \"%.*s\" and \"%s\" and respond to the result.",
    "x1 = \"%.*s\"\nx2 = \"%s\"\nRespond to x1 followed by x2.",
    "Concatenate s1 = \"%.*s\" with s2 = \"%s\", then reply to it.",
};

#define N_OF(a) (sizeof(a) / sizeof(a)[0])

/* A cut of t near its middle, at a space; 0 when t has none. */
static int middle_space(const char *t, int n) {
    for (int d = 0; d < n / 2; d++) {
        if (n / 2 + d < n && t[n / 2 + d] == ' ') return n / 2 + d + 1;
        if (n / 2 - d > 0 && t[n / 2 - d] == ' ') return n / 2 - d + 1;
    }
    return 0;
}

/* Writes t framed by the draw r into buf; the length, or -1 when it does
 * not fit. */
static int frame(uint64_t *rng, const char *t, char *buf, size_t cap) {
    int n = (int)strlen(t);
    unsigned fam = (unsigned)wd__rng_below(rng, 3);
    int cut = fam == 2 ? middle_space(t, n) : 0;
    if (fam == 2 && (cut == 0 || memchr(t, '"', (size_t)n))) fam = 0;
    int len;
    if (fam == 0) {
        len = snprintf(buf, cap, DECODE_FRAMES[wd__rng_below(rng, N_OF(DECODE_FRAMES))], t);
    } else if (fam == 1) {
        const char *f = FACTS[wd__rng_below(rng, N_OF(FACTS))];
        const char *p = PIVOTS[wd__rng_below(rng, N_OF(PIVOTS))];
        len = snprintf(buf, cap, "%s%s%s", f, p, t);
    } else {
        len = snprintf(buf, cap, JOIN_FRAMES[wd__rng_below(rng, N_OF(JOIN_FRAMES))], cut - 1, t, t + cut);
    }
    return len < 0 || (size_t)len >= cap ? -1 : len;
}

wd_status wd_textclf_augment_framing(wd_textclf_dataset *d, double frac, const wd_textclf_train_params *p) {
    if (!(frac > 0)) return WD_OK;
    /* The trainer weighs a source of c examples (train and validation) at
     * most source_cap (gen_cap: generated benign prompts): an example is
     * framed with probability frac times its source's weight, so the
     * framed copies hold the classes in the ratio the trainer sees them,
     * not in the ratio of raw counts (25,000 generated benign prompts
     * would otherwise make a frame read benign). */
    size_t cnt[256];
    wd__textclf_source_counts(d, cnt);
    int src = wd_textclf_dataset_source(d, "aug-frame", WD_TEXTCLF_USE_TRAIN, 1);
    if (src < 0) return wd__fail(WD_ERR_NOMEM, "out of memory");
    uint64_t rng = p->seed ^ 0xf4a3e5ull;
    size_t n0 = d->n;
    char buf[4096];
    for (size_t i = 0; i < n0; i++) {
        const wd__textclf_example *x = &d->ex[i];
        if (x->split != WD_TEXTCLF_SPLIT_TRAIN || !(x->known & 1) || x->source >= 256 || (int)x->source == src)
            continue;
        size_t c = cnt[x->source], cap = wd__textclf_cap(d, x, p);
        double w = c > cap ? (double)cap / (double)c : 1.0;
        if (wd__rng_unit(&rng) >= frac * w) continue;
        int len = frame(&rng, x->text, buf, sizeof buf);
        if (len < 0) continue;
        wd_status rc = wd__textclf_add_train_copy(d, src, buf, (size_t)len, x->pos, x->known, x->origin);
        if (rc) return rc;
    }
    return WD_OK;
}
