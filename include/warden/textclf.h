/*
 * warden/textclf.h - warden's built-in text classifier ("textclf"): the
 * model, the labelled data it is trained on, training, and the figures
 * `warden train-guard` reports.
 *
 * The model. A linear multi-label model over hashed word and character
 * n-grams of the normalised text. Labels, in order (WD_TEXTCLF_LABEL_*):
 * "harmful" (the overall score of a prompt or a piece of content),
 * "S1".."S14" (the canonical hazards, warden/taxonomy.h),
 * "prompt_injection" and "harmful_response" (the overall score of a model's
 * answer: trained on answers only, so a refusal that names the harm it
 * refuses is not read as the harm). "harmful", "prompt_injection" and
 * "harmful_response" are sigmoids; with the softmax hazard head the hazards
 * are p(harmful) x p(hazard | harmful). A model is a safetensors file; the
 * library carries two: one for prompts (wd_textclf_builtin) and one whose
 * harmful_response head judges answers (wd_textclf_builtin_answers).
 * Policies use them through the
 * `type: classifier` scanner.
 *
 * The data. A wd_textclf_dataset is a set of labelled examples, each from a
 * named source (a public dataset, or warden's own generator). Each example
 * carries a bit set of positive labels (bit i = label i) and a bit set of
 * KNOWN labels: a source that says "this prompt is harmful" but names no
 * hazard leaves the hazard labels unknown, and unknown labels add nothing
 * to the loss. Sources are ship-ok (trained on: split into train /
 * validation / held-out by a seeded hash of the text) or evaluation-only
 * (never trained on).
 *
 * A typical run (what `warden train-guard --out` does):
 *
 *   wd_textclf_train_params p = wd_textclf_train_params_default();
 *   wd_textclf_dataset *d;
 *   wd_textclf_dataset_new(p.cfg.norm_flags, &d);
 *   wd_textclf_dataset_load(d, "../shared/data", WD_TEXTCLF_LOAD_EVAL);
 *   wd_textclf_benign_generate(d, 25000, p.seed);
 *   wd_textclf_dataset_split(d, p.seed, 20, 10);
 *   wd_textclf_augment_harmful(d, 0.3, p.seed);
 *   wd_textclf *m;
 *   wd_textclf_train(d, &p, &m);
 *   wd_textclf_report r;
 *   wd_textclf_evaluate(m, d, wd_textclf_threshold(m, 0), &r);
 *   wd_textclf_save(m, "clf.safetensors", 0, NULL, NULL);
 *   wd_textclf_free(m);
 *   wd_textclf_dataset_free(d);
 *
 * Everything is deterministic: the same data, seed and parameters give the
 * same model file byte for byte. Errors follow warden/base.h: a wd_status,
 * out-parameters NULL on failure, the message in wd_last_error().
 */
#ifndef WARDEN_TEXTCLF_H
#define WARDEN_TEXTCLF_H

#include <stddef.h>
#include <stdint.h>

#include "warden/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== the model ========================================================== */

/* Labels of the shipped model (label i is bit i of an example's sets). */
enum {
    WD_TEXTCLF_LABEL_HARMFUL = 0,
    WD_TEXTCLF_LABEL_S1 = 1, /* S1..S14 are 1..14 */
    WD_TEXTCLF_LABEL_PI = 15, /* prompt_injection */
    WD_TEXTCLF_LABEL_RESPONSE = 16, /* harmful_response: a model's answer that
                                       gives harmful help (the output role) */
    WD_TEXTCLF_N_LABELS = 17,
};
/* The labels a request or a piece of user content speaks to (all but
 * harmful_response): what a benign prompt's source knows. */
#define WD_TEXTCLF_ALL_LABELS ((uint32_t)0xffffu)
#define WD_TEXTCLF_RESPONSE_BIT ((uint32_t)1u << WD_TEXTCLF_LABEL_RESPONSE)
#define WD_TEXTCLF_HAZARD_LABELS ((uint32_t)0x7ffeu) /* S1..S14 */
/* Most labels a model file may have (size of a probs array that fits any). */
#define WD_TEXTCLF_MAX_LABELS 32

