"""Controllers: the service (load-balancer) controller and the manager that runs it."""
