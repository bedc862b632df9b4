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
* ``/openapi/v3`` serves the served kinds' schemas built from the official client's models
  (``kubectl explain``; kubectl also reads from it that the server validates fields itself);
  ``/openapi/v2`` is a 404.
* Content negotiation: protobuf (``application/vnd.kubernetes.protobuf``, :mod:`protobuf`) in
  and out for the built-in kinds, as kubectl's typed commands send it; JSON otherwise; Tables
  honour ``includeObject``; ``as=PartialObjectMetadata`` only when asked for.
* Request limits (:mod:`decoding`): 3 MiB bodies (413), 1.5 MiB stored objects, nesting depth,
  YAML alias expansion, duplicate keys (``fieldValidation``); a watch from a revision the server
  has not reached is answered "Too large resource version" (an ERROR event).

Deliberate differences: no ``managedFields`` and no server-side apply (``apply-patch+yaml`` is a
415; kubectl then says server-side apply is not available); no Pods (``kubectl describe node``
fails listing them); DeleteOptions ``propagationPolicy`` and grace
periods are ignored (there is no garbage collector); deleting a Namespace removes it at
once; ``sendInitialEvents`` is refused with a 400, as by a server without WatchList;
``allow_loopback_endpoints`` lifts the loopback check on EndpointSlice addresses (the
one-machine demo needs it).
"""
