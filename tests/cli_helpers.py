"""What the command-line tests share: how to call a console script whether or not it is installed."""
import sys
from pathlib import Path


def console_cmd(tmp, name, module='cli'):
    "The installed console script `name` when there is one, else a file in `tmp` calling `anyres_nb.<module>.<name>()`."
    exe = Path(sys.executable).with_name(name)
    if exe.exists(): return [str(exe)]
    script = Path(tmp) / f'{name}.py'
    script.write_text(f'from anyres_nb.{module} import {name}\n{name}()\n')
    return [sys.executable, str(script)]
