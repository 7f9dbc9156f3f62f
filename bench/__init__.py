"""Benchmark of the Confluence to Elasticsearch sync: `python -m bench --help`.

Measures the real pipeline (full and incremental syncs, Data Center and Cloud flavours of the simulator) against
two yardsticks on the same machine: how fast Elasticsearch alone takes the same documents (the sink limit) and
what a hand-written sequential loader achieves (the naive baseline). Reports go to bench/results/.
"""
