-- Find a pod's active authorization without scanning the network's.
CREATE INDEX authorizations_pod ON authorizations (cluster, network, namespace, pod);
