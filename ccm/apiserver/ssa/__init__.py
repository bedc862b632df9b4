"""Server-side apply and managed fields (upstream's structured-merge-diff and field manager).

``fieldpath`` (field sets and their ``FieldsV1`` form), ``schema`` (how each list and map of
the served kinds merges), ``typed`` (field sets of objects, comparison, merge, removal),
``managedfields`` (the ``metadata.managedFields`` entries), ``fieldmanager`` (what a write
records and what an apply does, conflicts included). The registry calls the field manager on
every create, update and patch; nothing here knows about HTTP or storage.
"""
