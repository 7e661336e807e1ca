package bgp

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/apiservertest"
)

// recorder is a fake Setter: it keeps the last Config set.
type recorder struct {
	mu   sync.Mutex
	last string
	n    int
}

func (r *recorder) Set(_ context.Context, cfg Config) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last, r.n = show(cfg), r.n+1
	return nil
}

func (r *recorder) wait(t *testing.T, what, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r.mu.Lock()
		got := r.last
		r.mu.Unlock()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: speaker config after %d sets:\n%s\nwant:\n%s", what, r.n, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReconcilerFollowsTheAPI runs the reconciler in a manager against a
// real API server: the speaker's config follows BGPPeers, their password
// Secret, BGPAdvertisements, Networks' members and the node's labels,
// change by change, with no restart.
func TestReconcilerFollowsTheAPI(t *testing.T) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, sbv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	srv := apiservertest.ForTest(t, scheme)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k8s, err := client.New(srv.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate := func(o client.Object) {
		t.Helper()
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}

	// The API refuses a peer that is not an IP address, naming the field.
	err = k8s.Create(ctx, &sbv1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "bad"}, Spec: sbv1.BGPPeerSpec{Address: "tor.example", ASN: 1, MyASN: 2}})
	if err == nil || !strings.Contains(err.Error(), "address must be an IP address") {
		t.Errorf("creating a BGPPeer with address tor.example: %v, want refused with \"address must be an IP address\"", err)
	}

	for _, ns := range []string{"switchboard-system", "red"} {
		mustCreate(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"rack": "a"}},
		Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24", PodCIDRs: []string{"10.244.1.0/24"}}}
	mustCreate(node)

	mgr, err := ctrl.NewManager(srv.Config, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0"})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	r := &Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Speaker: rec,
		NodeName: "n1", NodeIP: netip.MustParseAddr("198.18.1.11"), Namespace: "switchboard-system", Log: logr.Discard()}
	if err := r.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	rec.wait(t, "nothing configured", "")
	mustCreate(&sbv1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "tor"}, Spec: sbv1.BGPPeerSpec{
		Address: "198.18.1.1", ASN: 64600, MyASN: 64700,
		PasswordSecret: &sbv1.BGPSecretKey{Name: "tor-md5"},
		NodeSelector:   &metav1.LabelSelector{MatchLabels: map[string]string{"rack": "a"}},
	}})
	// The Secret is missing: the peer stays out (never without password).
	mustCreate(&sbv1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "pods"}, Spec: sbv1.BGPAdvertisementSpec{
		PodCIDRs: true, Networks: &sbv1.BGPNetworkSelector{Namespaces: []string{"red"}}, Communities: []string{"64512:100"},
	}})
	rec.wait(t, "the pod range; the peer waits for its Secret", "route 10.244.1.0/24 via 198.18.1.11 64512:100\n")

	mustCreate(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "switchboard-system", Name: "tor-md5"}, Data: map[string][]byte{"password": []byte("s3cret")}})
	mustCreate(&sbv1.Network{ObjectMeta: metav1.ObjectMeta{Namespace: "red", Name: "web"}, Spec: sbv1.NetworkSpec{IPAM: &sbv1.IPAM{CIDR: "10.50.0.0/24"}}})
	att := &sbv1.Attachment{ObjectMeta: metav1.ObjectMeta{Namespace: "red", Name: "web-10.50.0.5"}, Spec: sbv1.AttachmentSpec{
		Network: "web", Pod: sbv1.PodRef{Namespace: "red", Name: "p", UID: "u"}, Node: "n1", NodeIP: "198.18.1.11",
		ContainerID: "c", Interface: "net1", IPs: []string{"10.50.0.5/24"}}}
	mustCreate(att)
	peer := "peer tor 198.18.1.1:179 as 64600 my 64700 pw=\"s3cret\" [ipv4-unicast] hold 90 restart 120\n"
	rec.wait(t, "a member of red/web on the node, the Secret read", peer+
		"route 10.50.0.0/24 via 198.18.1.11 64512:100\nroute 10.244.1.0/24 via 198.18.1.11 64512:100\n")

	if err := k8s.Delete(ctx, att); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, "the network's last member on the node gone", peer+"route 10.244.1.0/24 via 198.18.1.11 64512:100\n")

	node.Labels["rack"] = "b"
	if err := k8s.Update(ctx, node); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, "the node moved out of the peer's selector", "route 10.244.1.0/24 via 198.18.1.11 64512:100\n")
}
