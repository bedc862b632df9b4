"""An in-memory kube-apiserver (target: v1.36) on loopback HTTP, shaped like the real one.

Layers, bottom up: ``fielderrors``/``errors`` (Status objects), ``validation`` (name, label,
IP rules), ``selectors``, ``patch``, ``schema`` (decode-time type and unknown-field checks),
``store`` (versioned objects, history, watch fan-out), ``allocators`` (ClusterIPs, node
ports), ``strategies`` (one module per resource: defaulting, validation, allocation, status
rules), ``registry`` (the generic create/update/patch/delete/list driver), ``discovery`` and
``tables`` (what kubectl reads), ``server`` (HTTP). ``testing.embedded_apiserver`` runs it in
a background thread; ``cli`` is ``ccm apiserver``.

Where kube-apiserver's behaviour is surprising, this server follows it:

* Services, Nodes, Namespaces, Leases and Events carry no ``metadata.generation``; only
  EndpointSlices do (bumped on any non-metadata or label change).
* Finalizer names on these built-in kinds must be qualified (``example.com/x``) or one of
  ``kubernetes``, ``orphan``, ``foregroundDeletion``; ``foo`` is a 422.
* Unknown fields are dropped with a ``Warning`` header (``fieldValidation=Strict``, which
  kubectl sends, makes them a 400); a value of the wrong JSON type is always a 400.
* ``/openapi/v3`` serves a skeleton that only tells kubectl the server validates fields
  itself (kubectl refuses to create without it); ``/openapi/v2`` is a 404.

Deliberate differences: no ``managedFields``; DeleteOptions ``propagationPolicy`` and grace
periods are ignored (there is no garbage collector); deleting a Namespace removes it at
once; ``sendInitialEvents`` is refused with a 400, as by a server without WatchList;
``allow_loopback_endpoints`` lifts the loopback check on EndpointSlice addresses (the
one-machine demo needs it).
"""
