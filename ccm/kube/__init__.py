"""client-go equivalents over the official ``kubernetes`` client.

Raw JSON client, informers and indexers, rate-limited workqueue, event recorder,
leader election and the /metrics /healthz /readyz server. This package is at the bottom
of the import graph: it imports nothing else from ccm.
"""
