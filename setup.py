from setuptools import find_packages, setup

setup(
    name="pyinfra",
    version="0.1.0",
    description="Deploy servers from plain Python files, over SSH, fast.",
    packages=find_packages(include=["pyinfra", "pyinfra.*"]),
    python_requires=">=3.9",
    install_requires=["paramiko>=3", "gevent>=22", "jinja2>=3", "click>=8", "colorama>=0.4"],
    extras_require={"test": ["pytest>=7", "ruff", "hypothesis", "requests"]},
    entry_points={"console_scripts": ["pyinfra=pyinfra.cli:cli"]},
)
