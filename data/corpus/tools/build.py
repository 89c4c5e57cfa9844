#!/usr/bin/env python3
"""Build data/corpus/<split>/abuse-NN.tsv from hand-written batch sources in tools/src.

Usage: python3 data/corpus/tools/build.py [NN ...]   (only the named batches; default all).
The sources (src/batchNN.txt) and their splits (splits.txt) live next to this script.

Source line: CODE|text   where CODE = category letter, severity digit, dodge letter, target letter
  category: T threat, S sexual, I identity, N insult, H selfharm, D doxxing
  dodge: n none, l leet, s spacing, h homoglyph, f fancy-font, z zero-width, e emoji,
         m misspelling, x sarcasm, c coded, v veiled, r reference
  target: p politician, j journalist, s streamer, a activist
For l/s/h/z/f, {spans} mark the words the writer obfuscates (f and h without spans: whole text).
The obfuscation is applied with a per-line seeded RNG so builds are reproducible.
"""
import random, sys, os, re, glob, hashlib, unicodedata

CAT = dict(T='threat', S='sexual', I='identity', N='insult', H='selfharm', D='doxxing')
DODGE = dict(n='none', l='leet', s='spacing', h='homoglyph', f='fancy-font', z='zero-width',
             e='emoji', m='misspelling', x='sarcasm', c='coded', v='veiled', r='reference')
TGT = dict(p='politician', j='journalist', s='streamer', a='activist')

LEET = {'a': ['4', '@'], 'e': ['3'], 'i': ['1', '!'], 'o': ['0'], 's': ['5', '$'], 't': ['7'],
        'l': ['1', '|'], 'g': ['9'], 'b': ['8'], 'z': ['2']}
HOMO = {'a': 'а', 'c': 'с', 'e': 'е', 'i': 'і', 'j': 'ј', 'o': 'оο', 'p': 'р', 's': 'ѕ', 'x': 'х',
        'y': 'у', 'h': 'һ', 'd': 'ԁ', 'w': 'ԝ', 'v': 'ν', 'k': 'κ', 'u': 'υ', 'l': 'ӏ', 'n': 'ո',
        'A': 'АΑ', 'B': 'ВΒ', 'C': 'С', 'E': 'ЕΕ', 'H': 'НΗ', 'I': 'ІΙ', 'J': 'Ј', 'K': 'КΚ',
        'M': 'МΜ', 'O': 'ОΟ', 'P': 'РΡ', 'S': 'Ѕ', 'T': 'ТΤ', 'X': 'ХΧ', 'Y': 'ҮΥ', 'N': 'Ν', 'Z': 'Ζ'}
ZW = ['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff']
SEPS = [' ', '.', '-', '_', '*', ' . ', '  ', '/', '~', ',']


def fancy_maker(kind):
    def alpha(upper0, lower0, holes=None, digit0=None):
        holes = holes or {}
        def f(ch):
            if ch in holes:
                return holes[ch]
            if 'A' <= ch <= 'Z' and upper0 is not None:
                return chr(upper0 + ord(ch) - 65)
            if 'a' <= ch <= 'z' and lower0 is not None:
                return chr(lower0 + ord(ch) - 97)
            if '0' <= ch <= '9' and digit0 is not None:
                return chr(digit0 + ord(ch) - 48)
            return ch
        return f
    ds = {'C': 'ℂ', 'H': 'ℍ', 'N': 'ℕ', 'P': 'ℙ', 'Q': 'ℚ', 'R': 'ℝ', 'Z': 'ℤ'}
    smallcaps = dict(zip('abcdefghijklmnopqrstuvwxyz', 'ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡxʏᴢ'))
    table = {
        'bold': alpha(0x1D400, 0x1D41A, digit0=0x1D7CE),
        'italic': alpha(0x1D434, 0x1D44E, {'h': 'ℎ'}),
        'bolditalic': alpha(0x1D468, 0x1D482),
        'script': alpha(0x1D4D0, 0x1D4EA),
        'fraktur': alpha(0x1D56C, 0x1D586),
        'double': alpha(0x1D538, 0x1D552, ds, 0x1D7D8),
        'sans': alpha(0x1D5D4, 0x1D5EE, digit0=0x1D7EC),
        'sansitalic': alpha(0x1D608, 0x1D622),
        'mono': alpha(0x1D670, 0x1D68A, digit0=0x1D7F6),
        'full': alpha(0xFF21, 0xFF41, digit0=0xFF10),
        'circled': alpha(0x24B6, 0x24D0),
        'squared': alpha(0x1F170, 0x1F170),
        'smallcaps': lambda ch: smallcaps.get(ch, ch),
    }
    return table[kind]

FANCY_KINDS = ['bold', 'italic', 'bolditalic', 'script', 'fraktur', 'double', 'sans', 'sansitalic',
               'mono', 'full', 'circled', 'squared', 'smallcaps']


def leet(word, rng):
    out = []
    subs = 0
    heavy = rng.random() < 0.5
    for ch in word:
        lo = ch.lower()
        if lo in LEET and (heavy or rng.random() < 0.55):
            out.append(rng.choice(LEET[lo])); subs += 1
        else:
            out.append(ch)
    if subs == 0:
        for i, ch in enumerate(word):
            if ch.lower() in LEET:
                out[i] = LEET[ch.lower()][0]; break
    return ''.join(out)


