-- The authorization portal: who owns each inter-cluster network (owners
-- see and act on their networks in the portal), and indexes for its pages,
-- which list authorizations and audit entries newest first, a page at a
-- time, across the IDCO or within one owner's networks.
CREATE TABLE network_owners (
	network TEXT NOT NULL,
	user_name TEXT NOT NULL REFERENCES users (name),
	added_at BIGINT NOT NULL,
	PRIMARY KEY (network, user_name)
);
CREATE INDEX network_owners_user ON network_owners (user_name);
CREATE INDEX authorizations_created ON authorizations (created_at, id);
CREATE INDEX authorizations_network_created ON authorizations (network, created_at, id);
CREATE INDEX audit_network ON audit (network, id);
CREATE INDEX audit_action ON audit (action, allowed, id);
-- A pod's lookup (every decision) lists its active authorizations ordered
-- by created_at, id: with those columns in the pod index, the planner keeps
-- it rather than the network index above, which also yields that order and
-- would scan a network's rows per decision. PostgreSQL's generic plans,
-- made while the table is small, did so with a partial index of active
-- rows on (network, created_at, id): decisions/s fell to a quarter.
DROP INDEX authorizations_pod;
CREATE INDEX authorizations_pod ON authorizations (cluster, network, namespace, pod, created_at, id);
