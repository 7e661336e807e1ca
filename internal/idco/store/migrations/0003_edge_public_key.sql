-- The WireGuard public key of each cluster's edge, beside its endpoint:
-- empty for an edge that runs plain VXLAN on the WAN.
ALTER TABLE clusters ADD COLUMN edge_public_key TEXT NOT NULL DEFAULT '';
