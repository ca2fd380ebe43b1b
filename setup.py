"""What goes into the wheel: the one part of the build pyproject.toml cannot say (metadata lives there).

templates/ and static/ stay at the repository root (DESIGN.md's layout); the wheel carries them inside the package,
as kiosk/templates and kiosk/static, where kiosk.resources finds them once installed. Mapping a package to another
folder turns setuptools' automatic discovery off, so the package list is computed here instead.
"""
from setuptools import find_namespace_packages, setup

#: Data-only packages of the wheel and the checkout folders they come from.
WEB_FOLDERS = {"kiosk.templates": "templates", "kiosk.static": "static"}

setup(
    # Namespace discovery: kiosk/migrations and kiosk/translations have no __init__.py.
    packages=find_namespace_packages(include=["kiosk", "kiosk.*", "matcher", "matcher.*"],
                                     exclude=["*.__pycache__"]) + list(WEB_FOLDERS),
    package_dir=WEB_FOLDERS,
    # Every data file is listed here; the manifest-driven default would also warn about each static/ subfolder.
    include_package_data=False,
    package_data={
        **{package: ["**/*"] for package in WEB_FOLDERS},
        "kiosk.badges": ["layouts.json"],
        "kiosk.migrations": ["script.py.mako"],
        "kiosk.translations": ["*/LC_MESSAGES/*.mo"],
        "matcher.data": ["*.json"],
    },
)
