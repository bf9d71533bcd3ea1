"""The embedded demo: a small, deterministic MM-IMDb 2.0-layout dataset generated in seconds.

It is the default dataset of every command and the data the tests and the benchmark harness run
on. Its movies have long-tailed multi-label genres with realistic co-occurrence, posters and plots
that show the genres through noise, and directors and cast who recur across movies with genre
preferences, so that a knowledge graph of people helps without making the task trivial.
"""

from mmimdb2.demo.writer import DEMO_VERSION, DemoError, Knobs, ensure_demo, generate, read_manifest

__all__ = ["DEMO_VERSION", "DemoError", "Knobs", "ensure_demo", "generate", "read_manifest"]
