/*
 * guard/scanners/injection.c - the `injection` scanner: prompt-injection and
 * jailbreak markers.
 *
 *   - the team's injection lexicon (lexicons/injection.lex): instruction
 *     override ("ignore all previous instructions"), role-play / "DAN"
 *     personas, developer-mode claims, system-prompt extraction
 *   - chat-template control tokens pasted into user text (<|im_start|>,
 *     [INST], <<SYS>>, <|endoftext|>): an attempt to forge turns
 *   - ASCII smuggled in Unicode tag characters (U+E0020-E007E), invisible
 *     to a reader but read by many models, when what they spell is a
 *     message (wd__payload_prose), not a scatter of random ones
 * Payloads hidden in base64/hex/rot13 are decoded by the engine and come
 * back through this scanner (and the others) one level deeper.
 *
 * Policy node: {type: injection, files: [more.lex]}
 */
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "guard/payload.h"
#include "guard/lexicon.h"
#include "guard/rx.h"
#include "guard/scanner.h"

static const char *const template_pattern =
    "<\\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id)\\|>"
    "|\\[/?INST\\]|<</?SYS>>|<start_of_turn>|<end_of_turn>";

typedef struct injection {
    wd__lexicon *lx;
    pcre2_code *tmpl;
} injection;

typedef struct inj_scratch {
    wd__lexicon_scratch  *lx;
    pcre2_match_data    *md;
    pcre2_match_context *mc;
} inj_scratch;

static void injection_free(void *impl) {
    injection *j = impl;
    if (!j) return;
    wd__lexicon_free(j->lx);
    pcre2_code_free(j->tmpl);
    free(j);
}

typedef struct file_ctx {
    wd__lexicon           *lx;
    const wd__scanner_env *env;
    wd__err               *err;
} file_ctx;

static wd_status add_file(const wd__pnode *it, void *user) {
    file_ctx *c = user;
    char *path = it->str[0] == '/' ? strdup(it->str) : wd__path_join(c->env->policy_dir, it->str);
    if (!path) return wd__err_set(c->err, WD_ERR_NOMEM, "out of memory");
    char *text = NULL;
    size_t len = 0;
    wd_status st = wd__file_read(path, 64u << 20, &text, &len);
    if (st != WD_OK) st = wd__pn_error(it, c->err, st, "files", "%s", wd_last_error());
    else st = wd__lexicon_add(c->lx, text, len, path, c->err);
    free(text);
    free(path);
    return st;
}

static wd_status injection_init(const wd__pnode *cfg, const wd__scanner_env *env, void **impl, wd__err *err) {
    static const char *const keys[] = {"type", "name", "roles", "weight", "enabled", "files", NULL};
    wd_status st = wd__pn_check_keys(cfg, keys, "an injection scanner", err);
    if (st != WD_OK) return st;
    injection *j = calloc(1, sizeof *j);
    if (!j || !(j->lx = wd__lexicon_new())) {
        free(j);
        return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    }
    size_t len;
    const char *text = wd__lexicon_builtin("injection", &len);
    st = wd__lexicon_add(j->lx, text, len, "lexicons/injection.lex", err);
    file_ctx fc = {j->lx, env, err};
    if (st == WD_OK) st = wd__pn_each_string(cfg, "files", add_file, &fc, err);
    if (st == WD_OK) st = wd__lexicon_compile(j->lx, err);
    if (st == WD_OK) st = wd__rx_compile(template_pattern, 0, "chat-template-token", &j->tmpl, err);
    if (st != WD_OK) {
        injection_free(j);
        return st;
    }
    *impl = j;
    return WD_OK;
}

static void *injection_scratch_new(const void *impl) {
    inj_scratch *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->lx = wd__lexicon_scratch_new();
    s->md = pcre2_match_data_create(2, NULL);
    s->mc = pcre2_match_context_create(NULL);
    if (!s->lx || !s->md || !s->mc) {
        wd__lexicon_scratch_free(s->lx);
        pcre2_match_data_free(s->md);
        pcre2_match_context_free(s->mc);
        free(s);
        return NULL;
    }
    return s;
}

