"""The library's imports flow one way (issue 17, "the house"): no module imports one above it, not even lazily.

Every `import` / `from ... import` in `anyres_nb/*.py` counts, wherever it stands (module level, inside a function,
inside `try`). Relative imports and `anyres_nb.X` imports are mapped to module names; everything else is ignored.
A string that is exactly a module's dotted name (`'anyres_nb.fastops'`, as handed to `importlib.import_module`, or
`legacy`'s table of network classes) counts as an import too.
"""
import ast, re
from pathlib import Path

PKG = Path(__file__).resolve().parents[1]/'anyres_nb'

# The flow, low to high: coordinates -> Fourier input / ops / scale -> networks -> data / patches -> losses -> training ->
# rendering -> metrics / explorer / inversion / demo -> panoramas -> command line. Main-track modules import only
# modules of a *lower* rank. Engineering modules sit beside the flow at the rank of what they need and may also be
# imported by modules of their own rank.
MAIN = {
    'coords': 0,
    'fourier': 1,                  # the Fourier input and FullyConnectedLayer (01_fourier needs nothing later)
    'ops': 2,                      # the signal-processing ops (re-exports FullyConnectedLayer; the fast ones register themselves)
    'scale': 3,
    'generator': 4, 'discriminator': 4,
    'cylinder': 5,                 # the 360-degree input and generator (a generator subclass) and panorama rendering
    'data': 6, 'patches': 6,
    'losses': 7,
    'config': 8,                   # a run's options, checked before any work, and resuming (08a_config); training reads it
    'train': 9,
    'render': 10,
    'metrics': 11, 'widgets': 11, 'invert': 11, 'demo': 11,
    'panorama': 12,
    'cli': 13,
}
ENGINEERING = {
    'imagefiles': 0,               # robust image files and ImageSet (A2): imports no other module; data builds on it
    'fastops': 2,                  # registers the exact fast ops with ops; generator and discriminator import it
    'legacy': 5,                   # the reference's pickles -> our networks (by a fixed class table, at build time)
    'runs': 8,                     # presets, checkpoints, devices, progress, grouped --help: below training and rendering
}
RANK = {**MAIN, **ENGINEERING}


def module_imports(path: Path) -> list[tuple[str, int]]:
    "`(module, line)` for every import of another `anyres_nb` module in `path`, at any depth."
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split('.')
                if parts[0] == 'anyres_nb' and len(parts) > 1: found.append((parts[1], node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1:                                   # from .X import ... / from . import X, Y
                if node.module: found.append((node.module.split('.')[0], node.lineno))
                else: found += [(a.name, node.lineno) for a in node.names]
            elif node.level == 0 and node.module and node.module.split('.')[0] == 'anyres_nb':
                parts = node.module.split('.')
                if len(parts) > 1: found.append((parts[1], node.lineno))
                else: found += [(a.name, node.lineno) for a in node.names]   # from anyres_nb import X
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and (m := re.fullmatch(r'anyres_nb\.(\w+)', node.value)):
            found.append((m.group(1), node.lineno))               # importlib.import_module('anyres_nb.X') and the like
    return found


def import_graph() -> dict:
    "module -> {imported module: first line}, for every module of the package (private `_modidx` left out)."
    graph = {}
    for p in sorted(PKG.glob('*.py')):
        if p.stem.startswith('_'): continue
        edges = {}
        for m, line in module_imports(p):
            if m != p.stem and (PKG/f'{m}.py').exists(): edges.setdefault(m, line)
        graph[p.stem] = edges
    return graph


def find_cycle(graph):
    "One import cycle as a list of modules, or None."
    state, stack = {}, []
    def visit(u):
        state[u] = 'open'; stack.append(u)
        for v in graph.get(u, {}):
            if state.get(v) == 'open': return stack[stack.index(v):] + [v]
            if v not in state and (c := visit(v)): return c
        state[u] = 'done'; stack.pop()
    for u in graph:
        if u not in state and (c := visit(u)): return c
    return None


def test_every_module_has_a_rank():
    missing = sorted(set(import_graph()) - set(RANK))
    assert not missing, f"modules without a rank in tests/test_imports.py: {missing}; add each where it belongs in the flow"


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + ' -> '.join(cycle)


def test_imports_flow_one_way():
    bad = []
    for a, edges in import_graph().items():
        for b, line in edges.items():
            ra, rb = RANK.get(a), RANK.get(b)
            if ra is None or rb is None: continue                 # reported by test_every_module_has_a_rank
            ok = rb < ra or (rb == ra and (a in ENGINEERING or b in ENGINEERING))
            if not ok: bad.append(f"anyres_nb/{a}.py:{line} imports {b} (rank {a} {ra} -> {b} {rb}: against the flow)")
    assert not bad, '\n'.join(bad)


def test_the_checker_sees_lazy_and_relative_imports(tmp_path):
    "A function-level `from anyres_nb.X import` and a `from . import X, Y` are both edges."
    f = tmp_path/'m.py'
    f.write_text("from . import ops, legacy\nimport anyres_nb.fastops\ndef g():\n    from anyres_nb.panorama import x\n"
                 "    import anyres_nb.render as r\nfrom .coords import a\nimport numpy\nimportlib.import_module('anyres_nb.demo')\n")
    assert sorted(m for m, _ in module_imports(f)) == ['coords', 'demo', 'fastops', 'legacy', 'ops', 'panorama', 'render']
    assert find_cycle({'a': {'b': 1}, 'b': {'c': 1}, 'c': {'a': 1}}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b': 1}, 'b': {}}) is None


if __name__ == '__main__':                                        # print the graph
    for m, edges in sorted(import_graph().items(), key=lambda kv: RANK.get(kv[0], 99)):
        print(f"{m:14s} -> {', '.join(sorted(edges, key=lambda e: RANK.get(e, 99))) or '-'}")
