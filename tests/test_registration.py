"""``import dlkit`` registers every custom Keras object it defines, and a driver can opt out of the cost."""

import ast
import json
import os
import pathlib
import subprocess
import sys

from dlkit import registration

ROOT = pathlib.Path(__file__).resolve().parents[1]


def decorated_classes():
    """``{module: {class names}}`` of every class decorated with register_keras_serializable in dlkit/."""
    found = {}
    for path in sorted((ROOT / "dlkit").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any("register_keras_serializable" in ast.unparse(decorator)
                                                      for decorator in node.decorator_list):
                module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
                found.setdefault(module, set()).add(node.name)
    return found


def test_the_module_list_names_every_module_with_registered_classes():
    assert set(decorated_classes()) == set(registration.MODULES)


def test_a_fresh_import_dlkit_registers_them_all():
    expected = sorted(f"dlkit>{name}" for names in decorated_classes().values() for name in names)
    code = ("import json, dlkit, keras; "
            "print(json.dumps(sorted(k for k in keras.saving.get_custom_objects() if k.startswith('dlkit>'))))")
    environment = {key: value for key, value in os.environ.items() if key != "DLKIT_REGISTER_ON_IMPORT"}
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                               cwd=ROOT, env=dict(environment, PYTHONPATH=str(ROOT)))
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == expected


def test_a_driver_can_import_dlkit_without_keras():
    code = "import sys, dlkit.cli; print('keras' in sys.modules, 'tensorflow' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT,
                               env=dict(os.environ, PYTHONPATH=str(ROOT), DLKIT_REGISTER_ON_IMPORT="0"))
    assert completed.stdout.split() == ["False", "False"], completed.stderr[-2000:]
