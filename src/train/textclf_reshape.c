/*
 * train/textclf_reshape.c - training requests, harmful and benign alike,
 * asked in another form, so that the form of a request carries no signal
 * and its content decides.
 *
 * The public sets differ in how they ask. HarmfulQA and DangerousQA are
 * nearly all "How can I ...?" questions, AART and AdvBench mostly "Write /
 * Create ...", while the ship-ok benign sets are imperatives ("Write a
 * poem ...") and "What is ...?" questions. A linear model over n-grams
 * learns that style: trained on all of them, "how to make a b-tree in C"
 * and "how to build a pipe organ" scored harmful and the bare word "how"
 * scored 0.52-0.74.
 *
 * A train request whose start is one of a few common forms gets, with
 * probability frac, a start drawn from one pool instead (its text is
 * replaced, not copied: copies would leave the originals' skew in place):
 *   - a "how" question or a stated wish ("How can I", "how to", "What's
 *     the best way to", "I want to", "Tell me how to", ...) followed by a
 *     bare verb phrase: "How can I steal a car?" -> "Explain how to steal
 *     a car.";
 *   - an imperative that begins with one of a list of task verbs ("Write",
 *     "Create", "Explain", ...) is the verb phrase itself: "Write a poem
 *     about rain." -> "How do I write a poem about rain?", "Can you write
 *     a poem about rain?".
 * Every request with a start draws from the same pool whatever its class,
 * so each start written holds the classes in one ratio. Labels, source and
 * split stay; held-out and validation texts are never changed. The list of
 * starts was written for warden.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/rng.h"
#include "train/textclf_train.h"

/* The starts written, one pool for every request whatever its form: those
 * that take a bare verb phrase, then those that ask someone else to do it
 * (ask: written, but not read as a start, since "Can you ..." is followed
 * by more than verb phrases). A start ends the request with '?' when q. */
typedef struct start {
    const char *s;
    int         q, ask;
} start;

static const start STARTS[] = {
    {"How do I ", 1, 0},
    {"How can I ", 1, 0},
    {"How would I ", 1, 0},
    {"How should I ", 1, 0},
    {"How to ", 1, 0},
    {"How can someone ", 1, 0},
    {"What's the best way to ", 1, 0},
    {"What is the easiest way to ", 1, 0},
    {"What are the steps to ", 1, 0},
    {"Is there a way to ", 1, 0},
    {"Tell me how to ", 0, 0},
    {"Explain how to ", 0, 0},
    {"Show me how to ", 0, 0},
    {"Give me steps to ", 0, 0},
    {"Help me ", 0, 0},
    {"I want to ", 0, 0},
    {"I need to ", 0, 0},
    {"I'd like to ", 0, 0},
    {"Can you ", 1, 1},
    {"Could you ", 1, 1},
    {"Please ", 0, 1},
    {"I need you to ", 0, 1},
};

/* Further spellings of a start that are recognised but not written. */
static const char *const MORE_STARTS[] = {
    "how could i ", "how do you ", "how can you ", "how can one ", "how does one ", "how might i ",
    "what is the best way to ", "what are some ways to ", "what are ways to ", "can you tell me how to ",
    "teach me how to ", "i wanna ", "i would like to ", "is it possible to ",
};

/* Task verbs an imperative request begins with. ("give", "tell", "show"
 * are left out: they take "me", which the starts above cannot.) */
static const char *const VERBS[] = {
    "write", "create", "develop", "generate", "design", "build", "make", "explain", "describe",
    "provide", "list", "suggest", "compose", "draft", "produce", "outline", "plan", "find",
    "summarize", "summarise", "compile", "prepare", "devise", "construct", "recommend", "identify",
    "teach", "publish", "post", "craft", "instruct",
};

#define N_OF(a) (sizeof(a) / sizeof(a)[0])

/* Length of the start of t that is s (compared without case), or 0. */
static size_t starts_with(const char *t, const char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (!t[i] || tolower((unsigned char)t[i]) != tolower((unsigned char)s[i])) return 0;
    return n;
}

/* The verb phrase of t: what follows a known start, or the whole text of
 * an imperative; NULL when t has neither form. */
static const char *verb_phrase(const char *t) {
    for (size_t i = 0; i < N_OF(STARTS); i++) {
        size_t n = STARTS[i].ask ? 0 : starts_with(t, STARTS[i].s);
        if (n) return t + n;
    }
    for (size_t i = 0; i < N_OF(MORE_STARTS); i++) {
        size_t n = starts_with(t, MORE_STARTS[i]);
        if (n) return t + n;
    }
    for (size_t i = 0; i < N_OF(VERBS); i++) {
        size_t n = starts_with(t, VERBS[i]);
        if (n && t[n] == ' ') return t;
    }
    return NULL;
}

/* Writes start s + verb phrase vp (first letter lowered, its final . ? !
 * replaced by the start's) into buf; the length, or -1 when it does not
 * fit or vp is too short to be a request. */
static int reshape(const start *s, const char *vp, char *buf, size_t cap) {
    size_t n = strlen(vp);
    while (n && (vp[n - 1] == '.' || vp[n - 1] == '?' || vp[n - 1] == '!' || vp[n - 1] == ' ')) n--;
    if (n < 8 || !strchr(vp, ' ')) return -1;
    int len = snprintf(buf, cap, "%s%c%.*s%c", s->s, tolower((unsigned char)vp[0]), (int)n - 1, vp + 1,
                       s->q ? '?' : '.');
    return len < 0 || (size_t)len >= cap ? -1 : len;
}

wd_status wd_textclf_augment_reshape(wd_textclf_dataset *d, double frac, const wd_textclf_train_params *p) {
    if (!(frac > 0)) return WD_OK;
    uint64_t rng = p->seed ^ 0x5e5a9eull;
    char buf[4096];
    for (size_t i = 0; i < d->n; i++) {
        const wd__textclf_example *x = &d->ex[i];
        /* originals only (warden's generated prompts are originals too) */
        if (x->split != WD_TEXTCLF_SPLIT_TRAIN || !(x->known & 1) || x->origin != x->source) continue;
        const char *vp = verb_phrase(x->text);
        if (!vp || wd__rng_unit(&rng) >= frac) continue;
        /* both forms draw from one pool, so every start is written with
         * the classes in the ratio of the requests that have a start */
        int len = reshape(&STARTS[wd__rng_below(&rng, N_OF(STARTS))], vp, buf, sizeof buf);
        if (len < 0) continue;
        wd_status rc = wd__textclf_replace_text(d, i, buf, (size_t)len);
        if (rc) return rc;
    }
    return WD_OK;
}
