"""What every cloud adapter shares: the pieces of observe -> desired -> plan -> apply.

* ``operations`` - typed, frozen operation values (kind, resource, ``describe()``, ``to_json()``),
  plans as ordered tuples, ``Ref`` placeholders for values an earlier operation produces;
* ``apply`` - the generic runner: one cloud call per operation, operation waits included,
  the shared throttling retry; an adapter's ``apply`` module is its only mutating code;
* ``retry`` - the retry policy for throttled calls;
* ``naming`` - deterministic names (upstream ``DefaultLoadBalancerName``, bounded hashed names);
* ``ownership`` - ownership marks, the foreign-resource check and the tags/labels merge in
  which user tags never override ownership;
* ``locks`` - per-Service locks serialising ``ensure`` and ``update``;
* ``options`` - provider option parsing;
* ``capabilities`` - ``AdapterCloud``: the capability getters every cloud object shares.
* ``portstatus`` - per-port status, ``UnsupportedProtocol`` on the ports a type cannot carry.

No cloud SDK and no Kubernetes here; see ``providers/README.md`` for how an adapter uses them.
"""
