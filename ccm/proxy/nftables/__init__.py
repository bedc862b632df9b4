"""The node proxy's kernel data plane: nftables, laid out as kube-proxy's nftables mode.

``ccm node-proxy --mode nftables`` keeps the health servers and informers of ``NodeProxy``
and, instead of binding nodePorts in userspace, programs one table per family that DNATs
nodePort and VIP-mode load-balancer traffic to endpoints in the kernel.

Modules, in the order data flows through them::

    plan.py         Service + EndpointSlices + node -> ServiceRules per family (pure)
    rules.py        ServiceRules -> nft chains, affinity sets, map elements (pure)
    transaction.py  old/new objects -> one nft script, phase-ordered (pure)
    runner.py       the nft binary: ``nft -f -`` and ``nft -j list`` (the only mutating module)
    conntrack.py    stale UDP flows of removed endpoints -> ``conntrack -D``
    proxier.py      NftProxier: mirror of the kernel, partial/full syncs, stale-chain deletion

Public API (import from the modules: importing this package registers nothing)::

    proxier.NftProxier(node_name, *, runner=None, conntrack=None, families=("ip", "ip6"),
                       full_sync_period=3600.0, min_sync_period=0.1, stale_chain_delay=1.0)
        .sync(services, slices_of, keys, full, addresses) -> seconds until it wants a sync, or None
        .cleanup()
    proxier.cleanup(runner, families)   # delete our tables (``--cleanup``)
    runner.probe() -> None | str        # None: this process can program nftables; else why not
    runner.NftRunner, runner.NftError
"""
