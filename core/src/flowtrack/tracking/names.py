"""Readable default run names, as MLflow users are used to (``brave-owl-417``)."""

from __future__ import annotations

import random

_ADJECTIVES = (
    "amber bold brave bright calm clever crisp eager fair fast gentle glad grand keen kind "
    "lively lucky merry mighty noble polite proud quick quiet rapid sharp shiny silent smart "
    "steady sunny swift tidy vivid warm wise witty young zesty"
).split()
_NOUNS = (
    "ant bass bat bear bee bird carp cat colt crab crow deer dove duck eel elk finch fox frog "
    "gnat goat hare hawk hen ibis jay koala lark lion lynx mole moth newt owl panda pike ram "
    "seal shrew slug snail swan toad trout vole wasp wolf wren yak"
).split()


def run_name() -> str:
    rng = random.SystemRandom()
    return f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}-{rng.randint(100, 999)}"
