#!/usr/bin/env python3
"""scripts/gen-concepts.py - derives warden's word-concept table from WordNet.

Reads the WordNet 3.0 database of Debian's `wordnet-base` package
(/usr/share/wordnet; `scripts/setup.sh --with-wordnet`) and writes
src/guard/concepts_table.inc: every single-word English lemma (and its
regular and listed irregular inflections) whose first senses fall under
one of a few anchor synsets (KILL, INJURE, PERSON, WEAPON, ...), with the
bit set of those anchors. The classifier (src/guard/textclf.c) turns the
bits into concept features, so "slay", "strangle" and "liquidate" share
the KILL concept with "kill", "neighbour" and "coworker" the PERSON
concept, and the model can learn "KILL ... PERSON" once for all of them.

The output is committed, so a build needs neither WordNet nor Python; the
table is regenerated only when the anchors change:
    python3 scripts/gen-concepts.py > src/guard/concepts_table.inc
Deterministic (sorted output). WordNet 3.0 licence: see the header written
into the table.
"""
import sys

WN = '/usr/share/wordnet'

# (concept, [(pos, lemma, sense number), ...]): the concept's anchor synsets.
# A word has the concept when one of its first senses (SENSES[pos]) is an
# anchor or has one among its hypernyms (transitively).
ANCHORS = [
    ('KILL', [('v', 'kill', 1), ('v', 'poison', 2)]),
    ('INJURE', [('v', 'injure', 1), ('v', 'torture', 2), ('v', 'hit', 3)]),
    ('ATTACK', [('v', 'attack', 1), ('v', 'attack', 4)]),
    ('STEAL', [('v', 'steal', 1), ('v', 'rob', 1)]),
    ('CHEAT', [('v', 'cheat', 1), ('v', 'cheat', 3), ('v', 'deceive', 1)]),
    ('SEXASSAULT', [('v', 'rape', 1), ('v', 'molest', 1)]),
    ('THREATEN', [('v', 'threaten', 2), ('v', 'harass', 1), ('v', 'intimidate', 1)]),
    ('DESTROY', [('v', 'destroy', 1), ('v', 'destroy', 2)]),
    ('MAKE', [('v', 'make', 3), ('v', 'produce', 2)]),
    ('ACQUIRE', [('v', 'buy', 1), ('v', 'get', 1)]),
    ('PERSON', [('n', 'person', 1)]),
    ('CHILD', [('n', 'child', 1), ('n', 'juvenile', 1)]),
    ('GROUP', [('n', 'social_group', 1), ('n', 'people', 1)]),
    ('WEAPON', [('n', 'weapon', 1)]),
    ('EXPLOSIVE', [('n', 'explosive', 1), ('n', 'bomb', 1), ('n', 'explosive_device', 1)]),
    ('DRUG', [('n', 'controlled_substance', 1), ('n', 'narcotic', 1), ('n', 'hard_drug', 1),
              ('n', 'drug_of_abuse', 1)]),
    ('POISON', [('n', 'poison', 1), ('n', 'toxin', 1)]),
    ('CRIME', [('n', 'crime', 1), ('n', 'crime', 2), ('n', 'wrongdoing', 1)]),
    ('ANIMAL', [('n', 'animal', 1)]),
    ('PLANT', [('n', 'plant', 2)]),
    ('FOOD', [('n', 'food', 1), ('n', 'food', 2), ('n', 'beverage', 1)]),
    ('DISEASE', [('n', 'disease', 1), ('n', 'illness', 1)]),
    ('BODY', [('n', 'body_part', 1)]),
    ('ARTIFACT_SW', [('n', 'software', 1), ('n', 'computer', 1), ('n', 'file', 1)]),
    ('GAME', [('n', 'game', 1), ('n', 'game', 2), ('n', 'sport', 1)]),
    ('MONEY', [('n', 'money', 1), ('n', 'money', 2)]),
    ('SEX', [('n', 'sexual_activity', 1)]),
    ('DEATH', [('n', 'death', 1), ('n', 'killing', 1)]),
]
SENSES = {'n': 1, 'v': 2}  # senses of a lemma looked at, by frequency order

# Words WordNet 3.0 lacks or files under another first sense, written for
# warden (computing and games, where "kill", "shoot", "bomb" are everyday):
# added to the concept, with their plurals.
SUPPLEMENT = {
    'ARTIFACT_SW': """
        process thread daemon kernel script bash shell terminal command container docker
        kubernetes pod cron port socket app browser database sql query repo commit pid
        sigkill sigterm session linux unix ubuntu debian macos powershell cmd python java
        javascript golang rust node npm server job task tab vm instance cache loop bug
        function variable branch pipeline build deploy cluster firewall endpoint api
        """.split(),
    'GAME': """
        minecraft fortnite roblox skyrim gta zelda terraria valorant overwatch pubg csgo
        counterstrike halo pokemon chess videogame gameplay npc boss quest mod gamer
        multiplayer rpg dnd warzone battlefield mario sims rust league dota creeper
        zombie zombies level raid dungeon
        """.split(),
}


