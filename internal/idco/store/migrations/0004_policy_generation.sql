-- The policy generation: bumped by every write that changes what an
-- authorization decision reads (keys, access lists, registrations,
-- permissions), so an IDCO's in-memory cache of them knows when to reload,
-- even after another IDCO process wrote to the same database.
CREATE TABLE policy_generation (
	id INTEGER PRIMARY KEY,
	value BIGINT NOT NULL
);
INSERT INTO policy_generation (id, value) VALUES (1, 0);
-- Retention finds ended authorizations by when they ended. Partial, so
-- that inserting an active authorization writes no entry in it.
CREATE INDEX authorizations_ended ON authorizations (revoked_at) WHERE revoked_at IS NOT NULL;
