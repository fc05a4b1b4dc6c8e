"""Ship the data folders (ontology/, shapes/, queries/, examples/) in the wheel as mapper/_data/.

In a checkout mapper.resources reads them from the top of the repository; an installed wheel has
no checkout, so build_py copies them next to the code.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

# examples/ holds the demo organisation that `aims demo` loads (mapper/demo.py).
DATA_DIRS = ("ontology", "shapes", "queries", "examples")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        root = Path(__file__).parent
        target = Path(self.build_lib) / "mapper" / "_data"
        for name in DATA_DIRS:
            dest = target / name
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(
                root / name, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )


setup(cmdclass={"build_py": BuildPyWithData})
