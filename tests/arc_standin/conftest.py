"""The stand-in's own tests use the fixtures it offers to the rest of the suite."""

from .fixtures import arc_proxy, arc_standin, arc_standin_factory

__all__ = ["arc_proxy", "arc_standin", "arc_standin_factory"]
