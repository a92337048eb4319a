#!/usr/bin/env python3
"""Structure figures for hunt's source tree (issue 22): the top-level module import graph
of src/ and its circles, functions over 100 lines, files over 600 lines, where each broker
backend is named outside its own module, and the README's length.

    scripts/structure.py [ROOT] [--check] [--why]

ROOT defaults to the repository holding this script. --why lists, for every edge inside a
circle, the places that make it. --check exits 1 when there is any circle, any function
over 100 lines, any file over 600 lines, or a backend named in more than two source files
outside its own module (the limits of issue 22, asks 1, 4 and 5).

Python 3, standard library only. The Rust is read with a small lexer (comments, strings,
raw strings, char literals), not a parser: good enough for figures, not for a compiler.
"""

import os
import re
import sys

FN_LIMIT = 100
FILE_LIMIT = 600
BACKENDS = ["redis", "sqlite", "postgres", "rabbitmq"]
# The backends table's line and the registry's: a backend named anywhere else has leaked.
BACKEND_FILE_LIMIT = 2


# ---------------------------------------------------------------- lexing


def lex(text):
    """Two copies of `text`, each the same length with the same newlines: `code` has the
    comments blanked; `bare` also has the insides of strings and char literals blanked,
    so braces and paths are only the code's."""
    code = list(text)
    bare = list(text)
    n = len(text)
    i = 0

    def blank(buf, a, b):
        for k in range(a, b):
            if buf[k] != "\n":
                buf[k] = " "

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(code, i, j)
            blank(bare, i, j)
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(code, i, j)
            blank(bare, i, j)
            i = j
        elif re.match(r'b?r#*"', text[i : i + 260]) and (i == 0 or not is_ident(text[i - 1])):
            m = re.match(r'(b?r)(#*)"', text[i:])
            close = '"' + m.group(2)
            start = i + len(m.group(0))
            j = text.find(close, start)
            j = n if j < 0 else j
            blank(bare, start, j)
            i = j + len(close)
        elif c == '"' or (c == "b" and text.startswith('b"', i) and (i == 0 or not is_ident(text[i - 1]))):
            start = i + (2 if c == "b" else 1)
            j = start
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            blank(bare, start, j)
            i = j + 1
        elif c == "'":
            # A char literal ('x', '\n', '\u{1F600}', '\'') or a lifetime ('a).
            if i + 1 < n and text[i + 1] == "\\":
                j = i + 2
                while j < n and text[j] != "'":
                    j += 2 if text[j] == "\\" else 1
                blank(bare, i + 1, j)
                i = j + 1
            elif i + 2 < n and text[i + 2] == "'":
                blank(bare, i + 1, i + 2)
                i += 3
            else:
                i += 1
        elif is_ident(c):
            j = i
            while j < n and is_ident(text[j]):
                j += 1
            i = j
        else:
            i += 1
    return "".join(code), "".join(bare)


def is_ident(c):
    return c.isalnum() or c == "_"


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def matching_brace(bare, open_pos):
    """Position of the `}` closing the `{` at `open_pos`."""
    depth = 0
    for k in range(open_pos, len(bare)):
        if bare[k] == "{":
            depth += 1
        elif bare[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    return len(bare) - 1


# ---------------------------------------------------------------- the tree


class Source:
    """One file under src/: its module path, its text, and where its test code lies."""

    def __init__(self, root, rel):
        self.rel = rel
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            self.text = f.read()
        self.lines = self.text.count("\n") + (0 if self.text.endswith("\n") or not self.text else 1)
        self.rust = rel.endswith(".rs")
        if self.rust:
            self.code, self.bare = lex(self.text)
        else:
            self.code = self.bare = self.text
        self.module = module_path(rel)
        self.test_only = False
        self.inline = []  # (start, end, name, is_test) of each inline `mod NAME { }`
        self.test_children = []  # names of `#[cfg(test)] mod NAME;`
        if self.rust:
            self._find_mods()

    def _find_mods(self):
        for m in re.finditer(r"\bmod\s+(\w+)\s*([{;])", self.bare):
            before = self.bare[: m.start()]
            # The attributes right above: everything since the previous `;`, `{` or `}`.
            k = max(before.rfind(";"), before.rfind("{"), before.rfind("}"))
            attrs = before[k + 1 :]
            is_test = re.search(r"#\[\s*cfg\s*\(\s*test\s*\)\s*\]", attrs) is not None
            if m.group(2) == "{":
                open_pos = m.end() - 1
                self.inline.append((open_pos, matching_brace(self.bare, open_pos), m.group(1), is_test))
            elif is_test:
                self.test_children.append(m.group(1))

    def in_test(self, pos):
        return self.test_only or any(a <= pos <= b and t for a, b, _, t in self.inline)

    def module_at(self, pos):
        """The full module path at `pos`, counting the inline modules around it."""
        path = list(self.module)
        for a, b, name, _ in sorted(self.inline):
            if a <= pos <= b:
                path.append(name)
        return path


def module_path(rel):
    """`src/scan/mod.rs` -> ['scan'], `src/scan/x.rs` -> ['scan', 'x'], `src/lib.rs` -> []."""
    parts = rel.split("/")[1:]
    if not parts[-1].endswith(".rs"):
        return parts[:-1]
    last = parts[-1][:-3]
    parts = parts[:-1]
    if last not in ("mod", "lib", "main"):
        parts.append(last)
    return parts


def child_files(rel, name):
    """The files `mod NAME;` in `rel` may load."""
    d = os.path.dirname(rel)
    base = os.path.basename(rel)
    if base not in ("mod.rs", "lib.rs", "main.rs"):
        d = os.path.join(d, base[:-3])
    return [os.path.join(d, name + ".rs"), os.path.join(d, name, "mod.rs")]


def load(root):
    sources = {}
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, "src")):
        dirnames.sort()
        for f in sorted(filenames):
            rel = os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/")
            try:
                sources[rel] = Source(root, rel)
            except UnicodeDecodeError:
                continue
    # A file loaded by `#[cfg(test)] mod NAME;` is tests only, and so is all below it.
    changed = True
    while changed:
        changed = False
        for s in list(sources.values()):
            names = list(s.test_children)
            if s.test_only:
                names += [m.group(1) for m in re.finditer(r"\bmod\s+(\w+)\s*;", s.bare)] if s.rust else []
            for name in names:
                for c in child_files(s.rel, name):
                    if c in sources and not sources[c].test_only:
                        sources[c].test_only = True
                        changed = True
    return sources