/* Hyper-parameters of the feature map; stored in the model file. */
typedef struct wd_textclf_cfg {
    int      hash_bits;  /* D = 2^hash_bits buckets, 10..24                  */
    int      word_min;   /* word n-gram orders word_min..word_max (1..3)     */
    int      word_max;
    int      char_min;   /* character n-grams within "<word>", 0 = none      */
    int      char_max;   /* (codepoints, char_min..char_max, <= 8)           */
    unsigned norm_flags; /* how the text is normalised before featurising    */
    int      concepts;   /* 1 = WordNet concept features                     */
} wd_textclf_cfg;

/* The settings the shipped model was trained with. */
wd_textclf_cfg wd_textclf_cfg_default(void);

/* A model (opaque). Read-only calls are safe from many threads at once. */
typedef struct wd_textclf wd_textclf;

/* Loads a model file (safetensors). On failure *out is NULL and
 * wd_last_error() names the file and the field. Free with wd_textclf_free. */
wd_status wd_textclf_load(const char *path, wd_textclf **out);
/* The same over len bytes of a model file in memory; the buffer must
 * outlive the model (it is not copied). */
wd_status wd_textclf_from_memory(const void *data, size_t len, wd_textclf **out);
/* The model embedded in the library, loaded once (thread-safe). NULL, with
 * wd_last_error() set, when the build has none. Owned by the library:
 * never free it. */
const wd_textclf *wd_textclf_builtin(void);
/* The embedded model for a model's answers (models/warden-clf-v2): it has
 * the harmful_response head, which the prompt model has not. Same rules as
 * wd_textclf_builtin. */
const wd_textclf *wd_textclf_builtin_answers(void);
/* Frees a model from load / from_memory / train; NULL is a no-op. */
void wd_textclf_free(wd_textclf *m);
/* Writes m as a safetensors file, atomically (a temporary file renamed
 * over path), with n_meta extra metadata pairs (keys and values copied;
 * n_meta may be 0 with NULL arrays). */
wd_status wd_textclf_save(const wd_textclf *m, const char *path, size_t n_meta,
                          const char *const *meta_keys, const char *const *meta_values);

/* Number of labels (WD_TEXTCLF_N_LABELS for the shipped model). */
size_t         wd_textclf_n_labels(const wd_textclf *m);
/* Name of label i ("harmful", "S1", ...), owned by m; NULL out of range. */
const char    *wd_textclf_label(const wd_textclf *m, size_t i);
/* Index of a label by name, or -1. */
int            wd_textclf_label_index(const wd_textclf *m, const char *name);
/* Recommended decision threshold of label i (chosen in training); 0.5 when
 * the file stores none or i is out of range. */
float          wd_textclf_threshold(const wd_textclf *m, size_t i);
/* Sets the recommended threshold of label i (before saving); out of range
 * is a no-op. */
void           wd_textclf_set_threshold(wd_textclf *m, size_t i, float t);
/* The feature-map settings of m. */
wd_textclf_cfg wd_textclf_cfg_of(const wd_textclf *m);
/* The normalisation flags m expects its input to have gone through. */
unsigned       wd_textclf_norm_flags(const wd_textclf *m);

/* Scores text that is already normalised with wd_textclf_norm_flags(m)
 * (the examples of a dataset are, see wd_textclf_example.norm):
 * probs[0..n_labels) gets each label's probability. Empty text gets the
 * biases alone. Never allocates. */
wd_status wd_textclf_predict(const wd_textclf *m, const char *norm_text, size_t len, float *probs);
/* Normalises text as m asks, then scores it as wd_textclf_predict does
 * (allocates the normalised copy). WD_ERR_ENCODING for invalid UTF-8. */
wd_status wd_textclf_predict_text(const wd_textclf *m, const char *text, size_t len, float *probs);

/* ==== the labelled data ================================================== */

/* Where an example may be used. */
typedef enum wd_textclf_use {
    WD_TEXTCLF_USE_TRAIN = 0, /* ship-ok: split into train / validation / held-out */
    WD_TEXTCLF_USE_EVAL = 1,  /* evaluation only (never trained on)                */
} wd_textclf_use;

typedef enum wd_textclf_split {
    WD_TEXTCLF_SPLIT_TRAIN = 0,
    WD_TEXTCLF_SPLIT_VAL = 1,     /* early stopping                 */
    WD_TEXTCLF_SPLIT_HELDOUT = 2, /* the reported test split        */
    WD_TEXTCLF_SPLIT_EVAL = 3,    /* an evaluation-only source      */
} wd_textclf_split;

