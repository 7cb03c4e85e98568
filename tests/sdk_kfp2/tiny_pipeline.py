"""A tiny, real KFP v2 pipeline for the SDK tests.

No ``from __future__ import annotations`` here: kfp's component decorator reads the parameter
annotations as live types, and string annotations make it fail.
"""

from kfp import dsl


@dsl.component(base_image="python:3.11")
def add(a: int, b: int) -> int:
    return a + b


@dsl.pipeline(name="tiny-adder", description="Adds two numbers twice.")
def tiny_adder(x: int = 1, y: int = 2) -> None:
    first = add(a=x, b=y)
    add(a=first.output, b=y)
