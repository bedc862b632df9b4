"""The annotation registry: every Service annotation ccm reads, declared once.

``registry`` holds the :class:`~ccm.annotations.registry.Annotation` type and the queries;
the per-cloud modules (``aws``, ``gcp``, ``azure``, ...) declare the annotations and export
one constant per key for the adapters.
"""
