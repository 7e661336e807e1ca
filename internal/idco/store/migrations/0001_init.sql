-- The IDCO's schema, version 1. Times are Unix nanoseconds (BIGINT), NULL
-- where "not yet"; {{autoid}} is the dialect's auto-increment primary key.
CREATE TABLE revision (
	id INTEGER PRIMARY KEY,
	value BIGINT NOT NULL
);
INSERT INTO revision (id, value) VALUES (1, 0);

CREATE TABLE clusters (
	name TEXT PRIMARY KEY,
	edge_endpoint TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

CREATE TABLE users (
	name TEXT PRIMARY KEY,
	created_at BIGINT NOT NULL
);

CREATE TABLE keys (
	fingerprint TEXT PRIMARY KEY,
	user_name TEXT NOT NULL REFERENCES users (name),
	pem TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	revoked_at BIGINT
);
CREATE INDEX keys_user ON keys (user_name);

CREATE TABLE permissions (
	user_name TEXT NOT NULL REFERENCES users (name),
	network TEXT NOT NULL,
	granted_at BIGINT NOT NULL,
	PRIMARY KEY (user_name, network)
);

CREATE TABLE networks (
	name TEXT PRIMARY KEY,
	vni BIGINT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL
);

CREATE TABLE registrations (
	network TEXT NOT NULL REFERENCES networks (name),
	cluster TEXT NOT NULL REFERENCES clusters (name),
	namespace TEXT NOT NULL,
	local_name TEXT NOT NULL,
	local_vni BIGINT NOT NULL,
	edge_node TEXT NOT NULL DEFAULT '',
	edge_interface TEXT NOT NULL DEFAULT '',
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (network, cluster)
);
CREATE INDEX registrations_cluster ON registrations (cluster);

CREATE TABLE access_entries (
	network TEXT NOT NULL,
	cluster TEXT NOT NULL,
	user_name TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	pem TEXT NOT NULL,
	PRIMARY KEY (network, cluster, user_name, fingerprint),
	FOREIGN KEY (network, cluster) REFERENCES registrations (network, cluster) ON DELETE CASCADE
);

CREATE TABLE authorizations (
	id TEXT PRIMARY KEY,
	network TEXT NOT NULL REFERENCES networks (name),
	cluster TEXT NOT NULL REFERENCES clusters (name),
	namespace TEXT NOT NULL,
	pod TEXT NOT NULL,
	user_name TEXT NOT NULL,
	key_id TEXT NOT NULL,
	nonce TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	revoked_at BIGINT,
	revoked_reason TEXT NOT NULL DEFAULT '',
	revision BIGINT NOT NULL
);
CREATE INDEX authorizations_cluster ON authorizations (cluster, revoked_at);
CREATE INDEX authorizations_network ON authorizations (network, revoked_at);
CREATE INDEX authorizations_nonce ON authorizations (user_name, nonce);

CREATE TABLE audit (
	id {{autoid}},
	at BIGINT NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	network TEXT NOT NULL DEFAULT '',
	cluster TEXT NOT NULL DEFAULT '',
	user_name TEXT NOT NULL DEFAULT '',
	subject TEXT NOT NULL DEFAULT '',
	allowed INTEGER NOT NULL,
	reason TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit (at);
