"""Rebuilds demo/weibo-covid19-sample.jsonl from ../shared/data/weibo-covid19/daily (see README.md)."""
import csv, datetime, glob, io, json, os

SRC = os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'data', 'weibo-covid19', 'daily')
OUT = os.path.join(os.path.dirname(__file__), 'weibo-covid19-sample.jsonl')
STEP = 25

with open(OUT, 'w', encoding='utf-8') as out:
    for path in sorted(glob.glob(os.path.join(SRC, '*.csv'))):
        day = datetime.datetime.strptime(os.path.basename(path)[:-4], '%Y-%m-%d')
        raw = open(path, 'rb').read().decode('gb18030', errors='replace')
        rows = [r for r in csv.DictReader(io.StringIO(raw)) if r.get('text') and '\ufffd' not in r['text']]
        picked = rows[::STEP]
        for i, r in enumerate(picked):
            t = day + datetime.timedelta(seconds=int(i * 86400 / len(picked)))
            out.write(json.dumps({
                'source': '新浪微博', 'author': r['userid'], 'text': r['text'].strip(),
                'published_at': t.strftime('%Y-%m-%dT%H:%M:%S+08:00'), 'tier': 'Community',
            }, ensure_ascii=False) + '\n')
