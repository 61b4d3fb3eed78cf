"""Helpers the tests share, and the benchmarks import too: in-memory ports (``fakes``), the
real use cases driven into a given state (``lifecycle``), AWS answered in process
(``harness``) and local mode in a subprocess (``local_mode``)."""
