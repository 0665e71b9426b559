"""The packages of the wheel. Everything else is in ``pyproject.toml``.

``resources/`` (operators, examples, schema, icons) installs as the package
``weft_resources``: ``package_dir`` maps the name to the folder, so a source checkout, an
editable install and a wheel all read it through ``importlib.resources`` under one name, and
the folder keeps its place at the top of the repository. ``docs/`` (the guides Help opens)
installs the same way as ``weft_docs``. ``pyproject.toml`` cannot list found
packages next to a mapped one, hence this file.
"""

from setuptools import find_namespace_packages, find_packages, setup

# every folder under resources/ is a (data) package of weft_resources: setuptools then ships
# its files by the package-data pattern without warning that a folder is left out
shipped = [
    package + name.removeprefix(folder)
    for package, folder in (("weft_resources", "resources"), ("weft_docs", "docs"))
    for name in [folder, *find_namespace_packages(include=[f"{folder}.*"], exclude=["*.__pycache__"])]
]

setup(
    packages=[*find_packages(include=["engine", "engine.*", "studio", "studio.*"]), *shipped],
    package_dir={"weft_resources": "resources", "weft_docs": "docs"},
)