/* A set of labelled examples (opaque). */
typedef struct wd_textclf_dataset wd_textclf_dataset;

/* One example, as wd_textclf_dataset_get shows it. The strings are owned
 * by the dataset and stay valid until it is freed. */
typedef struct wd_textclf_example {
    const char      *text;     /* as read (blanks at both ends removed)  */
    const char      *norm;     /* normalised with the dataset's flags    */
    size_t           norm_len;
    size_t           source;   /* index of its source                    */
    uint32_t         pos;      /* positive labels (bit i = label i)      */
    uint32_t         known;    /* labels the source says something about */
    wd_textclf_split split;
} wd_textclf_example;

/* The label an example is scored on, from its known mask: harmful where
 * its source says, else harmful_response (a model's answer), else
 * prompt_injection (injected texts whose harm is unknown), else harmful.
 * An example scored on harmful_response is an answer: the guard checks
 * it as output. */
int wd_textclf_scored_label(uint32_t known);

/* An empty dataset whose texts will be normalised with norm_flags (use the
 * model's: wd_textclf_cfg_default().norm_flags). Free with
 * wd_textclf_dataset_free. */
wd_status wd_textclf_dataset_new(unsigned norm_flags, wd_textclf_dataset **out);
/* NULL is a no-op. */
void wd_textclf_dataset_free(wd_textclf_dataset *d);

/* Flags of wd_textclf_dataset_load. */
#define WD_TEXTCLF_LOAD_EVAL 1u /* also the evaluation-only sets                 */
#define WD_TEXTCLF_LOAD_V1   2u /* only the sources the v1 model was trained on  */
#define WD_TEXTCLF_LOAD_INSTRUCTIONS 4u /* with LOAD_V1: and the benign instruction
                                           sets (self-instruct, awesome-prompts) */

/* Reads the public datasets under data_dir (the layout of
 * ../shared/data/MANIFEST.md; src/train/textclf_sources.c lists each file
 * and how it is labelled) through the dataset reader (warden/dataset.h).
 * Sources that are absent are skipped with a warning in the log. Returns
 * WD_ERR_NOT_FOUND when none was found, WD_ERR_FORMAT for a malformed file
 * (the message names it); examples read before a failure stay in d. */
wd_status wd_textclf_dataset_load(wd_textclf_dataset *d, const char *data_dir, unsigned flags);

/* The index of the source called name, added if new (use and synthetic
 * are taken from the first call); -1 when out of memory. synthetic: the
 * texts are warden's own (they never count as "real" in the figures). */
int wd_textclf_dataset_source(wd_textclf_dataset *d, const char *name, wd_textclf_use use,
                              int synthetic);
/* Adds one example of source (text copied, blanks at both ends removed,
 * normalised; an empty text is skipped). pos is masked by known. A ship-ok
 * example whose normalised text equals an earlier ship-ok one is dropped
 * and counted (wd_textclf_dataset_n_dupes). */
wd_status wd_textclf_dataset_add(wd_textclf_dataset *d, int source, const char *text, size_t len,
                                 uint32_t pos, uint32_t known);
/* Assigns splits: eval-only sources get WD_TEXTCLF_SPLIT_EVAL; ship-ok
 * examples go to held-out with probability heldout_pct/100 and to
 * validation with val_pct/100 of the rest, decided by a seeded hash of the
 * normalised text (or of the example's group: translations of one prompt,
 * texts of one template), so equal texts always land together. */
void wd_textclf_dataset_split(wd_textclf_dataset *d, uint64_t seed, int heldout_pct, int val_pct);

/* Adds n benign prompts from warden's own generator under the source
 * "gen-benign" (synthetic), deterministically from seed: prompts that use
 * alarming words innocently ("kill the yeast"). Duplicates are dropped, so
 * slightly fewer may be added (at most 4n tries). */
wd_status wd_textclf_benign_generate(wd_textclf_dataset *d, size_t n, uint64_t seed);
/* Copies a share frac (0..1) of the harmful TRAIN examples, chosen from
 * seed, with a generator opener / closer ("Hi! ... Thanks!") under the
 * source "aug-harmful"; the copies stay in the train split. Call after
 * wd_textclf_dataset_split. */