static void injection_scratch_free(void *p) {
    inj_scratch *s = p;
    if (!s) return;
    wd__lexicon_scratch_free(s->lx);
    pcre2_match_data_free(s->md);
    pcre2_match_context_free(s->mc);
    free(s);
}

static wd_status injection_scan(const void *impl, void *scratch, const wd__scan_input *in, wd__scan_result *res,
                                wd__err *err) {
    const injection *j = impl;
    inj_scratch *s = scratch;
    if (!s) return wd__err_set(err, WD_ERR_NOMEM, "injection: no work space");
    wd_status st = wd__lexicon_scan(j->lx, s->lx, in, res);
    if (st != WD_OK) return st;
    const char *t = in->orig;
    size_t n = in->orig_len;
    if (memchr(t, '<', n) || memchr(t, '[', n)) {
        size_t pos = 0, a, b, steps = 0;
        wd__rx_scan sc = {s->md, s->mc, in->stop, WD_OK};
        while (wd__rx_next(j->tmpl, &sc, t, n, &pos, &a, &b) == 1) {
            if (++steps % WD_SCAN_POLL_EVERY == 0 && (st = wd__scan_poll(in)) != WD_OK) return st;
            if (wd__scan_hit(res, WD_CATEGORY_PROMPT_INJECTION, 0.8f, a, b, "chat-template-token", NULL) != WD_OK)
                return WD_ERR_NOMEM;
        }
        if (sc.st != WD_OK) return sc.st;
    }
    /* tag characters: F3 A0 80 A0 .. F3 A0 81 BE */
    size_t tags = 0, first = 0, last = 0, run = 0, longest = 0, next_poll = WD_SCAN_POLL_BYTES;
    for (size_t i = 0; i + 3 < n; i++) {
        if (i >= next_poll) {
            if ((st = wd__scan_poll(in)) != WD_OK) return st;
            next_poll = i + WD_SCAN_POLL_BYTES;
        }
        if ((unsigned char)t[i] == 0xF3 && (unsigned char)t[i + 1] == 0xA0 &&
            ((unsigned char)t[i + 2] == 0x80 || (unsigned char)t[i + 2] == 0x81)) {
            if (!tags) first = i;
            run = tags && last == i ? run + 1 : 1;
            if (run > longest) longest = run;
            last = i + 4;
            tags++;
            i += 3;
        }
    }
    /* A string hidden in tags is an attack: 4+ of them in a row, or prose
     * spelled by all of them. Single tags scattered between letters spell
     * noise (a rendering trick the normaliser undoes), not a message. */
    if (longest >= 4 && wd__scan_hit(res, WD_CATEGORY_PROMPT_INJECTION, 0.9f, first, last, "hidden-tag-characters", NULL) != WD_OK)
        return WD_ERR_NOMEM;
    if (longest < 4 && tags >= 4) {
        char *hidden = malloc(tags + 1);
        if (!hidden) return WD_ERR_NOMEM;
        size_t k = wd__payload_tags(t, n, hidden, &first, &last, in->stop, &st);
        if (st != WD_OK) {
            free(hidden);
            return st;
        }
        bool prose = k >= 4 && wd__payload_prose(hidden, k);
        free(hidden);
        if (prose && wd__scan_hit(res, WD_CATEGORY_PROMPT_INJECTION, 0.9f, first, last, "hidden-tag-characters", NULL) != WD_OK)
            return WD_ERR_NOMEM;
    }
    return WD_OK;
}

const wd__scanner_vt wd__scanner_injection = {
    .type = "injection",
    .init = injection_init,
    .free = injection_free,
    .scratch_new = injection_scratch_new,
    .scratch_free = injection_scratch_free,
    .scan = injection_scan,
};
