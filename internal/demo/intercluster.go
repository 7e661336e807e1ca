package demo

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"switchboard/internal/lab"
	"switchboard/internal/lab/kube"
)

// The inter-cluster act tells seed 000's story: one network in both
// clusters, registered with the lab's IDCO; a user's key and signed token;
// authorized pods on both sides that reach each other through the edges;
// a forged token refused; the key revoked and the pods cut off.

const interNS, interNet = "demo-inter", "sample-inter-network"

// run runs a command of the project (the switchboard binary itself, or
// one from the lab) and shows it as typed.
func (d *demo) run(shown string, cmd *exec.Cmd) (string, error) {
	out, err := cmd.CombinedOutput()
	d.show(shown, string(out))
	if err != nil {
		return string(out), fmt.Errorf("%s: %w", shown, err)
	}
	return string(out), nil
}

func (d *demo) self(ctx context.Context, args ...string) *exec.Cmd {
	exe, _ := os.Executable()
	return exec.CommandContext(ctx, exe, args...)
}

func (d *demo) interCluster(ctx context.Context) error {
	if len(d.h.Clusters) < 2 {
		d.say("(one cluster: nothing to join)")
		return nil
	}
	ca, cb := d.h.Clusters[0], d.h.Clusters[1]
	a, err := d.cluster(ca.Name)
	if err != nil {
		return err
	}
	b, err := d.cluster(cb.Name)
	if err != nil {
		return err
	}
	keys := filepath.Join(d.h.Dir, "demo", "keys")
	d.say("the IDCO %s serves on the WAN at %s; each operator runs with --inter-cluster, each gateway runs switchboard-edge:", lab.IDCOProvider, lab.IDCOAddr)
	out, err := a.Kubectl(ctx, "", "get", "pods", "-n", "switchboard-system", "-l", "app=switchboard-edge", "-o", "wide")
	d.show("switchboard lab kubectl a -- get pods -n switchboard-system -l app=switchboard-edge -o wide", out)
	if err != nil {
		return err
	}

	d.say("alice makes a key pair on her machine; the IDCO's admin registers her public key:")
	for _, u := range []string{"alice", "mallory"} {
		if _, err := d.run("switchboard keys new --user "+u, d.self(ctx, "keys", "new", "--user", u, "--dir", keys, "--force")); err != nil {
			return err
		}
	}
	if _, err := d.run("switchboard lab idco admin -- user-add alice", d.h.IDCOAdminCmd(ctx, "user-add", "alice")); err != nil {
		return err
	}
	fp, err := d.run("switchboard lab idco admin -- key-add alice --pub alice.pub", d.h.IDCOAdminCmd(ctx, "key-add", "alice", "--pub", filepath.Join(keys, "alice.pub")))
	if err != nil {
		return err
	}

	d.say("the network's owner creates %s in both clusters at once, alice on the access lists, each cluster its own address range:", interNet)
	kc := d.h.HostKubeconfig()
	args := []string{"network", "create", interNet, "--contexts", ca.Name + "," + cb.Name, "-n", interNS,
		"--type", "ext-vnet", "--provider-name", lab.IDCOProvider, "--provider-domain", lab.IDCOAddr.String(),
		"--cidr", "10.200.0.0/24", "--range", ca.Name + ":10.200.0.10-10.200.0.99", "--range", cb.Name + ":10.200.0.110-10.200.0.199",
		"--access-list", "alice=" + filepath.Join(keys, "alice.pub")}
	for _, k := range []*kube.Cluster{a, b} {
		if err := k.Apply(ctx, fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", interNS)); err != nil {
			return err
		}
	}
	if _, err := d.run("switchboard network create "+strings.Join(args[2:], " ")+" --kubeconfig $(switchboard lab kubeconfig)",
		d.self(ctx, append(args, "--kubeconfig", kc)...)); err != nil {
		return err
	}
	d.say("alice signs a token and stores it as a Secret in both clusters, then starts a pod on each side:")
	token, err := d.self(ctx, "token", "sign", "--network", interNet, "--user", "alice", "--key", filepath.Join(keys, "alice.key"), "-n", interNS, "--name", "alice-token").Output()
	if err != nil {
		return fmt.Errorf("token sign: %w", err)
	}
	d.say("$ switchboard token sign --network %s --user alice -n %s --name alice-token | switchboard lab kubectl a -- apply -f -", interNet, interNS)
	pod := func(name string, n lab.Node, secret string) string {
		m := kube.TestboxPods(interNS, []lab.Node{n}, fmt.Sprintf("k8s.v1.cni.cncf.io/networks: %s, switchboard.dev/token-secret: %s", interNet, secret))
		_, m, _ = strings.Cut(m, "---\n")
		return strings.Replace(m, "name: pod1", "name: "+name, 1)
	}
	for i, k := range []*kube.Cluster{a, b} {
		c := d.h.Clusters[i]
		if _, err := k.Kubectl(ctx, "", "delete", "pods", "-n", interNS, "--all", "--wait=true"); err != nil {
			return err
		}
		if err := k.Apply(ctx, string(token)+"---\n"+pod("alice-"+c.Name, c.Nodes[len(c.Nodes)-1], "alice-token")); err != nil {
			return err
		}
	}
	for _, k := range []*kube.Cluster{a, b} {
		if err := k.WaitPodsReady(ctx, interNS, "app=testbox", 2*time.Minute); err != nil {
			return err
		}
	}
	out, _ = a.Kubectl(ctx, "", "get", "events", "-n", interNS, "--field-selector", "reason=NetworkAuthorized", "-o", "custom-columns=POD:.involvedObject.name,MESSAGE:.message")
	d.show("switchboard lab kubectl a -- get events -n demo-inter --field-selector reason=NetworkAuthorized", out)
	ipB, err := firstIP(ctx, b, "alice-"+cb.Name)
	if err != nil {
		return err
	}
	out, err = a.Exec(ctx, interNS, "alice-"+ca.Name, "ping", "-c", "3", "-W", "2", "-I", "net1", ipB)
	d.show(fmt.Sprintf("switchboard lab kubectl a -- exec -n %s alice-a -- ping -c 3 -I net1 %s   # a pod in cluster b", interNS, ipB), out)
	if err != nil {
		return fmt.Errorf("alice's pods do not reach each other across the clusters: %w", err)
	}

	if _, err := d.run(fmt.Sprintf("switchboard network status %s --contexts %s,%s -n %s --kubeconfig $(switchboard lab kubeconfig)", interNet, ca.Name, cb.Name, interNS),
		d.self(ctx, "network", "status", interNet, "--contexts", ca.Name+","+cb.Name, "-n", interNS, "--kubeconfig", kc)); err != nil {
		return err
	}

	d.say("mallory signs a token in alice's name with her own key; the operator refuses her pod:")
	forged, err := d.self(ctx, "token", "sign", "--network", interNet, "--user", "alice", "--key", filepath.Join(keys, "mallory.key"), "-n", interNS, "--name", "mallory-token").Output()
	if err != nil {
		return fmt.Errorf("token sign: %w", err)
	}
	if err := a.Apply(ctx, string(forged)+"---\n"+strings.Replace(pod("mallory", ca.Nodes[len(ca.Nodes)-1], "mallory-token"), "app: testbox", "app: refused", 1)); err != nil {
		return err
	}
	if out, err = waitReason(ctx, a, "mallory", "NetworkAuthorizationRefused"); err != nil {
		return err
	}
	d.show("switchboard lab kubectl a -- get events -n demo-inter --field-selector involvedObject.name=mallory,reason=NetworkAuthorizationRefused", out)

	if err := d.topology(ctx, ca.Name+","+cb.Name, kc); err != nil {
		return err
	}

	d.say("the IDCO's admin revokes alice's key; her pods lose the network within seconds:")
	if _, err := d.run("switchboard lab idco admin -- key-revoke "+strings.TrimSpace(fp), d.h.IDCOAdminCmd(ctx, "key-revoke", strings.TrimSpace(fp))); err != nil {
		return err
	}
	if out, err = waitReason(ctx, a, "alice-"+ca.Name, "NetworkAccessRevoked"); err != nil {
		return err
	}
	d.show("switchboard lab kubectl a -- get events -n demo-inter --field-selector involvedObject.name=alice-a,reason=NetworkAccessRevoked", out)
	out, err = a.Exec(ctx, interNS, "alice-"+ca.Name, "ping", "-c", "2", "-W", "1", "-I", "net1", ipB)
	d.show(fmt.Sprintf("switchboard lab kubectl a -- exec -n %s alice-a -- ping -c 2 -I net1 %s", interNS, ipB), out)
	if err == nil {
		return fmt.Errorf("alice's pod still reaches cluster b after the revocation")
	}
	d.say("cut off (the e2e test measures it: well under the 5 s target); the IDCO's audit log has every decision: switchboard lab idco admin -- audit")
	return nil
}

