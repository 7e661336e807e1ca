package agent

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"switchboard/internal/dataplane"
	"switchboard/internal/netdev"
)

// linkWithAddr returns the name of the interface holding addr: the
// underlay that VXLAN traffic leaves by.
func linkWithAddr(addr netip.Addr) (string, error) {
	l, err := netdev.LinkWithAddr(nil, addr)
	if err != nil {
		return "", err
	}
	return l.Attrs().Name, nil
}

// pluginNames are the names the plugin answers to: its own, and the seed
// system's, so NetworkAttachmentDefinitions with "type": "l2sm" work too.
var pluginNames = []string{"switchboard", "l2sm"}

// installPlugin copies the CNI plugin into the node's CNI binary directory
// under each of its names, atomically (write, then rename), so the runtime
// never runs a half-written binary.
func (a *Agent) installPlugin() error {
	if a.opts.CNIBinDir == "" {
		return nil
	}
	b, err := os.ReadFile(a.opts.PluginPath)
	if err != nil {
		return fmt.Errorf("read CNI plugin %s: %w", a.opts.PluginPath, err)
	}
	for _, name := range pluginNames {
		dst := filepath.Join(a.opts.CNIBinDir, name)
		tmp := dst + ".switchboard-tmp"
		if err := os.WriteFile(tmp, b, 0o755); err != nil {
			return fmt.Errorf("install CNI plugin %s: %w", dst, err)
		}
		if err := os.Rename(tmp, dst); err != nil {
			return fmt.Errorf("install CNI plugin %s: %w", dst, err)
		}
	}
	a.log.Info("installed CNI plugin", "dir", a.opts.CNIBinDir, "names", pluginNames)
	return nil
}

// orphanInterval is how often the agent looks for pod interfaces that no
// attachment accounts for.
const orphanInterval = 30 * time.Second

// collectOrphans removes, at start and then periodically, the host ends of
// pod interfaces that no attachment of this node accounts for: an ADD cut
// short by an agent restart, or a DEL that never came. The ADDs in flight
// and the attachments (live) are read after the interfaces are listed (see
// dataplane.RemoveOrphans and podPortsInUse).
func (a *Agent) collectOrphans(ctx context.Context) error {
	keep := func() (map[string]bool, error) { return a.podPortsInUse(ctx) }
	t := time.NewTicker(orphanInterval)
	defer t.Stop()
	for {
		a.collectStaleAttachments(ctx)
		removed, err := a.dp.RemoveOrphans(keep)
		if err != nil {
			a.log.Error(err, "collect orphan pod interfaces")
		}
		if len(removed) > 0 {
			a.metrics.orphans.Add(float64(len(removed)))
			a.log.Info("removed orphan pod interfaces", "interfaces", removed)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// podPortsInUse returns the host interface names that an attachment of this
// node or an ADD in flight accounts for. An ADD makes the interface before
// its attachment; ADDs in flight are read before the attachments, so one
// that ends in between is seen by its attachment (or has removed its
// interface, if it failed).
func (a *Agent) podPortsInUse(ctx context.Context) (map[string]bool, error) {
	want := a.addsInFlight()
	atts, err := a.nodeAttachments(ctx)
	if err != nil {
		return nil, err
	}
	for _, at := range atts {
		if !at.Spec.IsEdge() { // the edge cable is not a pod port
			want[dataplane.HostIfName(at.Spec.ContainerID, at.Spec.Interface)] = true
		}
	}
	return want, nil
}

// collectStaleAttachments deletes this node's attachments that have no pod
// interface and no ADD in flight: an ADD that created the attachment and
// then died with its agent, whose runtime gave up on the sandbox (so no DEL
// will come while the pod itself lives on). Attachments are listed first,
// then the ADDs in flight, then the interfaces: a listed attachment's ADD
// began before the listing, so if it is no longer in flight it ended before
// the interfaces are listed, and they show its interface.
// Edge attachments have no pod interface by design: they are never
// collected here (the operator removes them when the edge's pod is gone).
func (a *Agent) collectStaleAttachments(ctx context.Context) {
	atts, err := a.nodeAttachments(ctx)
	if err != nil {
		a.log.Error(err, "collect stale attachments")
		return
	}
	busy := a.addsInFlight()
	ports, err := a.dp.PodPorts()
	if err != nil {
		a.log.Error(err, "collect stale attachments")
		return
	}
	for i := range atts {
		s := atts[i].Spec
		if host := dataplane.HostIfName(s.ContainerID, s.Interface); s.IsEdge() || ports[host] || busy[host] {
			continue
		}
		if err := a.client.Delete(ctx, &atts[i]); err != nil && !apierrors.IsNotFound(err) {
			a.log.Error(err, "delete stale attachment", "attachment", atts[i].Namespace+"/"+atts[i].Name)
			continue
		}
		a.recent.Deleted(&atts[i], time.Now())
		a.metrics.staleAttachments.Inc()
		a.log.Info("deleted attachment without a pod interface", "network", s.Network, "pod", s.Pod.Namespace+"/"+s.Pod.Name, "container", s.ContainerID)
	}
}

// ADDs in flight, so that the collectors never take the attachment or the
// interface of one: it makes both, the interface first.
func (a *Agent) startADD(containerID, ifName string) func() {
	token := new(int) // this ADD's own entry, even if a retry overlaps it
	host := dataplane.HostIfName(containerID, ifName)
	a.inflight.Store(token, host)
	return func() { a.inflight.Delete(token) }
}

// addsInFlight returns the host interface names of the ADDs in flight.
func (a *Agent) addsInFlight() map[string]bool {
	out := map[string]bool{}
	a.inflight.Range(func(_, host any) bool {
		out[host.(string)] = true
		return true
	})
	return out
}
