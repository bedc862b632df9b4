"""``ccm admission-policy``: ValidatingAdmissionPolicies generated from the annotation registry.

``cel`` holds the CEL form of each annotation type, ``policy`` turns the registry (and one
provider's annotation support) into rules and policy documents, ``cli`` is the subcommand.
"""
