# The cffi extension cannot be declared in pyproject.toml alone: cffi hooks into setuptools
# through the `cffi_modules` keyword, which only setup() accepts.  Everything else lives in
# pyproject.toml.
from setuptools import setup

setup(cffi_modules=["rtagents/native/_build.py:ffi"])
