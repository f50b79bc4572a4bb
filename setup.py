"""Shim so `pip install --no-use-pep517 -e .` can make a develop install (metadata: pyproject.toml).

A develop install records the repository as the package location, which is where `mim` looks for
`mmssl/.mim/{configs,tools}`; a PEP 660 editable install records site-packages instead.
"""

from setuptools import setup

setup()
