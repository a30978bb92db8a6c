"""Write README.md from nbs/index.ipynb (nbdev_readme needs Quarto, which we do not have).

Markdown cells are copied; code cells are dropped unless they show output marked by `#| echo: false`,
whose first PNG output is saved next to the notebook and linked. `--check` fails when README.md differs.
"""
import base64, json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NB, README, IMG = ROOT/'nbs'/'index.ipynb', ROOT/'README.md', ROOT/'nbs'/'images'


def render(write_images=True):
    cells = json.loads(NB.read_text())['cells']
    out, n = ['<!-- generated from nbs/index.ipynb by .ci/make_readme.py: edit the notebook -->'], 0
    for c in cells:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown':
            src = src.replace('](images/', '](nbs/images/')          # notebook-relative image links, from the root
            out.append(src.replace('> ', '', 1) if src.startswith('> ') else src)
        elif '#| echo: false' in src:
            pngs = [o['data']['image/png'] for o in c.get('outputs', []) if 'image/png' in o.get('data', {})]
            if pngs:
                n += 1
                name = f'index_figure_{n}.png'
                if write_images:
                    IMG.mkdir(exist_ok=True)
                    (IMG/name).write_bytes(base64.b64decode(pngs[0]))
                out.append(f'![figure {n}](nbs/images/{name})')
    return '\n\n'.join(out) + '\n'


if __name__ == '__main__':
    if '--check' in sys.argv:
        if README.read_text() != render(write_images=False):
            sys.exit('README.md is out of step with nbs/index.ipynb: run `python .ci/make_readme.py`.')
        print('README.md matches nbs/index.ipynb')
    else:
        README.write_text(render())
        print('wrote', README)