# ---------------------------------------------------------------- (a) the module graph


def use_paths(tree):
    """Expand a `use` tree (whitespace removed) into its paths, each a list of segments."""
    out = []

    def parse(s, i, prefix):
        # one tree starting at s[i]; returns the index after it
        segs = []
        while i < len(s):
            if s[i] == "{":
                i += 1
                while True:
                    i = parse(s, i, prefix + segs)
                    if i < len(s) and s[i] == ",":
                        i += 1
                        if i < len(s) and s[i] == "}":
                            break
                        continue
                    break
                i += 1  # the '}'
                return i
            m = re.match(r"\w+|\*", s[i:])
            if not m:
                break
            segs.append(m.group(0))
            i += len(m.group(0))
            if s.startswith("::", i):
                i += 2
                continue
            break
        out.append(prefix + segs)
        return i

    parse(tree, 0, [])
    return out


def target_of(segs, here):
    """The top-level module a path (`crate::x::y`, `super::super::z`) in module `here`
    names, or None for a path outside the crate or inside `here`'s own top-level module."""
    if not segs:
        return None
    if segs[0] == "crate":
        return segs[1] if len(segs) > 1 else None
    if segs[0] == "super":
        path = list(here)
        k = 0
        while k < len(segs) and segs[k] == "super":
            if path:
                path.pop()
            k += 1
        if path:
            return path[0]
        return segs[k] if k < len(segs) else None
    return None


def graph(sources):
    tops = set()
    for s in sources.values():
        if s.rust and s.module:
            tops.add(s.module[0])
    edges = {}  # (a, b) -> [where]
    for s in sources.values():
        if not s.rust or not s.module or s.rel == "src/main.rs":
            continue
        a = s.module[0]
        found = []  # (pos, target)
        for m in re.finditer(r"\buse\s+([^;]*);", s.bare):
            tree = re.sub(r"\s+", "", re.sub(r"\s+as\s+\w+", "", m.group(1)))
            if not (tree.startswith("crate") or tree.startswith("super") or tree.startswith("{")):
                continue
            for segs in use_paths(tree):
                found.append((m.start(), target_of(segs, s.module_at(m.start()))))
        for m in re.finditer(r"(?<![\w:])((?:super::)+)(\w+)", s.bare):
            segs = ["super"] * m.group(1).count("super") + [m.group(2)]
            found.append((m.start(), target_of(segs, s.module_at(m.start()))))
        for m in re.finditer(r"\bcrate::(\w+)", s.bare):
            found.append((m.start(), m.group(1)))
        for pos, b in found:
            if b and b in tops and b != a:
                where = edges.setdefault((a, b), [])
                place = f"{s.rel}:{line_of(s.bare, pos)}"
                if place not in where:
                    where.append(place)
    return sorted(tops), edges