wd_status wd_textclf_augment_harmful(wd_textclf_dataset *d, double frac, uint64_t seed);

size_t wd_textclf_dataset_n_examples(const wd_textclf_dataset *d);
size_t wd_textclf_dataset_n_sources(const wd_textclf_dataset *d);
/* Ship-ok examples dropped as exact duplicates so far. */
size_t wd_textclf_dataset_n_dupes(const wd_textclf_dataset *d);
unsigned wd_textclf_dataset_norm_flags(const wd_textclf_dataset *d);
/* Example i into *out; WD_ERR_RANGE when i is out of range. */
wd_status wd_textclf_dataset_get(const wd_textclf_dataset *d, size_t i, wd_textclf_example *out);
/* Name of source s ("advbench", "gen-benign", ...), owned by d; NULL out
 * of range. */
const char *wd_textclf_dataset_source_name(const wd_textclf_dataset *d, size_t s);
/* Use of source s (WD_TEXTCLF_USE_TRAIN out of range). */
wd_textclf_use wd_textclf_dataset_source_use(const wd_textclf_dataset *d, size_t s);

/* ==== training =========================================================== */

typedef struct wd_textclf_train_params {
    wd_textclf_cfg cfg;
    uint64_t seed;
    int      epochs;        /* maximum                                        */
    int      batch;
    float    lr;            /* Adam step size                                 */
    float    l2;            /* L2 penalty on weights (per example, mean loss) */
    float    cat_weight;    /* weight of the hazard/injection losses          */
    int      patience;      /* epochs without validation improvement          */
    size_t   source_cap;    /* a source counts as at most this many examples  */
    size_t   gen_cap;       /* the same for warden's generated benign prompts */
    float    harm_pos_w;    /* weight of a harmful example; 0 = balance classes */
    int      sample_capped; /* 1: a capped source trains on a sample of source_cap
                               examples; 0: on all, weighted cap / count      */
    int      arch;          /* WD_TEXTCLF_ARCH_LINEAR or WD_TEXTCLF_ARCH_CNN  */
    /* the convolutional form (arch CNN): word vectors of cnn_dim floats from
     * 2^cfg.hash_bits hashed buckets (word and cfg.char_min..char_max byte
     * n-grams), cnn_filters filters over cnn_width words, max over the text;
     * dropout on the pooled features; a training text is cut to its first
     * cnn_max_tokens tokens (prediction reads all) */
    int      cnn_dim, cnn_filters, cnn_width, cnn_max_tokens;
    float    dropout;
} wd_textclf_train_params;

enum { WD_TEXTCLF_ARCH_LINEAR = 0, WD_TEXTCLF_ARCH_CNN = 1 };

/* The settings of the shipped model. */
wd_textclf_train_params wd_textclf_train_params_default(void);
/* The same with arch WD_TEXTCLF_ARCH_CNN and what the cnn trains with: Adam
 * step 0.002, and a capped source trained on a seeded sample of its cap
 * (the cnn costs ~100x the linear model an example; the LOSO folds sample
 * so too). */
wd_textclf_train_params wd_textclf_train_params_cnn(void);

/* Copies TRAIN examples of both classes inside a frame: a decoding or task
 * instruction ("Please decipher the message and respond to it."), an
 * unrelated sentence before the request, or the request quoted in two
 * pieces to be joined (source "aug-frame", train split), so that the words
 * of a wrapper carry no signal. An example is copied with probability frac
 * times its source's training weight (min(1, cap / its examples), cap =
 * p->source_cap, p->gen_cap for generated benign prompts), so both classes
 * are framed in the proportion the trainer weighs them; draws from p->seed.
 * Call after wd_textclf_dataset_split and before
 * wd_textclf_augment_harmful. frac 0: nothing. */
wd_status wd_textclf_augment_framing(wd_textclf_dataset *d, double frac, const wd_textclf_train_params *p);

/* Asks TRAIN requests of both classes in another common form: a request
 * that starts with a "how" question or stated wish followed by a verb
 * phrase ("How can I ...", "I want to ...") or with a task verb ("Write
 * ...") gets, with probability frac, a start drawn from one pool ("Explain
 * how to ...", "Can you write ...?") in place of its own (the text is
 * replaced; labels, source and split stay), so that the form of a request
 * carries no signal. Draws from p->seed. Call after
 * wd_textclf_dataset_split. frac 0: nothing. */
