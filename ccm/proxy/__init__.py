"""The node proxy: NodePort -> endpoints, with kube-proxy's userspace semantics.

``ccm.proxy.engine`` is the data plane (also reused by the local provider);
``ccm.proxy.nodeproxy`` turns Services, EndpointSlices and the Node into engine listeners.
"""
