/*
 * base/embed.h - files embedded into the library at build time by
 * cmake/wd_embed.cmake (wd_embed_file). SYMBOL[SYMBOL_len] holds the file's
 * bytes and SYMBOL[SYMBOL_len] == 0, so text files are also C strings.
 */
#ifndef WD_BASE_EMBED_H
#define WD_BASE_EMBED_H

#include <stddef.h>

#define WD_EMBED_DECLARE(sym)               \
    extern const unsigned char sym[];       \
    extern const size_t sym##_len

#endif