wd_status wd_textclf_augment_reshape(wd_textclf_dataset *d, double frac, const wd_textclf_train_params *p);

/* Trains on the TRAIN split with early stopping on the VAL split (Adam,
 * class- and source-weighted logistic losses) and returns the quantised
 * model in *out (free with wd_textclf_free); its thresholds are 0.5.
 * Progress goes to the log. WD_ERR_INVALID_ARG when the train or the
 * validation split is empty. */
wd_status wd_textclf_train(const wd_textclf_dataset *d, const wd_textclf_train_params *p,
                           wd_textclf **out);

/* ==== evaluation ========================================================= */

typedef struct wd_textclf_counts {
    size_t tp, fp, fn, tn;
} wd_textclf_counts;

typedef struct wd_textclf_source_eval {
    size_t n;       /* examples of the source in the evaluated split(s)      */
    size_t n_pos;   /* of which harmful                                      */
    size_t flagged; /* of which flagged harmful                              */
    size_t flagged_pos;
    size_t cat_known, cat_top_ok; /* hazard known & top-scoring hazard right */
} wd_textclf_source_eval;

typedef struct wd_textclf_report {
    float                  threshold;    /* -1 for wd_textclf_evaluate_flags      */
    wd_textclf_counts      heldout_real; /* held-out, real (not generated) sources */
    wd_textclf_counts      heldout_all;  /* held-out incl. generated benign        */
    size_t                 n_sources;    /* entries of src used (at most 64)       */
    wd_textclf_source_eval src[64];      /* by source index: held-out or eval split */
    double                 ms_per_1k;    /* predict time, ms per 1000 texts        */
} wd_textclf_report;

/* Scores every held-out and eval-only example with m (flagged when
 * p(harmful) >= threshold) and fills r. */
wd_status wd_textclf_evaluate(const wd_textclf *m, const wd_textclf_dataset *d, float threshold,
                              wd_textclf_report *r);
/* Fills r from decisions made elsewhere (a whole guard): flags[i] = 1
 * flagged, 0 not, -1 not scored, for each example i. */
void wd_textclf_evaluate_flags(const wd_textclf_dataset *d, const int8_t *flags,
                               wd_textclf_report *r);

/* ==== leave-one-source-out =============================================== */

typedef enum wd_textclf_fold_kind {
    WD_TEXTCLF_FOLD_REQUEST = 0,   /* harmful requests vs benign instructions  */
    WD_TEXTCLF_FOLD_TOXIC = 1,     /* toxic / hateful content vs its contrasts */
    WD_TEXTCLF_FOLD_INJECTION = 2, /* prompt injection (the injection head)    */
} wd_textclf_fold_kind;

/* One fold: these source families are left out of training together and
 * make up its test set. (A family groups sources that share texts or
 * authors, e.g. AdvBench and the sets built from it; a source not grouped
 * is a family of its own.) */
typedef struct wd_textclf_fold {
    const char          *name;
    const char          *families[3]; /* NULL-padded */
    wd_textclf_fold_kind kind;
} wd_textclf_fold;

/* The folds `train-guard --eval` reports; *n_out gets their count. Static. */
const wd_textclf_fold *wd_textclf_default_folds(size_t *n_out);

/* Trains one model per fold without the fold's families (params p; the
 * split of every other example is kept) and scores the fold's examples
 * with it: oof[k * n + i] (n = wd_textclf_dataset_n_examples(d)) is fold
 * k's model's probability of the fold's label ("harmful", or
 * "prompt_injection" for injection folds) for example i when i belongs to
 * fold k (a benign family may belong to several folds), NAN otherwise. oof
 * holds n_folds * n floats. A fold whose families are absent is skipped
 * (all NAN). d's splits are restored before returning. */
wd_status wd_textclf_loso(wd_textclf_dataset *d, const wd_textclf_train_params *p,
                          const wd_textclf_fold *folds, size_t n_folds, float *oof);

/* Counts of one fold at threshold t, oof_k = oof + k * n. */
wd_textclf_counts wd_textclf_fold_counts(const wd_textclf_dataset *d, const float *oof_k,
                                         wd_textclf_fold_kind kind, float t);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_TEXTCLF_H */
