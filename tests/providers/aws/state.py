"""Reading back what exists in moto, through describe calls on uncounted clients."""

from __future__ import annotations

from typing import Any

from providers.aws.names import security_group_name
from tests.providers.aws.harness import MotoServer


class AwsState:
    def __init__(self, server: MotoServer) -> None:
        self.elb = server.client("elb")
        self.elbv2 = server.client("elbv2")
        self.ec2 = server.client("ec2")

    # Classic ELB
    def clbs(self) -> list[dict[str, Any]]:
        return self.elb.describe_load_balancers()["LoadBalancerDescriptions"]  # type: ignore[no-any-return]

    def clb(self, name: str) -> dict[str, Any]:
        return self.elb.describe_load_balancers(LoadBalancerNames=[name])["LoadBalancerDescriptions"][0]  # type: ignore[no-any-return]

    def clb_tags(self, name: str) -> dict[str, str]:
        tags = self.elb.describe_tags(LoadBalancerNames=[name])["TagDescriptions"][0]["Tags"]
        return {t["Key"]: t["Value"] for t in tags}

    def clb_attributes(self, name: str) -> dict[str, Any]:
        return self.elb.describe_load_balancer_attributes(LoadBalancerName=name)["LoadBalancerAttributes"]  # type: ignore[no-any-return]

    def listeners(self, name: str) -> set[tuple[str, int, str, int, str | None]]:
        return {(d["Listener"]["Protocol"], d["Listener"]["LoadBalancerPort"], d["Listener"]["InstanceProtocol"],
                 d["Listener"]["InstancePort"], d["Listener"].get("SSLCertificateId"))
                for d in self.clb(name)["ListenerDescriptions"]}

    def clb_instances(self, name: str) -> set[str]:
        return {i["InstanceId"] for i in self.clb(name)["Instances"]}

    # NLB
    def nlbs(self) -> list[dict[str, Any]]:
        return self.elbv2.describe_load_balancers()["LoadBalancers"]  # type: ignore[no-any-return]

    def nlb(self, name: str) -> dict[str, Any]:
        return self.elbv2.describe_load_balancers(Names=[name])["LoadBalancers"][0]  # type: ignore[no-any-return]

    def tags_of(self, arn: str) -> dict[str, str]:
        tags = self.elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
        return {t["Key"]: t["Value"] for t in tags}

    def nlb_attributes(self, name: str) -> dict[str, str]:
        arn = self.nlb(name)["LoadBalancerArn"]
        return {a["Key"]: a["Value"] for a in
                self.elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]}

    def target_groups(self) -> list[dict[str, Any]]:
        return self.elbv2.describe_target_groups()["TargetGroups"]  # type: ignore[no-any-return]

    def tg_attributes(self, arn: str) -> dict[str, str]:
        return {a["Key"]: a["Value"] for a in self.elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]}

    def targets(self, arn: str) -> set[tuple[str, int]]:
        return {(d["Target"]["Id"], d["Target"]["Port"]) for d in
                self.elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]}

    def nlb_listeners(self, name: str) -> list[dict[str, Any]]:
        arn = self.nlb(name)["LoadBalancerArn"]
        return sorted(self.elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"], key=lambda x: x["Port"])

    # EC2
    def group(self, group_id: str) -> dict[str, Any]:
        return self.ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]  # type: ignore[no-any-return]

    def managed_groups(self, lb_name: str) -> list[dict[str, Any]]:
        return self.ec2.describe_security_groups(Filters=[
            {"Name": "group-name", "Values": [security_group_name(lb_name)]}])["SecurityGroups"]  # type: ignore[no-any-return]

    def rules(self, group_id: str) -> set[tuple[str, int, int, str, str]]:
        """(protocol, from, to, source, description) of every ingress rule."""
        out = set()
        for p in self.group(group_id)["IpPermissions"]:
            for r in p.get("IpRanges", ()):
                out.add((p["IpProtocol"], p.get("FromPort", -1), p.get("ToPort", -1), r["CidrIp"], r.get("Description", "")))
            for r in p.get("UserIdGroupPairs", ()):
                out.add((p["IpProtocol"], p.get("FromPort", -1), p.get("ToPort", -1), r["GroupId"], r.get("Description", "")))
        return out

    def nothing_left(self, world_node_sg: str) -> list[str]:
        """Everything a load balancer could leave behind; empty when clean."""
        left = [f"clb {lb['LoadBalancerName']}" for lb in self.clbs()]
        left += [f"nlb {lb['LoadBalancerName']}" for lb in self.nlbs()]
        left += [f"tg {tg['TargetGroupName']}" for tg in self.target_groups()]
        left += [f"sg {g['GroupName']}" for g in self.ec2.describe_security_groups()["SecurityGroups"]
                 if g["GroupName"].startswith("k8s-")]
        left += [f"node rule {r}" for r in self.rules(world_node_sg)]
        return left
