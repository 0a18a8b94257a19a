"""Benchmarks. Each module has a `main()` that measures Paguito against a baseline measured in the
same run and prints the ratio: absolute timings vary by machine, ratios travel better."""
