"""cloud-provider-aws's ``cloud.conf`` (gcfg, ``[Global]``), read into this provider's options.

Every key of upstream's ``CloudConfig.Global`` is either honoured or refused with an error naming
it and saying what to do instead; an unknown key or section is an error too (upstream's gcfg reader
only warns, which hides typos).

| key | here |
|---|---|
| ``Zone`` | the region when none is configured (the zone minus its letter) |
| ``VPC`` | ``aws-vpc-id``: the VPC for subnet discovery |
| ``KubernetesClusterTag``, ``KubernetesClusterID`` | must equal ``--cluster-name`` (the ownership tag value) |
| ``NodeIPFamilies`` | ``aws-node-ip-families`` (repeatable: ``ipv4``, ``ipv6``) |
| ``SubnetID``, ``RouteTableID``, ``RoleARN``, ``SourceARN``, ``DisableSecurityGroupIngress``, ``ElbSecurityGroup``, ``NLBSecurityGroupMode``, ``ClusterServiceLoadBalancerHealthProbeMode``, ``ClusterServiceSharedLoadBalancerHealthProbePort``, ``ClusterServiceSharedLoadBalancerHealthProbePath``, ``[ServiceOverride]`` | refused (not implemented), each with the alternative |

Credentials never belong in this file: the standard AWS chain applies (``AWS_ACCESS_KEY_ID``/
``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``, ``AWS_PROFILE`` and the shared credentials file,
web identity (IRSA), the instance profile).
"""

from __future__ import annotations

from providers.cloudconfig import read_gcfg

#: upstream name (as written in upstream's docs) -> our option, for the keys honoured as a plain value
_OPTIONS = {"VPC": "aws-vpc-id", "KubernetesClusterTag": "aws-cluster-id", "KubernetesClusterID": "aws-cluster-id"}
#: keys we cannot honour -> what to do instead
_REFUSED = {
    "SubnetID": "name the subnets per Service with service.beta.kubernetes.io/aws-load-balancer-subnets, or tag "
                "them kubernetes.io/role/elb",
    "RouteTableID": "ccm has no route controller",
    "RoleARN": "put role_arn (and source_profile or web_identity_token_file) in an AWS profile and select it "
               "with AWS_PROFILE",
    "SourceARN": "configure the role in an AWS profile (see RoleARN)",
    "DisableSecurityGroupIngress": "ccm always manages the node security group rules its load balancers need",
    "ElbSecurityGroup": "name security groups per Service with service.beta.kubernetes.io/"
                        "aws-load-balancer-security-groups",
    "NLBSecurityGroupMode": "NLB frontend security groups are not managed by ccm",
    "ClusterServiceLoadBalancerHealthProbeMode": "health probes follow the Service's externalTrafficPolicy",
    "ClusterServiceSharedLoadBalancerHealthProbePort": "health probes follow the Service's externalTrafficPolicy",
    "ClusterServiceSharedLoadBalancerHealthProbePath": "health probes follow the Service's externalTrafficPolicy",
}
_KNOWN = {k.lower(): k for k in (*_OPTIONS, *_REFUSED, "Zone", "NodeIPFamilies")}


def parse_cloud_config(text: str, source: str = "cloud config") -> dict[str, str]:
    options: dict[str, str] = {}
    for (section, sub), values in read_gcfg(text, source).items():
        if section == "serviceoverride":
            raise ValueError(f"{source}: [ServiceOverride \"{sub}\"] is not supported: ccm talks to one endpoint "
                             "per provider; use --aws-endpoint-url")
        if section != "global":
            raise ValueError(f"{source}: unknown section [{section}] (AWS reads [Global])")
        for lower, found in values.items():
            name = _KNOWN.get(lower)
            if name is None:
                raise ValueError(f"{source}: unknown key {lower!r} in [Global] (known: {', '.join(sorted(_KNOWN.values()))})")
            value = found[-1].strip()
            if name in _REFUSED:
                if name == "DisableSecurityGroupIngress" and value.lower() in ("false", "0", ""):
                    continue  # asks for what ccm does anyway
                raise ValueError(f"{source}: [Global] {name} = {value} cannot be honoured: {_REFUSED[name]}")
            if name == "Zone":
                options["aws-zone"] = value
            elif name == "NodeIPFamilies":
                options["aws-node-ip-families"] = ",".join(v.strip() for v in found)
            else:
                previous = options.get(_OPTIONS[name])
                if previous is not None and previous != value:
                    raise ValueError(f"{source}: KubernetesClusterTag and KubernetesClusterID differ "
                                     f"({previous!r}, {value!r})")
                options[_OPTIONS[name]] = value
    return options
