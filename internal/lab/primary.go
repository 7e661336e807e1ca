package lab

import "fmt"

// The lab's choices of primary network (Config.Primary).
const (
	// PrimaryBridge is the reference bridge and host-local plugins under
	// Multus, routed between the nodes by the lab: the default.
	PrimaryBridge = "bridge"
	// PrimarySwitchboard is Switchboard itself as Multus's default
	// delegate (package clusternet): Install runs the agents with
	// --primary, and they address the pods from the nodes' pod CIDRs, route
	// between the nodes and isolate namespaces. Until Install, pods (CoreDNS
	// among them) wait for the plugin.
	PrimarySwitchboard = "switchboard"
)

func checkPrimary(p string) error {
	switch p {
	case "", PrimaryBridge, PrimarySwitchboard:
		return nil
	}
	return fmt.Errorf("primary network %q: use %q (the reference bridge plugin, default) or %q", p, PrimaryBridge, PrimarySwitchboard)
}

func (l *lab) switchboardPrimary() bool { return l.cfg.Primary == PrimarySwitchboard }

// switchboardDelegate is Multus's default delegate in primary mode:
// Switchboard's plugin with "primary": true, then portmap for hostPorts.
func switchboardDelegate() map[string]any {
	return map[string]any{
		"cniVersion": cniVersion,
		"name":       "switchboard-primary",
		"plugins": []any{
			map[string]any{"type": "switchboard", "primary": true},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
}
