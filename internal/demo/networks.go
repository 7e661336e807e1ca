package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"switchboard/internal/lab/kube"
)

const networksManifest = `apiVersion: switchboard.dev/v1alpha1
kind: Network
metadata: {name: red, namespace: demo-networks}
spec:
  type: vnet
  ipam: {cidr: 10.50.0.0/24}
---
apiVersion: switchboard.dev/v1alpha1
kind: Network
metadata: {name: blue, namespace: demo-networks}
spec:
  type: vnet
  ipam: {cidr: 10.50.0.0/24}   # the same addresses: only the data plane keeps them apart
`

// switchboardNetworks shows two Switchboard networks with the same CIDR:
// red pods on two nodes reach each other, a blue pod reaches neither.
func (d *demo) switchboardNetworks(ctx context.Context) error {
	c := d.h.Clusters[0]
	if len(c.Nodes) < 2 {
		d.say("(one node: nothing crosses nodes to show)")
		return nil
	}
	k, err := d.cluster(c.Name)
	if err != nil {
		return err
	}
	d.say("two Networks, red and blue, with the same CIDR:")
	d.show("cat networks.yaml", networksManifest)
	if err := k.Apply(ctx, "apiVersion: v1\nkind: Namespace\nmetadata: {name: demo-networks}\n---\n"+networksManifest); err != nil {
		return err
	}
	if _, err := k.Kubectl(ctx, "", "wait", "-n", "demo-networks", "--for=condition=Ready", "networks", "--all", "--timeout=60s"); err != nil {
		return err
	}
	red := kube.TestboxPods("demo-networks", c.Nodes[:2], "k8s.v1.cni.cncf.io/networks: red")
	blue := strings.ReplaceAll(kube.TestboxPods("demo-networks", c.Nodes[:1], "k8s.v1.cni.cncf.io/networks: blue"), "name: pod1", "name: blue1")
	if _, err := k.Kubectl(ctx, "", "delete", "pods", "-n", "demo-networks", "--all", "--wait=true"); err != nil {
		return err
	}
	if err := k.Apply(ctx, red+"---\n"+blue); err != nil {
		return err
	}
	if err := k.WaitPodsReady(ctx, "demo-networks", "app=testbox", 2*time.Minute); err != nil {
		return err
	}
	out, err := k.Kubectl(ctx, "", "get", "networks,attachments", "-n", "demo-networks")
	if err != nil {
		return err
	}
	d.say("the operator gave each network a VNI; each pod interface is an Attachment (its address is its name):")
	d.show(fmt.Sprintf("switchboard lab kubectl %s -- get networks,attachments -n demo-networks", c.Name), out)
	red2, err := attachmentIP(ctx, k, "pod2", "red")
	if err != nil {
		return err
	}
	out, err = k.Exec(ctx, "demo-networks", "pod1", "ping", "-c", "3", "-W", "2", "-I", "net1", red2)
	d.show(fmt.Sprintf("switchboard lab kubectl %s -- exec -n demo-networks pod1 -- ping -c 3 -I net1 %s   # red -> red, across nodes", c.Name, red2), out)
	if err != nil {
		return err
	}
	out, err = k.Exec(ctx, "demo-networks", "pod1", "netcheck", "send", "--bytes", "10485760", red2+":5001")
	d.show(fmt.Sprintf("switchboard lab kubectl %s -- exec -n demo-networks pod1 -- netcheck send --bytes 10485760 %s:5001", c.Name, red2), out)
	if err != nil {
		return err
	}
	out, err = k.Exec(ctx, "demo-networks", "blue1", "ping", "-c", "2", "-W", "1", "-I", "net1", red2)
	d.show(fmt.Sprintf("switchboard lab kubectl %s -- exec -n demo-networks blue1 -- ping -c 2 -I net1 %s   # blue -> red", c.Name, red2), out)
	if err == nil {
		return fmt.Errorf("blue1 reached red pod2: the networks are not isolated")
	}
	d.say("as designed: blue1 is on another network and cannot reach red, although the addresses overlap.")
	return nil
}

// attachmentIP returns the address of pod's attachment to network.
func attachmentIP(ctx context.Context, k *kube.Cluster, pod, network string) (string, error) {
	st, err := k.NetworkStatus(ctx, "demo-networks", pod)
	if err != nil {
		return "", err
	}
	for _, s := range st {
		if s.Name == "demo-networks/"+network && len(s.IPs) > 0 {
			return s.IPs[0], nil
		}
	}
	return "", fmt.Errorf("pod %s has no address on %s", pod, network)
}
