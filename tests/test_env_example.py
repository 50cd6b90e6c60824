""".env.example names every environment variable that the settings and gunicorn's config read.

The names come from parsing the two files with `ast`, not from a list kept here, so a variable added
later is checked too. A name built at run time (an f-string, a variable) is not found: spell names
out as string literals.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "pamedspa" / "settings.py"
GUNICORN = ROOT / "pamedspa" / "gunicorn.conf.py"
ENV_EXAMPLE = ROOT / ".env.example"

NAME = re.compile(r"[A-Z][A-Z0-9_]*")
# `NAME=value` or, where a default applies, `# NAME=value`.
ENTRY = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def _dotted(node: ast.expr) -> str:
    """`os.environ.get` for the expression os.environ.get; "" for anything but names and dots."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _literal_name(node: ast.expr | None) -> str | None:
    """The variable name a string literal spells, or None."""
    is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
    return node.value if is_text and NAME.fullmatch(node.value) else None


def _first_argument(call: ast.Call) -> ast.expr | None:
    if call.args:
        return call.args[0]
    return next((k.value for k in call.keywords if k.arg in {"var", "key"}), None)


def variables_read(source: str) -> set[str]:
    """Names read through django-environ (`env.str("X")`, `env("X")`...) or os.environ/getenv."""
    tree = ast.parse(source)
    # The django-environ readers: whatever names `environ.Env()` (or `Env()`) is bound to.
    readers = {"env"}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and _dotted(node.value.func) in {"environ.Env", "Env"}
        ):
            readers |= {t.id for t in node.targets if isinstance(t, ast.Name)}

    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = _dotted(node.func)
            reader_method = _dotted(node.func.value) if isinstance(node.func, ast.Attribute) else ""
            if (
                func in readers  # env("X")
                or reader_method in readers  # env.str("X"), env.int("X"), env.list("X")...
                or func in {"os.environ.get", "os.getenv", "os.environ.setdefault"}
            ):
                name = _literal_name(_first_argument(node))
                if name:
                    found.add(name)
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and _dotted(node.value) == "os.environ"  # os.environ["X"]
        ):
            name = _literal_name(node.slice)
            if name:
                found.add(name)
    return found


def names_in_env_example() -> set[str]:
    return set(ENTRY.findall(ENV_EXAMPLE.read_text()))


def test_the_parser_finds_every_way_of_reading_a_variable():
    source = """
import os
import environ
env = environ.Env()
config = environ.Env()
a = env.str("A_STR", default="")
b = env.int("B_INT", default=1)
c = env.bool("C_BOOL", default=False)
d = env.list("D_LIST", default=[])
e = env("E_CALL")
f = os.environ.get("F_GET", "x")
g = os.environ["G_ITEM"]
h = os.getenv("H_GETENV")
os.environ.setdefault("H_SETDEFAULT", "x")
i = config.url("I_OTHER_READER")
j = env.str(var="J_KEYWORD")
env.read_env(".env")
os.environ["NOT_READ"] = "written, not read"
k = {"NOT_A_VARIABLE": 1}["NOT_A_VARIABLE"]
"""
    assert variables_read(source) == {
        "A_STR",
        "B_INT",
        "C_BOOL",
        "D_LIST",
        "E_CALL",
        "F_GET",
        "G_ITEM",
        "H_GETENV",
        "H_SETDEFAULT",
        "I_OTHER_READER",
        "J_KEYWORD",
    }


def test_the_parser_finds_the_variables_of_both_files():
    # Plausible counts, so a parser that finds nothing (or a moved file) cannot pass.
    assert len(variables_read(SETTINGS.read_text())) >= 20
    assert len(variables_read(GUNICORN.read_text())) >= 5


def test_env_example_names_every_variable_the_settings_read():
    missing = variables_read(SETTINGS.read_text()) - names_in_env_example()
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_env_example_names_every_variable_gunicorn_reads():
    missing = variables_read(GUNICORN.read_text()) - names_in_env_example()
    assert not missing, f"add to .env.example: {sorted(missing)}"
