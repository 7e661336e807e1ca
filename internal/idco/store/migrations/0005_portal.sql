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
CREATE INDEX authorizations_network_active ON authorizations (network, created_at, id) WHERE revoked_at IS NULL;
CREATE INDEX audit_network ON audit (network, id);
CREATE INDEX audit_action ON audit (action, allowed, id);
