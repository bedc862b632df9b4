"""The service (load-balancer) controller: upstream k8s.io/cloud-provider ``controllers/service``.

Modules: ``predicates`` (which Services and Nodes count), ``request`` (Service -> provider request),
``status`` (neutral status <-> API), ``patching`` (finalizer and status patches), ``nodeset``
(the eligible nodes, converted once per node list), ``state`` (serviceCache, lastSyncedNodes),
``sync`` (one Service's reconcile), ``nodesync`` (host updates), ``controller`` (informer handlers,
queues, workers), ``metrics`` and ``events`` (names).
"""
