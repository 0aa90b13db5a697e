"""The hello world of the README's Python section (and of python/README.md),
run as written against the test broker (only the URL changed)."""

import re
import sys
from pathlib import Path

from conftest import run

ROOT = Path(__file__).resolve().parents[2]


def hello_world(readme):
    text = readme.read_text()
    if readme.name == "README.md" and readme.parent == ROOT:
        text = text[text.index("## Using muon from Python"):]
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


def test_readme_hello_world(tmp_path, broker, queue):
    for readme in (ROOT / "README.md", ROOT / "python" / "README.md"):
        code = hello_world(readme).replace('"localhost:5672", "examples"',
                                           f'"{broker}", "{queue}"')
        assert broker in code, readme
        script = tmp_path / "hello.py"
        script.write_text(code)
        assert run([sys.executable, str(script)], 30) == (0, "Hello World!\n", ""), readme