// topology shows the network's topology across contexts (as text) and
// writes it as SVG into the lab's demo directory.
func (d *demo) topology(ctx context.Context, contexts, kubeconfig string) error {
	d.say("the network's topology: both clusters, their nodes and pods, the gateways and the tunnel between them:")
	args := []string{"network", "topology", interNet, "--contexts", contexts, "-n", interNS, "--kubeconfig", kubeconfig}
	if _, err := d.run(fmt.Sprintf("switchboard network topology %s --contexts %s -n %s --kubeconfig $(switchboard lab kubeconfig)", interNet, contexts, interNS),
		d.self(ctx, args...)); err != nil {
		return err
	}
	svg, err := d.self(ctx, append(args, "-o", "svg")...).Output()
	if err != nil {
		return fmt.Errorf("switchboard network topology -o svg: %w", err)
	}
	path := filepath.Join(d.h.Dir, "demo", "topology.svg")
	if err := os.WriteFile(path, svg, 0o644); err != nil {
		return err
	}
	d.say("the same as a picture: switchboard network topology ... -o svg > %s", path)
	return nil
}

// firstIP is the address of a demo-inter pod's net1.
func firstIP(ctx context.Context, k *kube.Cluster, pod string) (string, error) {
	st, err := k.NetworkStatus(ctx, interNS, pod)
	if err != nil {
		return "", err
	}
	for _, s := range st {
		if s.Interface == "net1" && len(s.IPs) > 0 {
			return strings.Split(s.IPs[0], "/")[0], nil
		}
	}
	return "", fmt.Errorf("pod %s has no address on net1", pod)
}

// waitReason waits for an event with reason on a demo-inter pod and
// returns the events, as a table. Events of an earlier pod of the same
// name (an earlier run) do not count.
func waitReason(ctx context.Context, k *kube.Cluster, pod, reason string) (string, error) {
	uid, err := k.Kubectl(ctx, "", "get", "pod", "-n", interNS, pod, "-o", "jsonpath={.metadata.uid}")
	if err != nil {
		return "", err
	}
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		out, err := k.Kubectl(ctx, "", "get", "events", "-n", interNS, "--field-selector", "involvedObject.uid="+uid+",reason="+reason,
			"-o", "custom-columns=REASON:.reason,MESSAGE:.message")
		if err == nil && strings.Contains(out, reason) {
			return out, nil
		}
	}
	return "", fmt.Errorf("no %s event on pod %s within 90 s", reason, pod)
}
