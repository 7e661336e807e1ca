// Package demo tells Switchboard's story on a running lab, act by act, with
// the commands it runs and what they answered. `make demo` runs it. Each act
// checks what it shows and stops the demo with an error if it does not hold.
package demo

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"switchboard/internal/lab"
	"switchboard/internal/lab/kube"
)

// Run plays every act on the lab. It leaves the demo's pods running for
// the audience to explore; running it again starts them afresh.
func Run(ctx context.Context, h *lab.Handle, w io.Writer) error {
	d := &demo{h: h, w: w, start: time.Now()}
	acts := []struct {
		title string
		run   func(context.Context) error
	}{
		{"The lab: real Kubernetes clusters on this machine", d.showClusters},
		{"Primary network: pods on different nodes reach each other", d.primaryNetwork},
		{"Multus: a second interface from a NetworkAttachmentDefinition", d.multus},
		{"Switchboard: isolated virtual networks across nodes", d.switchboardNetworks},
		{"The WAN: only each cluster's gateway node reaches it", d.wan},
		{"Inter-cluster: one network across both clusters, for signed users only (seed 000)", d.interCluster},
	}
	for i, a := range acts {
		fmt.Fprintf(w, "\n━━ Act %d/%d: %s\n", i+1, len(acts), a.title)
		if err := a.run(ctx); err != nil {
			return fmt.Errorf("act %d (%s): %w", i+1, a.title, err)
		}
	}
	fmt.Fprintf(w, "\nDemo finished in %.0fs. Explore with `switchboard lab kubectl a -- get pods -A -o wide`; remove everything with `make demo-down`.\n",
		time.Since(d.start).Seconds())
	return nil
}

type demo struct {
	h     *lab.Handle
	w     io.Writer
	start time.Time
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.w, "   "+format+"\n", args...) }

// show prints a command as the user would type it and its output, indented.
func (d *demo) show(cmd, out string) {
	fmt.Fprintf(d.w, "   $ %s\n", cmd)
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		fmt.Fprintf(d.w, "     %s\n", line)
	}
}

func (d *demo) cluster(name string) (*kube.Cluster, error) { return kube.New(d.h, name) }

func (d *demo) showClusters(ctx context.Context) error {
	for _, c := range d.h.Clusters {
		k, err := d.cluster(c.Name)
		if err != nil {
			return err
		}
		out, err := k.Kubectl(ctx, "", "get", "nodes", "-o", "wide")
		if err != nil {
			return err
		}
		d.say("cluster %s: API server %s, pod CIDR %s, service CIDR %s", c.Name, c.APIServer(), c.PodCIDR, c.ServiceCIDR)
		d.show(fmt.Sprintf("switchboard lab kubectl %s -- get nodes -o wide", c.Name), out)
	}
	return nil
}

// startPods (re)creates the demo's testbox pods in namespace ns.
func (d *demo) startPods(ctx context.Context, k *kube.Cluster, ns string, nodes []lab.Node, annotations, extra string) error {
	manifest := kube.TestboxPods(ns, nodes, annotations)
	if extra != "" {
		if err := k.Apply(ctx, fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n---\n%s", ns, extra)); err != nil {
			return err
		}
	}
	if _, err := k.Kubectl(ctx, "", "delete", "pods", "-n", ns, "--all", "--ignore-not-found", "--wait=true"); err != nil && !strings.Contains(err.Error(), "NotFound") {
		return err
	}
	if err := k.Apply(ctx, manifest); err != nil {
		return err
	}
	return k.WaitPodsReady(ctx, ns, "app=testbox", 2*time.Minute)
}

