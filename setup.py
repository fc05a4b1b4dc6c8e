"""Ship the data folders (ontology/, shapes/, queries/) inside the wheel as mapper/_data/.

In a checkout mapper.resources reads them from the top of the repository; an installed wheel has
no checkout, so build_py copies them next to the code.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA_DIRS = ("ontology", "shapes", "queries")


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
            shutil.copytree(root / name, dest)


setup(cmdclass={"build_py": BuildPyWithData})
