"""The packages of the wheel. Everything else is in ``pyproject.toml``.

``resources/`` (operators, examples, schema, icons) installs as the package
``weft_resources``: ``package_dir`` maps the name to the folder, so a source checkout, an
editable install and a wheel all read it through ``importlib.resources`` under one name, and
the folder keeps its place at the top of the repository. ``pyproject.toml`` cannot list found
packages next to a mapped one, hence this file.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["engine", "engine.*", "studio", "studio.*"]), "weft_resources"],
    package_dir={"weft_resources": "resources"},
)
