"""The wheel ships the product packages listed in pyproject.toml; ese.studies is not among them.

A development install (``pip install -e .``, which ``make install`` runs) maps ese.studies too:
the studies behind docs/benchmarks.md run from the checkout as ``python -m ese.studies.NAME``,
and the tests import them. Everything else is configured in pyproject.toml.
"""

from setuptools import find_packages, setup
from setuptools.command.editable_wheel import editable_wheel

# ese.studies and its subpackages (studies/training, ...); the build runs in the project root.
STUDIES = ["ese.studies", *(f"ese.studies.{name}" for name in find_packages("studies"))]


class EditableWithStudies(editable_wheel):
    """An editable install that also maps the ``studies/`` folder as ``ese.studies``."""

    def run(self) -> None:
        self.distribution.packages = [*(self.distribution.packages or []), *STUDIES]
        super().run()


setup(cmdclass={"editable_wheel": EditableWithStudies})
