"""A real local Elasticsearch node for development, tests and benchmarks, run from Maven Central artifacts.

Elasticsearch's own distribution cannot be downloaded here, so a tiny Maven project (``pom.xml``, ``src/``)
puts the published server and its Netty module on one classpath and runs a single-node cluster in one JVM.

    from es_local import NodeOptions, ensure_running, stop
    node = ensure_running(NodeOptions(port=9200))   # reuses a node that already answers
    ...
    if node.started:
        stop(NodeOptions(port=9200))
"""

from es_local.build import elasticsearch_version
from es_local.errors import EsLocalError
from es_local.health import PortState
from es_local.node import NodeStatus, RunningNode, ensure_running, status, stop
from es_local.options import NodeOptions

__all__ = [
    "EsLocalError",
    "NodeOptions",
    "NodeStatus",
    "PortState",
    "RunningNode",
    "elasticsearch_version",
    "ensure_running",
    "status",
    "stop",
]