def spacing(word, rng, sep):
    # a span is one word to the writer: pre-spaced spans ("k y s") are re-spaced as one word
    tokens = [t for t in word.split(' ') if t]
    if all(len(t) == 1 for t in tokens):
        return sep.join(tokens)
    gap = '   ' if sep.strip() == '' else ' '
    return gap.join(sep.join(t) for t in tokens)


def homoglyph(text, rng, p):
    out = []
    hit = 0
    for ch in text:
        if ch in HOMO and rng.random() < p:
            out.append(rng.choice(HOMO[ch])); hit += 1
        else:
            out.append(ch)
    if hit == 0:
        for i, ch in enumerate(text):
            if ch in HOMO:
                out[i] = HOMO[ch][0]; break
    return ''.join(out)


def zerowidth(word, rng):
    z = rng.choice(ZW) if rng.random() < 0.6 else None
    out = []
    for i, ch in enumerate(word):
        out.append(ch)
        if i < len(word) - 1 and (rng.random() < 0.7):
            out.append(z or rng.choice(ZW))
    if len(word) > 1 and len(out) == len(word):
        out.insert(len(word) // 2, z or rng.choice(ZW))
    return ''.join(out)


def transform(dodge, text, rng):
    spans = re.findall(r'\{([^{}]*)\}', text)
    if dodge in 'mexcvrn' or dodge not in 'lshzf':
        if spans:
            raise ValueError('braces in a non-transform line: ' + text)
        return text
    if dodge == 'l':
        return re.sub(r'\{([^{}]*)\}', lambda m: leet(m.group(1), rng), text)
    if dodge == 's':
        sep = rng.choice(SEPS)
        if sep.strip() == '':
            # keep word gaps wider than letter gaps, as people do: "k i l l   y o u"
            text = re.sub(r'\}\s+\{', '}   {', text)
        out = re.sub(r'\{([^{}]*)\}', lambda m: spacing(m.group(1), rng, sep), text)
        if out == text.replace('{', '').replace('}', ''):  # already "t h o t": use a visible separator
            sep = rng.choice(['.', '-', '*', '_'])
            out = re.sub(r'\{([^{}]*)\}', lambda m: spacing(m.group(1), rng, sep), text)
        return out
    if dodge == 'z':
        return re.sub(r'\{([^{}]*)\}', lambda m: zerowidth(m.group(1), rng), text)
    if dodge == 'h':
        if spans:
            return re.sub(r'\{([^{}]*)\}', lambda m: homoglyph(m.group(1), rng, 0.6), text)
        return homoglyph(text, rng, 0.35)
    if dodge == 'f':
        kind = rng.choice(FANCY_KINDS)
        f = fancy_maker(kind)
        conv = lambda s: ''.join(f(c) for c in s)
        if spans:
            return re.sub(r'\{([^{}]*)\}', lambda m: conv(m.group(1)), text)
        return conv(text)


def parse(path):
    rows = []
    for n, line in enumerate(open(path, encoding='utf-8'), 1):
        line = line.rstrip('\n')
        if not line.strip() or line.startswith('#'):
            continue
        code, sep, text = line.partition('|')
        code = code.strip()
        if not sep or len(code) != 4 or code[0] not in CAT or code[1] not in '123' \
                or code[2] not in DODGE or code[3] not in TGT:
            sys.exit(f'{path}:{n}: bad code {code!r}')
        text = text.strip()
        if '\t' in text or not text:
            sys.exit(f'{path}:{n}: tab or empty')
        if code[2] in 'lsz' and '{' not in text:
            sys.exit(f'{path}:{n}: dodge {code[2]} needs {{spans}}')
        rows.append((n, code, text))
    return rows


def main():
    splits = {}
    here = os.path.dirname(os.path.abspath(__file__))
    only = set(sys.argv[1:])
    for line in open(os.path.join(here, 'splits.txt')):
        if line.strip():
            b, s = line.split()
            splits[b] = s
    root = os.path.dirname(here)
    for src in sorted(glob.glob(os.path.join(here, 'src', 'batch*.txt'))):
        b = re.search(r'batch(\d+)', src).group(1)
        if only and b not in only:
            continue
        split = splits.get(b)
        if not split:
            print('no split for', b); continue
        rows = parse(src)
        out = ['label\tcategory\tseverity\tdodge\ttarget\ttext']
        for n, code, text in rows:
            seed = int(hashlib.sha256(f'{b}:{text}'.encode()).hexdigest()[:12], 16)
            rng = random.Random(seed)
            t = transform(code[2], text, rng)
            plain = text.replace('{', '').replace('}', '')
            if code[2] in 'lshzf' and t == plain and plain.isascii():
                sys.exit(f'{src}:{n}: dodge {code[2]} changed nothing: {text}')
            if code[2] == 'z' and not any(c in t for c in ZW):
                sys.exit(f'{src}:{n}: no zero-width character: {text}')
            assert '\t' not in t and '\n' not in t and '{' not in t or code[2] in 'mexcvrn'
            out.append('\t'.join(['abuse', CAT[code[0]], code[1], DODGE[code[2]], TGT[code[3]], t]))
        os.makedirs(f'{root}/{split}', exist_ok=True)
        # a batch lives in exactly one split: drop stale copies elsewhere
        for other in ('train', 'validation', 'test'):
            p = f'{root}/{other}/abuse-{b}.tsv'
            if other != split and os.path.exists(p):
                os.remove(p)
        with open(f'{root}/{split}/abuse-{b}.tsv', 'w', encoding='utf-8') as fh:
            fh.write('\n'.join(out) + '\n')
        print(f'{split}/abuse-{b}.tsv', len(rows))

main()