func (d *demo) primaryNetwork(ctx context.Context) error {
	for _, c := range d.h.Clusters {
		k, err := d.cluster(c.Name)
		if err != nil {
			return err
		}
		if err := d.startPods(ctx, k, "demo", c.Nodes[:min(2, len(c.Nodes))], "", ""); err != nil {
			return err
		}
		out, err := k.Kubectl(ctx, "", "get", "pods", "-n", "demo", "-o", "wide")
		if err != nil {
			return err
		}
		d.show(fmt.Sprintf("switchboard lab kubectl %s -- get pods -n demo -o wide", c.Name), out)
		if len(c.Nodes) < 2 {
			continue
		}
		ip, err := k.PodIP(ctx, "demo", "pod2")
		if err != nil {
			return err
		}
		out, err = k.Exec(ctx, "demo", "pod1", "ping", "-c", "3", "-W", "2", ip)
		d.show(fmt.Sprintf("switchboard lab kubectl %s -- exec -n demo pod1 -- ping -c 3 %s", c.Name, ip), out)
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *demo) multus(ctx context.Context) error {
	c := d.h.Clusters[0]
	k, err := d.cluster(c.Name)
	if err != nil {
		return err
	}
	nad := `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata: {name: side, namespace: demo-multus}
spec:
  config: '{"cniVersion": "1.0.0", "name": "side", "type": "bridge", "bridge": "side0",
            "ipam": {"type": "host-local", "ranges": [[{"subnet": "172.31.77.0/24"}]]}}'
`
	d.say("a NetworkAttachmentDefinition using the reference bridge plugin, and a pod that names it:")
	d.show("cat side-nad.yaml", nad)
	if err := d.startPods(ctx, k, "demo-multus", c.Nodes[:1], "k8s.v1.cni.cncf.io/networks: side", nad); err != nil {
		return err
	}
	out, err := k.Exec(ctx, "demo-multus", "pod1", "ip", "-o", "-4", "addr", "show")
	d.show(fmt.Sprintf("switchboard lab kubectl %s -- exec -n demo-multus pod1 -- ip -o -4 addr show", c.Name), out)
	if err != nil {
		return err
	}
	if !strings.Contains(out, "net1") {
		return fmt.Errorf("pod1 has no net1 interface")
	}
	d.say("eth0 comes from the primary network, net1 from Multus and the NetworkAttachmentDefinition.")
	return nil
}

func (d *demo) wan(ctx context.Context) error {
	if len(d.h.Clusters) < 2 {
		d.say("(one cluster: no WAN to show)")
		return nil
	}
	a, b := d.h.Clusters[0], d.h.Clusters[1]
	gwA, gwB := a.Nodes[0], b.Nodes[0]
	d.say("%s and %s are their clusters' gateway nodes, on the WAN %s", gwA.Name, gwB.Name, lab.WANPrefix)
	cmd, err := d.h.ExecCmd(ctx, a.Name+"/node1", "ping", "-c", "2", "-W", "2", gwB.WANIP.String())
	if err != nil {
		return err
	}
	out, err := cmd.CombinedOutput()
	d.show(fmt.Sprintf("switchboard lab exec %s/node1 -- ping -c 2 %s", a.Name, gwB.WANIP), string(out))
	if err != nil {
		return fmt.Errorf("gateway %s cannot reach gateway %s over the WAN: %w", gwA.Name, gwB.Name, err)
	}
	if len(a.Nodes) > 1 {
		cmd, err := d.h.ExecCmd(ctx, a.Name+"/node2", "ping", "-c", "1", "-W", "1", gwB.WANIP.String())
		if err != nil {
			return err
		}
		out, err := cmd.CombinedOutput()
		d.show(fmt.Sprintf("switchboard lab exec %s/node2 -- ping -c 1 %s", a.Name, gwB.WANIP), string(out))
		if err == nil {
			return fmt.Errorf("%s, not a gateway, reached the WAN", a.Nodes[1].Name)
		}
		d.say("as designed: the other nodes reach only the IDCO (%s), through their gateway; inter-cluster traffic has to go through the edges (next act).", lab.IDCOAddr.Addr())
	}
	return nil
}
