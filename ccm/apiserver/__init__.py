"""An in-memory kube-apiserver on loopback HTTP, shaped like the real one.

Layers, bottom up: ``fielderrors``/``errors`` (Status objects), ``validation`` (name and
label rules), ``selectors``, ``patch``, ``store`` (versioned objects, history, watch
fan-out), ``strategies`` (one module per resource: defaulting, validation, allocation,
status rules), ``registry`` (the generic create/update/delete driver), ``server`` (HTTP).
``testing.embedded_apiserver`` runs it in a background thread for tests.
"""
