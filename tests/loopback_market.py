"""The marketplace the tests publish to: the product's own demo marketplace (desktop/library/demo_market.py),
which `tessera market serve --demo` also runs, so the sandbox and the tests are one implementation."""

from desktop.library.demo_market import DemoMarket as LoopbackMarket

__all__ = ["LoopbackMarket"]