def circles(nodes, edges):
    """Strongly connected components of more than one module (Tarjan)."""
    succ = {n: sorted({b for (a, b) in edges if a == n}) for n in nodes}
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in succ[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for n in nodes:
        if n not in index:
            visit(n)
    return sorted(out, key=lambda c: (-len(c), c))


def layers(nodes, edges):
    """The modules by layer, top first, when the graph has no circle: a module's layer is
    one above the highest module it imports (the leaves, which import nothing in the
    crate, are layer 0), so every import points to a lower line."""
    succ = {n: {b for (a, b) in edges if a == n} for n in nodes}
    depth = {}

    def level(n):
        if n not in depth:
            depth[n] = 1 + max((level(m) for m in succ[n]), default=-1)
        return depth[n]

    for n in nodes:
        level(n)
    top = max(depth.values(), default=-1)
    return [sorted(n for n in nodes if depth[n] == d) for d in range(top, -1, -1)]


# ---------------------------------------------------------------- (b) long functions


def long_functions(sources):
    out = []
    for s in sources.values():
        if not s.rust or s.test_only or os.path.basename(s.rel) == "tests.rs":
            continue
        for m in re.finditer(r"\bfn\s+(\w+)", s.bare):
            if s.in_test(m.start()):
                continue
            # the body's `{`, or a `;` for a declaration without one
            depth, k = 0, m.end()
            while k < len(s.bare):
                ch = s.bare[k]
                if ch in "([":
                    depth += 1
                elif ch in ")]":
                    depth -= 1
                elif depth == 0 and ch in "{;":
                    break
                k += 1
            if k >= len(s.bare) or s.bare[k] == ";":
                continue
            end = matching_brace(s.bare, k)
            length = line_of(s.bare, end) - line_of(s.bare, m.start()) + 1
            if length > FN_LIMIT:
                out.append((length, s.rel, m.group(1), line_of(s.bare, m.start())))
    return sorted(out, key=lambda t: (-t[0], t[1]))


# ---------------------------------------------------------------- (c) long files


def long_files(sources):
    out = []
    for s in sources.values():
        if not s.rust or s.test_only or os.path.basename(s.rel) == "tests.rs":
            continue
        if s.lines > FILE_LIMIT:
            out.append((s.lines, s.rel))
    return sorted(out, key=lambda t: (-t[0], t[1]))


# ---------------------------------------------------------------- (d) backend names


def backend_files(sources, name):
    word = re.compile(r"\b" + name + r"\b", re.IGNORECASE)
    out = []
    for s in sources.values():
        if s.rel.startswith(f"src/broker/{name}") or s.rel == f"src/strategy/{name}.rs":
            continue
        hits = len(word.findall(s.code))
        if hits:
            out.append((s.rel, hits))
    return out


# ---------------------------------------------------------------- report


def main(argv):
    check = "--check" in argv
    why = "--why" in argv
    args = [a for a in argv if not a.startswith("--")]
    root = args[0] if args else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.isdir(os.path.join(root, "src")):
        print(f"structure.py: no src/ under {root}: give the repository's root", file=sys.stderr)
        return 2
    sources = load(root)
    nodes, edges = graph(sources)
    comps = circles(nodes, edges)
    fns = long_functions(sources)
    files = long_files(sources)

    print(f"# structure of {os.path.abspath(root)}")
    print()
    print(f"## (a) top-level module imports under src/ ({len(nodes)} modules)")
    for n in nodes:
        deps = sorted({b for (a, b) in edges if a == n})
        print(f"{n} -> {', '.join(deps) if deps else '(nothing in the crate)'}")
    print()
    print(f"circles: {len(comps)}")
    for c in comps:
        print(f"- {len(c)} modules: {', '.join(c)}")
        if why:
            for (a, b), where in sorted(edges.items()):
                if a in c and b in c:
                    shown = ", ".join(where[:4]) + (f", ... ({len(where)} in all)" if len(where) > 4 else "")
                    print(f"    {a} -> {b}: {shown}")
    if not comps:
        print("layers, top to bottom (each imports only from lines below it):")
        print("    main")
        for row in layers(nodes, edges):
            print(f"    {', '.join(row)}")
    print()
    print(f"## (b) functions over {FN_LIMIT} lines (outside tests): {len(fns)}")
    for length, rel, name, line in fns:
        print(f"{length:5}  {rel}:{line}  {name}")
    print()
    print(f"## (c) files over {FILE_LIMIT} lines (outside tests): {len(files)}")
    for lines, rel in files:
        print(f"{lines:5}  {rel}")
    print()
    print("## (d) files under src/ naming a backend outside its own module (code and strings)")
    leaks = []
    for name in BACKENDS:
        hits = backend_files(sources, name)
        if len(hits) > BACKEND_FILE_LIMIT:
            leaks.append(name)
        print(f"{name}: {len(hits)} files" + (":" if hits else ""))
        for rel, count in hits:
            print(f"    {rel} ({count})")
    print()
    readme = os.path.join(root, "README.md")
    if os.path.exists(readme):
        with open(readme, encoding="utf-8", errors="replace") as f:
            print(f"## (e) README.md: {sum(1 for _ in f)} lines")
    else:
        print("## (e) README.md: missing")

    if check and (comps or fns or files or leaks):
        print(
            f"\ncheck failed: {len(comps)} circles, {len(fns)} functions over {FN_LIMIT} lines, "
            f"{len(files)} files over {FILE_LIMIT} lines, "
            f"{len(leaks)} backends named in more than {BACKEND_FILE_LIMIT} files outside "
            f"their module{': ' + ', '.join(leaks) if leaks else ''}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