def load_index(pos):
    idx = {}
    with open(f'{WN}/index.{pos}', encoding='latin-1') as f:
        for line in f:
            if line.startswith(' '):
                continue
            t = line.split()
            p = int(t[3])
            idx[t[0]] = t[4 + p + 2:]
    return idx


def load_data(pos):
    hyper = {}
    with open(f'{WN}/data.{pos}', encoding='latin-1') as f:
        for line in f:
            if line.startswith(' '):
                continue
            t = line.split(' ')
            w = int(t[3], 16)
            k = 4 + 2 * w
            ptrs = []
            for i in range(int(t[k])):
                sym, off, ps = t[k + 1 + 4 * i:k + 4 + 4 * i]
                if sym in ('@', '@i') and ps == pos[0]:
                    ptrs.append(off)
            hyper[t[0]] = ptrs
    return hyper


def load_exc(pos):
    exc = {}
    with open(f'{WN}/{pos}.exc', encoding='latin-1') as f:
        for line in f:
            t = line.split()
            if len(t) >= 2:
                exc.setdefault(t[1], []).append(t[0])
    return exc


def inflect(word, pos):
    out = {word}
    if pos == 'n':
        if word.endswith(('s', 'x', 'z', 'ch', 'sh')):
            out.add(word + 'es')
        elif word.endswith('y') and len(word) > 2 and word[-2] not in 'aeiou':
            out.add(word[:-1] + 'ies')
        else:
            out.add(word + 's')
    else:
        if word.endswith(('s', 'x', 'z', 'ch', 'sh')):
            out.add(word + 'es')
        elif word.endswith('y') and len(word) > 2 and word[-2] not in 'aeiou':
            out.add(word[:-1] + 'ies')
            out.add(word[:-1] + 'ied')
        else:
            out.add(word + 's')
        if word.endswith('e'):
            out.add(word + 'd')
            out.add(word[:-1] + 'ing')
        elif not word.endswith('y'):
            out.add(word + 'ed')
            out.add(word + 'ing')
            if (len(word) >= 3 and word[-1] not in 'aeiouwxy' and word[-2] in 'aeiou'
                    and word[-3] not in 'aeiou'):
                out.add(word + word[-1] + 'ed')
                out.add(word + word[-1] + 'ing')
        else:
            out.add(word + 'ing')
            if word[-2] in 'aeiou':
                out.add(word + 'ed')
    return out


def main():
    table = {}
    for pos, fname in (('n', 'noun'), ('v', 'verb')):
        idx, hyper, exc = load_index(fname), load_data(fname), load_exc(fname)
        anchors = {}
        for bit, (name, syns) in enumerate(ANCHORS):
            for p, lemma, sense in syns:
                if p != pos:
                    continue
                offs = idx.get(lemma)
                if not offs or len(offs) < sense:
                    sys.exit(f'gen-concepts: anchor {p}:{lemma}.{sense} not in WordNet')
                anchors.setdefault(offs[sense - 1], 0)
                anchors[offs[sense - 1]] |= 1 << bit
        memo = {}

        def closure(off, depth=0):
            if off in memo:
                return memo[off]
            m = anchors.get(off, 0)
            if depth < 40:
                for h in hyper.get(off, ()):
                    m |= closure(h, depth + 1)
            memo[off] = m
            return m

        for lemma, offs in idx.items():
            if not lemma.isascii() or not lemma.isalpha() or not 3 <= len(lemma) <= 24:
                continue
            m = 0
            for off in offs[:SENSES[pos]]:
                m |= closure(off)
            if not m:
                continue
            forms = inflect(lemma, pos) | set(exc.get(lemma, ()))
            for form in forms:
                if form.isascii() and form.isalpha():
                    table[form] = table.get(form, 0) | m
    names = [a[0] for a in ANCHORS]
    for concept, words in SUPPLEMENT.items():
        bit = 1 << names.index(concept)
        for word in words:
            for form in inflect(word, 'n'):
                table[form] = table.get(form, 0) | bit
    w = sys.stdout.write
    w('/* Generated by scripts/gen-concepts.py from WordNet 3.0 (Debian wordnet-base); do not edit.\n')
    w(' * WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.\n')
    w(' * THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO\n')
    w(' * REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. (WordNet 3.0 licence, see\n')
    w(' * /usr/share/doc/wordnet-base/copyright.)\n')
    w(' * Concept bits: ' + ', '.join(f'{i} {n}' for i, n in enumerate(names)) + ' */\n')
    w(f'#define WD_CONCEPTS_N {len(names)}\n')
    w('static const char *const wd_concept_names[WD_CONCEPTS_N] = {\n')
    for i in range(0, len(names), 6):
        w('    ' + ' '.join(f'"{n}",' for n in names[i:i + 6]) + '\n')
    w('};\n')
    w('/* "word" NUL, then the bit set as 8 hex digits, entry after entry */\n')
    w('static const char wd_concept_words[] =\n')
    for word in sorted(table):
        w(f'    "{word}\\0" "{table[word]:08x}"\n')
    w('    "";\n')


if __name__ == '__main__':
    main()
