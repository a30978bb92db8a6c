"""The built wheel works outside the source tree: every module imports, every console script answers --help."""
import configparser, os, subprocess, sys, sysconfig, venv, zipfile
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]


def console_scripts():
    cfg = configparser.ConfigParser(delimiters=['='])
    cfg.read(ROOT/'settings.ini')
    return [e.split('=')[0] for e in cfg['DEFAULT'].get('console_scripts', '').split()]


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    "Build the wheel, install it (no deps) into a fresh venv that borrows this venv's third-party packages."
    tmp = tmp_path_factory.mktemp('wheel')
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation',
                    '-w', str(tmp/'dist'), str(ROOT)], check=True)
    whl, = (tmp/'dist').glob('anyres_nb-*.whl')
    env_dir = tmp/'env'
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir/'bin'/'python'
    site = subprocess.run([py, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                          capture_output=True, text=True, check=True).stdout.strip()
    # torch & co. come from the development venv, but not its editable anyres_nb (a .pth inside a
    # path listed by another .pth is not processed, so the editable hook stays inactive).
    (Path(site)/'_borrowed.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    subprocess.run([sys.executable, '-m', 'pip', '--python', str(py), 'install', '-q', '--no-deps', str(whl)], check=True)
    return whl, env_dir, tmp


def test_wheel_has_every_module(installed):
    whl, _, _ = installed
    names = {n for n in zipfile.ZipFile(whl).namelist() if n.startswith('anyres_nb/') and n.endswith('.py')}
    src = {f'anyres_nb/{p.relative_to(ROOT/"anyres_nb")}' for p in (ROOT/'anyres_nb').rglob('*.py')}
    assert src <= names, f'missing from the wheel: {sorted(src - names)}'


def test_modules_import_outside_source(installed):
    whl, env_dir, tmp = installed
    mods = sorted(n[:-3].replace('/', '.').removesuffix('.__init__') for n in zipfile.ZipFile(whl).namelist()
                  if n.startswith('anyres_nb/') and n.endswith('.py'))
    code = ('import importlib, anyres_nb, os\n'
            f'assert {str(ROOT)!r} not in anyres_nb.__file__, anyres_nb.__file__\n'
            f'for m in {mods!r}: importlib.import_module(m)\n'
            'print(len(%r), "modules ok")' % mods)
    r = subprocess.run([env_dir/'bin'/'python', '-c', code], cwd=tmp, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert 'modules ok' in r.stdout


@pytest.mark.parametrize('script', console_scripts())
def test_console_script_help(installed, script):
    _, env_dir, tmp = installed
    exe = env_dir/'bin'/script
    assert exe.exists(), f'{script} was not installed by the wheel'
    r = subprocess.run([exe, '--help'], cwd=tmp, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert 'usage' in r.stdout.lower()
