#!/usr/bin/env python3
"""A quick whole-corpus check for writers: row shape and near-duplicates (char 5-gram Jaccard).

Usage: python3 data/corpus/tools/checkall.py [--mine NN] [-v]
A near-duplicate pair prints both rows' text, except a row of the test split, whose text is
hidden (only its file is named) so that no writer reads test rows; a writer whose own batch is
in test passes --mine NN to see their own rows. -v prints the corpus's counts.
"""
import glob, re, sys, unicodedata, collections, itertools
HDR = 'label\tcategory\tseverity\tdodge\ttarget\ttext'
CATS = {'threat', 'sexual', 'identity', 'insult', 'selfharm', 'doxxing'}
DODGES = set('none leet spacing homoglyph fancy-font zero-width emoji misspelling sarcasm coded veiled reference'.split())
TG = {'politician', 'journalist', 'streamer', 'activist'}
REV = {}
HOMO = {'a': 'а', 'c': 'с', 'e': 'е', 'i': 'і', 'j': 'ј', 'o': 'оο', 'p': 'р', 's': 'ѕ', 'x': 'х',
        'y': 'у', 'h': 'һ', 'd': 'ԁ', 'w': 'ԝ', 'v': 'ν', 'k': 'κ', 'u': 'υ', 'l': 'ӏ', 'n': 'ո',
        'A': 'АΑ', 'B': 'ВΒ', 'C': 'С', 'E': 'ЕΕ', 'H': 'НΗ', 'I': 'ІΙ', 'J': 'Ј', 'K': 'КΚ',
        'M': 'МΜ', 'O': 'ОΟ', 'P': 'РΡ', 'S': 'Ѕ', 'T': 'ТΤ', 'X': 'ХΧ', 'Y': 'ҮΥ', 'N': 'Ν', 'Z': 'Ζ'}
for k, v in HOMO.items():
    for c in v: REV[c] = k.lower()
SC = dict(zip('ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡʏᴢ', 'abcdefghijklmnopqrstuvwyz'))
L = {'4': 'a', '@': 'a', '3': 'e', '1': 'i', '!': 'i', '0': 'o', '5': 's', '$': 's', '7': 't', '|': 'l'}
def norm(t):
    t = unicodedata.normalize('NFKC', t)
    t = ''.join(REV.get(c, SC.get(c, c)) for c in t)
    t = ''.join(c for c in t if unicodedata.category(c) != 'Cf').lower()
    t = ''.join(chr(ord(c) - 0x1F170 + 97) if 0x1F170 <= ord(c) <= 0x1F189 else c for c in t)
    t = ''.join(L.get(c, c) for c in t)
    return ''.join(c for c in t if ('a' <= c <= 'z') or unicodedata.category(c) == 'So')
rows = []
bad = 0
import os
CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
# Only the three splits: second-pass/ holds annotation files of another format.
for f in sorted(glob.glob(os.path.join(CORPUS, '*', '*.tsv'))):
    if os.path.basename(os.path.dirname(f)) not in ('train', 'validation', 'test'):
        continue
    lines = open(f, encoding='utf-8').read().split('\n')
    assert lines[0] == HDR, f
    for i, l in enumerate(lines[1:], 2):
        if not l: continue
        c = l.split('\t')
        if len(c) != 6 or  c[4] not in TG or not c[5].strip():
            print('BAD', f, i, c); bad += 1
        rows.append((f.split('/')[-2] + '/' + f.split('/')[-1], c))
print('rows', len(rows), 'bad', bad)
# near-dup: char 5-gram jaccard on normalised text
def sh(t): return {t[i:i+5] for i in range(max(1, len(t) - 4))}
N = [(r, norm(r[1][5]) if len(norm(r[1][5])) >= 4 else r[1][5]) for r in rows]
idx = collections.defaultdict(list)
S = []
for k, (r, t) in enumerate(N):
    s = sh(t); S.append(s)
    for g in s: idx[g].append(k)
MINE = sys.argv[sys.argv.index('--mine') + 1] if '--mine' in sys.argv else None
def shown(row):
    """The text to print for a row: test rows are hidden unless they are the writer's own."""
    name, cols = row
    if name.startswith('test/') and not (MINE and re.search(r'-%s\.tsv$' % re.escape(MINE), name)):
        return '[test row, text hidden]'
    return cols[5][:80]
dups = 0
for k, s in enumerate(S):
    cnt = collections.Counter()
    for g in s:
        if len(idx[g]) < 200:
            for j in idx[g]:
                if j > k: cnt[j] += 1
    for j, inter in cnt.items():
        jac = inter / (len(s) + len(S[j]) - inter)
        short = min(len(N[k][1]), len(N[j][1])) < 15
        if (jac >= 0.6 and not short) or jac == 1.0:
            dups += 1
            print(f'NEAR {jac:.2f}', N[k][0][0], '|', shown(N[k][0]), '||', N[j][0][0], '|', shown(N[j][0]))
print('near-dups', dups)
if '-v' in sys.argv:
    for key, col in (('split', None), ('category', 1), ('dodge', 3), ('target', 4), ('severity', 2)):
        if col is None:
            c = collections.Counter(r[0].split('/')[0] for r in rows)
        else:
            c = collections.Counter(r[1][col] for r in rows)
        print(key, dict(sorted(c.items(), key=lambda x: -x[1])), {k: f'{v/len(rows):.1%}' for k, v in c.items()} if key == 'dodge' else '')
