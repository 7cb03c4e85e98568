"""Collects every scenario of the features in this folder, with the :mod:`steps` vocabulary.

Run with plain pytest (the ``kfp_isolation_conformance`` plugin supplies the target)::

    pytest features --kfp-mode full-outside
"""

from pytest_bdd import scenarios

import steps

globals().update(steps.definitions())

scenarios(".")
