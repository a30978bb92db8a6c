"""The explorer in a real browser: JupyterLab headless on loopback, Debian's chromium driven by playwright.

Runs a small notebook that shows an `Explorer`, drags its zoom slider, and checks from screenshots of the crop
image that the picture changed (and that the label followed). Skips, saying why, when chromium or playwright is
missing: `apt-get install -y chromium` and `pip install playwright` (never `playwright install`; the test uses
the system chromium through `executable_path`).
"""
import io, json, os, secrets, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                 '--disable-sync', '--no-first-run', '--headless']
NOTEBOOK_CELLS = [
    "from anyres_nb.render import demo_generator\nfrom anyres_nb.widgets import Explorer\n"
    "G = demo_generator(verbose=False)\nex = Explorer(G, display_size=192)\nex",
    "print('explorer ready')",
]


def _chromium():
    exe = shutil.which('chromium') or shutil.which('chromium-browser')
    if exe is None:
        pytest.skip('chromium is not installed (Debian: apt-get install -y chromium); the browser test needs it')
    return exe


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip('playwright is not installed (pip install playwright; do not run `playwright install`, '
                    'the test drives the system chromium)')
    return sync_playwright


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def _jupyter():
    exe = Path(sys.executable).with_name('jupyter')
    if not exe.exists(): pytest.skip(f'no jupyter next to {sys.executable}; install jupyterlab in this environment')
    return exe


def _write_notebook(path):
    nb = {'cells': [{'cell_type': 'code', 'execution_count': None, 'id': f'c{i}', 'metadata': {}, 'outputs': [],
                     'source': src} for i, src in enumerate(NOTEBOOK_CELLS)],
          'metadata': {'kernelspec': {'display_name': 'Python 3 (ipykernel)', 'language': 'python', 'name': 'python3'}},
          'nbformat': 4, 'nbformat_minor': 5}
    path.write_text(json.dumps(nb))


@pytest.fixture
def tools():
    "The system chromium and playwright's sync API, or a skip saying which is missing (before any server starts)."
    return _chromium(), _playwright()


@pytest.fixture
def lab(tools, tmp_path):
    "A JupyterLab server on 127.0.0.1 with a random token, serving a folder that holds explorer.ipynb."
    jupyter = _jupyter()
    root = tmp_path/'root'; root.mkdir()
    _write_notebook(root/'explorer.ipynb')
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, 'JUPYTER_CONFIG_DIR': str(tmp_path/'config'), 'JUPYTER_RUNTIME_DIR': str(tmp_path/'runtime'),
           'JUPYTERLAB_WORKSPACES_DIR': str(tmp_path/'workspaces'), 'PYTHONPATH': str(ROOT)}
    log = open(tmp_path/'lab.log', 'w')
    proc = subprocess.Popen([str(jupyter), 'lab', '--no-browser', '--ip=127.0.0.1', f'--port={port}',
                             f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={root}',
                             '--ServerApp.port_retries=0', '--LabApp.expose_app_in_browser=True',
                             '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate']
                            + (['--allow-root'] if hasattr(os, 'geteuid') and os.geteuid() == 0 else []),
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    base = f'http://127.0.0.1:{port}'
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f'{base}/api/status?token={token}', timeout=2).read(); break
            except Exception:
                if proc.poll() is not None or time.time() > deadline:
                    log.flush()
                    raise RuntimeError('JupyterLab did not start:\n' + (tmp_path/'lab.log').read_text()[-3000:])
                time.sleep(0.5)
        yield dict(base=base, token=token, root=root, log=tmp_path/'lab.log')
    finally:
        proc.terminate()
        try: proc.wait(20)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait()
        log.close()


def _pixels(png):
    import numpy as np
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png)).convert('RGB')).astype(int)


def test_zoom_slider_changes_the_crop(tools, lab):
    exe, sync_playwright = tools
    t0 = time.time()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={'width': 1280, 'height': 900})
            page.set_default_timeout(120_000)
            page.goto(f"{lab['base']}/lab/tree/explorer.ipynb?token={lab['token']}")
            page.wait_for_function('window.jupyterapp && window.jupyterapp.shell && window.jupyterapp.shell.currentWidget '
                                   '&& window.jupyterapp.shell.currentWidget.sessionContext '
                                   '&& window.jupyterapp.shell.currentWidget.sessionContext.session '
                                   '&& window.jupyterapp.shell.currentWidget.sessionContext.session.kernel')
            page.wait_for_function("window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'")
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            crop = page.locator('img.anyres-crop')
            crop.wait_for(state='visible')
            page.locator('.jp-OutputArea-output pre', has_text='explorer ready').wait_for()
            label = page.locator('.anyres-label')
            label0 = label.inner_text()
            time.sleep(1.0)                                         # let the first picture settle
            before = crop.screenshot()

            handle = page.locator('.anyres-zoom .noUi-handle')
            handle.wait_for(state='visible')
            box = handle.bounding_box()
            x, y = box['x'] + box['width']/2, box['y'] + box['height']/2
            page.mouse.move(x, y); page.mouse.down()
            for k in range(1, 11): page.mouse.move(x + 12*k, y, steps=2)   # a drag, in steps
            page.mouse.up()

            deadline, changed = time.time() + 60, False
            while time.time() < deadline:
                page.wait_for_timeout(500)
                after = crop.screenshot()
                a, b = _pixels(before), _pixels(after)
                if a.shape != b.shape or abs(a - b).mean() > 1.0:
                    changed = True; break
            shots = os.environ.get('ANYRES_BROWSER_SHOTS')        # a folder: keep the screenshots for a look
            if shots:
                Path(shots).mkdir(parents=True, exist_ok=True)
                (Path(shots)/'crop_before.png').write_bytes(before); (Path(shots)/'crop_after.png').write_bytes(after)
                page.screenshot(path=str(Path(shots)/'page.png'))
            assert changed, 'the crop image did not change after dragging the zoom slider'
            label1 = label.inner_text()
            assert label1 != label0 and '1.00x' in label0 and '1.00x' not in label1, (label0, label1)
        finally:
            browser.close()
    print(f'browser test took {time.time() - t0:.1f} s (plus server start-up)')
