"""Diagnostics of trained rows, beside the benchmark: they read a fitted model and the cached
features, choose nothing, and run on the test part as a row's score does.

- :mod:`benchmarks.diagnostics.emap`: EMAP (Hessel & Lee, EMNLP 2020), the model projected onto
  additive functions of its modality groups, and the interaction gain.
- :mod:`benchmarks.diagnostics.noisy`: test features of noisy posters and plots
  (:mod:`mmimdb2.noise`), through the project's encoders, cached per noise, level and seed.
- :mod:`benchmarks.diagnostics.robustness`: curves over noise levels, relative and effective
  robustness (MultiBench).
- :mod:`benchmarks.diagnostics.fitting`: a row's model fitted once and kept, for all of them.

Command lines: ``python -m benchmarks.diagnose emap`` and ``python -m benchmarks.robustness``;
docs/diagnostics.md says what each computes and why.
"""
