#!/usr/bin/env python3
"""Second, blind annotation of the corpus and its agreement with the original labels.

The corpus was labelled by the session that wrote each row, so its labels had no agreement
figure. This script draws a seeded, stratified sample, shows the annotator the text only, and
then compares the second annotator's labels with the originals.

Usage (from the repository root):
  python3 data/corpus/tools/second_pass.py sample [--force]
      Draw the sample (seed 20261128) into data/corpus/second-pass/sample.tsv (n, id, text) and
      snapshot the original labels of those rows into original-labels.tsv (not to be read by
      the annotator until annotations.tsv is complete). Prints counts only, never labels.
  python3 data/corpus/tools/second_pass.py show [FROM [TO]]
      Print "n<TAB>text" for sample rows FROM..TO: the annotator's only view of the sample.
  python3 data/corpus/tools/second_pass.py compare
      Cohen's kappa and raw agreement on label, on abuse category (rows both call abuse), on
      keep-kind (rows both call keep), on severity (both abuse), confusion tables, and the list
      of disagreements; written to second-pass/agreement.md. Also compares the annotations with
      the labels now in the data (after adjudication), matching rows by text.

Ids are `split/file:line` with the header as line 1. annotations.tsv has the header
`n	label	category	severity` (category is the abuse category or the keep-kind, severity
0 for keep), one row per sample row.
"""
import collections
import glob
import os
import random
import re
import sys

SEED = 20261128
TARGET_SIZE = 600
MIN_PER_STRATUM = 4
# Files numbered from 45 up were being written while this pass ran; they are not sampled.
FIRST_UNSAMPLED_FILE_NUMBER = 45
SPLITS = ('train', 'validation', 'test')

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.dirname(HERE)
OUT = os.path.join(CORPUS, 'second-pass')
SAMPLE = os.path.join(OUT, 'sample.tsv')
ORIGINALS = os.path.join(OUT, 'original-labels.tsv')
ANNOTATIONS = os.path.join(OUT, 'annotations.tsv')
AGREEMENT = os.path.join(OUT, 'agreement.md')


def corpus_rows():
    """Every data row of files numbered below FIRST_UNSAMPLED_FILE_NUMBER, in file order."""
    rows = []
    for split in SPLITS:
        for path in sorted(glob.glob(os.path.join(CORPUS, split, '*.tsv'))):
            name = os.path.basename(path)
            number = int(re.search(r'(\d+)', name).group(1))
            if number >= FIRST_UNSAMPLED_FILE_NUMBER:
                continue
            with open(path, encoding='utf-8') as f:
                lines = f.read().split('\n')
            for index, line in enumerate(lines[1:], start=2):
                if not line:
                    continue
                label, category, severity, dodge, target, text = line.split('\t')
                rows.append(dict(id=f'{split}/{name}:{index}', split=split, label=label,
                                 category=category, severity=severity, dodge=dodge,
                                 target=target, text=text))
    return rows


def allocate(strata, total_rows):
    """Proportional allocation of TARGET_SIZE over the strata, at least MIN_PER_STRATUM each."""
    return {key: min(len(members),
                     max(MIN_PER_STRATUM, round(TARGET_SIZE * len(members) / total_rows)))
            for key, members in strata.items()}


def cmd_sample(force):
    if os.path.exists(SAMPLE) and not force:
        sys.exit(f'{SAMPLE} exists (it fixes which rows were annotated); use --force to redraw')
    rows = corpus_rows()
    strata = collections.defaultdict(list)
    for row in rows:
        strata[(row['split'], row['label'], row['category'])].append(row)
    sizes = allocate(strata, len(rows))
    rng = random.Random(SEED)
    chosen = []
    for key in sorted(strata):
        chosen.extend(rng.sample(strata[key], sizes[key]))
    rng.shuffle(chosen)  # so that position says nothing about the label
    os.makedirs(OUT, exist_ok=True)
    with open(SAMPLE, 'w', encoding='utf-8') as f:
        f.write('n\tid\ttext\n')
        for n, row in enumerate(chosen, 1):
            f.write(f"{n}\t{row['id']}\t{row['text']}\n")
    with open(ORIGINALS, 'w', encoding='utf-8') as f:
        f.write('n\tid\tlabel\tcategory\tseverity\tdodge\ttarget\n')
        for n, row in enumerate(chosen, 1):
            f.write('\t'.join([str(n), row['id'], row['label'], row['category'], row['severity'],
                               row['dodge'], row['target']]) + '\n')
    print(f'{len(chosen)} rows sampled from {len(rows)} in {len(strata)} strata '
          f'(split x label x category), seed {SEED}')


def read_tsv(path):
    with open(path, encoding='utf-8') as f:
        lines = [line for line in f.read().split('\n') if line]
    header = lines[0].split('\t')
    return [dict(zip(header, line.split('\t'))) for line in lines[1:]]


def cmd_show(first, last):
    for row in read_tsv(SAMPLE):
        if first <= int(row['n']) <= last:
            print(f"{row['n']}\t{row['text']}")


def kappa(pairs):
    """Cohen's kappa and raw agreement of a list of (a, b) labels."""
    if not pairs:
        return float('nan'), float('nan')
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    left = collections.Counter(a for a, _ in pairs)
    right = collections.Counter(b for _, b in pairs)
    expected = sum(left[k] * right[k] for k in set(left) | set(right)) / (n * n)
    if expected == 1:
        return 1.0, observed
    return (observed - expected) / (1 - expected), observed


