"""Kubernetes protobuf for the built-in kinds served: :mod:`schema` (field numbers, as data) and
:mod:`codec` (the ``k8s\\x00`` envelope, conversion to and from the registry's JSON objects)."""
