"""``ccm plan``: the cloud resources ccm would build for a Service, or the next reconcile's diff.

Built only from what the controller and the adapters already use, so a plan cannot drift from
what the controller does: the Service is checked by the controller's own validation
(:mod:`ccm.controllers.service.validation`, the same Warning events word for word), the nodes
go through the controller's node predicates, and the operations come from the provider's
planning capability (``providers.port.Planner``), i.e. the adapter's pure desired/plan
functions. Providers are resolved through ``providers.registry``; nothing here imports a cloud,
so a newly registered adapter with a planner works unchanged.

Modules: ``inputs`` (YAML files, default nodes, placeholder uids), ``core`` (one Service's plan),
``render`` (text and JSON), ``cli`` (the subcommand).
"""
