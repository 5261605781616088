"""Golden outputs of the sample: compared in tests, rewritten by `pytest --update-golden`."""

import json
from pathlib import Path

GOLDEN = Path(__file__).parent
HOW = "if the change is intended, run `pytest --update-golden`, then review the diff"


def check(request, name: str, data) -> None:
    """Compare `data` with tests/golden/`name` (JSON), or rewrite it with --update-golden."""
    path = GOLDEN / name
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    if request.config.getoption("--update-golden"):
        path.write_text(text)
        return
    assert path.is_file(), f"no golden file tests/golden/{name}: {HOW}"
    expected = json.loads(path.read_text())
    assert json.loads(text) == expected, f"differs from tests/golden/{name}: {HOW}"
