"""ccm: a cloud-controller-manager for Kubernetes LoadBalancer Services."""

__version__ = "0.1.0"
