"""Give every notebook the standard Python 3 kernel, so JupyterLab opens it without asking "Select Kernel".

    python .ci/kernelspec.py            # fix nbs/*.ipynb in place (make export runs this)
    python .ci/kernelspec.py --check    # list notebooks without it; exit 1 if any
"""
import json, sys
from pathlib import Path

KERNELSPEC = {'display_name': 'python3', 'language': 'python', 'name': 'python3'}

def missing(nb):
    md = nb.get('metadata', {})
    return md.get('kernelspec', {}).get('name') != 'python3' or md.get('language_info', {}).get('name') != 'python'

def main(check=False):
    nbs = sorted(Path(__file__).resolve().parents[1].glob('nbs/**/*.ipynb'))
    bad = []
    for f in nbs:
        if '.ipynb_checkpoints' in f.parts: continue
        nb = json.loads(f.read_text())
        if not missing(nb): continue
        bad.append(f)
        if check: continue
        md = nb.setdefault('metadata', {})
        md.pop('jupytext', None)   # its notebook_metadata_filter would drop the kernelspec on a round trip
        md['kernelspec'] = dict(KERNELSPEC)
        md['language_info'] = {**md.get('language_info', {}), 'name': 'python'}
        f.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    for f in bad: print(('no python3 kernelspec: ' if check else 'set kernelspec: ') + str(f))
    return 1 if (check and bad) else 0

if __name__ == '__main__': sys.exit(main('--check' in sys.argv))
