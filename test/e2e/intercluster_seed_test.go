//go:build e2e

package e2e

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"switchboard/internal/lab"
	"switchboard/internal/lab/kube"
)

// seedNAD is seed 000's inter-cluster NetworkAttachmentDefinition as
// written, "#" comments included, with its placeholders <idco-name> and
// <domain-name> filled.
var seedNAD = `apiVersion: "k8s.cni.cncf.io/v1"
kind: NetworkAttachmentDefinition
metadata:
  name: sample-inter-network
spec:
  config: '{
      "cniVersion": "0.3.0",
      "type": "l2sm",
      "device": "l2sm-vNet",
      "kind": {
        "ext-vnet": {
          "provider": {
            "name": "` + lab.IDCOProvider + `",
            "domain": "` + lab.IDCOAddr.String() + `"
          },
          "accessList": [ # no tiene porq ser así. Dejar en abierto.
            # {
            #   "user": "<username-1>",
            #   "public-key": "<public-key-1>"
            # },
            # {
            #   "user": "<username-2>",
            #   "public-key": "<public-key-2>"
            # },
            # {
            #   "user": "<username-3>",
            #   "public-key": "<public-key-3>"
            # } 
          ]
        }
      }
    }'
`

// seedSecret is the seed's Secret, <firma> filled with a signed token.
const seedSecret = `apiVersion: v1
kind: Secret
metadata:
  name: sample-one-authorization-key
type: Opaque
data:
  public-key.pem: %s
`

// seedPod is the seed's Pod. Changed, because this machine has no
// registry and busybox's default command exits at once: the image (the
// lab's testbox, which has busybox's ping), its command, NET_ADMIN so that
// it can address its interface on the pure-L2 network, and a node, so
// that the traffic crosses nodes and clusters. The networks annotation and
// the secret volume are as written.
const seedPod = `apiVersion: v1
kind: Pod
metadata:
  name: mypod
  annotations:
    k8s.v1.cni.cncf.io/networks: "sample-inter-network"
spec:
  nodeName: %s
  containers:
  - name: ping
    image: ` + lab.TestboxImage + `
    imagePullPolicy: Never
    args: [netcheck, serve]
    securityContext: {capabilities: {add: [NET_ADMIN]}}
  volumes:
  - name: authorization-key-volume
    secret:
      secretName: sample-one-authorization-key
`

// TestSeedInterClusterObjects: seed 000's example objects work as written.
// The access list is left open (it is all comments), so the IDCO's
// permissions decide: the user is registered there and granted the network.
func TestSeedInterClusterObjects(t *testing.T) {
	ctx := testContext(t, 8*time.Minute)
	a, b := cluster(t, "a"), cluster(t, "b")
	const ns = "icseed"
	user := newUser(t, ctx, "seed-user")
	user.register(t, ctx)
	idcoAdmin(t, ctx, "grant", "seed-user", "sample-inter-network")
	tok := strings.TrimSpace(switchboard(t, ctx, "token", "sign", "--network", "sample-inter-network",
		"--user", "seed-user", "--key", user.dir+"/seed-user.key", "-o", "raw"))
	for _, k := range []*kube.Cluster{a, b} {
		setupNetworks(t, ctx, k, ns)
		objects := seedNAD + "---\n" + fmt.Sprintf(seedSecret, base64.StdEncoding.EncodeToString([]byte(tok))) +
			"---\n" + fmt.Sprintf(seedPod, k.Name+"-node2")
		if _, err := k.Kubectl(ctx, objects, "apply", "-n", ns, "-f", "-"); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []*kube.Cluster{a, b} {
		ev := waitEvent(t, ctx, k, ns, "sample-inter-network", "ConfigCommentsRemoved")
		t.Logf("%s: NAD: %s", k.Name, ev)
		t.Logf("%s: %s", k.Name, waitCondition(t, ctx, k, ns, "sample-inter-network", "Ready", "Registered"))
		if _, err := k.Kubectl(ctx, "", "wait", "-n", ns, "pod/mypod", "--for=condition=Ready", "--timeout=3m"); err != nil {
			out, _ := k.Kubectl(ctx, "", "get", "events", "-n", ns)
			t.Fatalf("%s: mypod not Ready: %v\n%s", k.Name, err, out)
		}
	}
	// The seed's NAD has no IPAM: the network is pure L2. Give each pod an
	// address, as a user of an L2 network would.
	for i, k := range []*kube.Cluster{a, b} {
		if out, err := k.Exec(ctx, ns, "mypod", "ip", "addr", "add", fmt.Sprintf("10.201.0.%d/24", i+1), "dev", "net1"); err != nil {
			t.Fatalf("%s: %v\n%s", k.Name, err, out)
		}
	}
	// Ready pods do not mean the edges have their tunnel yet (the IDCO
	// hands the peers out by long poll): wait for the first answer.
	d := waitPing(t, ctx, a, ns, "mypod", "10.201.0.2", 90*time.Second)
	t.Logf("mypod in a -> mypod in b: first answer after %s", d.Round(time.Millisecond))
	waitEvent(t, ctx, b, ns, "mypod", "NetworkAuthorized", `user "seed-user" authorized`)
}