def weighted_kappa(pairs, levels):
    """Quadratic-weighted kappa for ordinal labels (severity)."""
    n = len(pairs)
    if not n:
        return float('nan')
    k = len(levels)
    index = {level: i for i, level in enumerate(levels)}
    weight = lambda i, j: (i - j) ** 2 / (k - 1) ** 2
    left = collections.Counter(index[a] for a, _ in pairs)
    right = collections.Counter(index[b] for _, b in pairs)
    observed = sum(weight(index[a], index[b]) for a, b in pairs) / n
    expected = sum(weight(i, j) * left[i] * right[j] for i in range(k) for j in range(k)) / (n * n)
    return 1 - observed / expected if expected else 1.0


def confusion(pairs, rows_title, cols_title):
    rows = sorted({a for a, _ in pairs})
    cols = sorted({b for _, b in pairs})
    counts = collections.Counter(pairs)
    out = [f'| {rows_title} \\ {cols_title} | ' + ' | '.join(cols) + ' |',
           '|---|' + '---:|' * len(cols)]
    for r in rows:
        out.append(f'| {r} | ' + ' | '.join(str(counts[(r, c)] or '') for c in cols) + ' |')
    return out


def agreement_section(title, originals, annotations):
    """Markdown lines with every figure for one set of reference labels."""
    joined = [(originals[n], annotations[n]) for n in sorted(annotations, key=int)
              if n in originals]
    out = [f'## {title}', '', f'{len(joined)} rows.', '']
    label_pairs = [(o['label'], a['label']) for o, a in joined]
    k, raw = kappa(label_pairs)
    out.append(f'- label (abuse/keep): kappa {k:.3f}, raw agreement {raw:.3f}')
    both_abuse = [(o, a) for o, a in joined if o['label'] == a['label'] == 'abuse']
    both_keep = [(o, a) for o, a in joined if o['label'] == a['label'] == 'keep']
    k, raw = kappa([(o['category'], a['category']) for o, a in both_abuse])
    out.append(f'- abuse category ({len(both_abuse)} rows both call abuse): kappa {k:.3f}, '
               f'raw agreement {raw:.3f}')
    severity = [(o['severity'], a['severity']) for o, a in both_abuse]
    k, raw = kappa(severity)
    wk = weighted_kappa(severity, ['1', '2', '3'])
    within_one = sum(abs(int(x) - int(y)) <= 1 for x, y in severity) / max(1, len(severity))
    out.append(f'- severity (both abuse): kappa {k:.3f}, quadratic-weighted kappa {wk:.3f}, '
               f'exact agreement {raw:.3f}, within one level {within_one:.3f}')
    escalate = lambda r: (r['label'] == 'abuse' and r['severity'] == '3'
                          and r['category'] in ('threat', 'sexual', 'doxxing'))
    k, raw = kappa([(escalate(o), escalate(a)) for o, a in joined])
    out.append(f'- escalated (threat/sexual/doxxing severity 3) or not: kappa {k:.3f}, '
               f'raw agreement {raw:.3f}')
    k, raw = kappa([(o['category'], a['category']) for o, a in both_keep])
    out.append(f'- keep-kind ({len(both_keep)} rows both call keep): kappa {k:.3f}, '
               f'raw agreement {raw:.3f}')
    out += ['', 'Label confusion (rows: reference, columns: second annotator):', '']
    out += confusion(label_pairs, 'reference', 'second')
    out += ['', 'Abuse category confusion (rows both call abuse):', '']
    out += confusion([(o['category'], a['category']) for o, a in both_abuse],
                     'reference', 'second')
    out += ['', 'Severity confusion (rows both call abuse):', '']
    out += confusion(severity, 'reference', 'second')
    out.append('')
    return out


def disagreement_lines(originals, annotations, sample):
    out = ['| n | id | original | second | text |', '|---|---|---|---|---|']
    for n in sorted(annotations, key=int):
        o, a = originals[n], annotations[n]
        if (o['label'], o['category'], o['severity']) == (a['label'], a['category'],
                                                           a['severity']):
            continue
        text = sample[n]['text'].replace('|', '\\|')
        out.append(f"| {n} | {o['id']} | {o['label']} {o['category']} {o['severity']} | "
                   f"{a['label']} {a['category']} {a['severity']} | {text} |")
    return out


def cmd_compare():
    sample = {row['n']: row for row in read_tsv(SAMPLE)}
    originals = {row['n']: row for row in read_tsv(ORIGINALS)}
    annotations = {row['n']: row for row in read_tsv(ANNOTATIONS)}
    missing = set(sample) - set(annotations)
    if missing:
        sys.exit(f'{len(missing)} sample rows not annotated, e.g. {sorted(missing, key=int)[:5]}')
    for n, a in annotations.items():
        if a['label'] not in ('abuse', 'keep') or (a['label'] == 'keep') != (a['severity'] == '0'):
            sys.exit(f'annotation {n}: bad label/severity {a}')
    by_text = {row['text']: row for row in corpus_rows()}
    current = {n: by_text[row['text']] for n, row in sample.items() if row['text'] in by_text}
    out = ['# Second-pass agreement (generated by data/corpus/tools/second_pass.py compare)', '']
    out += agreement_section('Original labels vs second annotator (before adjudication)',
                             originals, annotations)
    out += agreement_section('Labels now in the data (after adjudication) vs second annotator',
                             current, annotations)
    out += ['## Every row where the original and the second annotator differ', '']
    out += disagreement_lines(originals, annotations, sample)
    with open(AGREEMENT, 'w', encoding='utf-8') as f:
        f.write('\n'.join(out) + '\n')
    print('\n'.join(line for line in out if line.startswith(('#', '-'))))
    print(f'wrote {AGREEMENT}')


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    if args[0] == 'sample':
        cmd_sample('--force' in args)
    elif args[0] == 'show':
        first = int(args[1]) if len(args) > 1 else 1
        last = int(args[2]) if len(args) > 2 else 10 ** 9
        cmd_show(first, last)
    elif args[0] == 'compare':
        cmd_compare()
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
