package operator

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"switchboard/api/v1alpha1"
)

func TestNetworkSpecFromConfig(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		want    v1alpha1.NetworkSpec
		notOurs bool
		err     string
	}{
		{name: "seed intra-cluster", config: `{"cniVersion":"0.3.0","type":"l2sm","device":"l2sm-vNet"}`,
			want: v1alpha1.NetworkSpec{Type: v1alpha1.VNet}},
		{name: "seed ext-vnet",
			config: `{"cniVersion":"0.3.0","type":"l2sm","device":"l2sm-vNet","kind":{"ext-vnet":{"provider":{"name":"idco","domain":"example"},"accessList":[]}}}`,
			want:   v1alpha1.NetworkSpec{Type: v1alpha1.ExtVNet, Provider: &v1alpha1.Provider{Name: "idco", Domain: "example"}}},
		{name: "seed ext-vnet with an access list",
			config: `{"type":"l2sm","kind":{"ext-vnet":{"provider":{"name":"idco","domain":"idco.example:8443"},"accessList":[{"user":"alice","public-key":"-----BEGIN PUBLIC KEY-----\nMCow\n-----END PUBLIC KEY-----\n"}]}}}`,
			want: v1alpha1.NetworkSpec{Type: v1alpha1.ExtVNet, Provider: &v1alpha1.Provider{Name: "idco", Domain: "idco.example:8443"},
				AccessList: []v1alpha1.AccessEntry{{User: "alice", PublicKey: "-----BEGIN PUBLIC KEY-----\nMCow\n-----END PUBLIC KEY-----\n"}}}},
		{name: "seed ext-vnet without provider", config: `{"type":"l2sm","kind":{"ext-vnet":{"accessList":[]}}}`,
			err: `"kind.ext-vnet.provider" needs "name" and "domain"`},
		{name: "vlink", config: `{"type":"l2sm","kind":{"vlink":{"overlay-parameters":{}}}}`,
			want: v1alpha1.NetworkSpec{Type: v1alpha1.VLink}},
		{name: "switchboard type with ipam", config: `{"type":"switchboard","kind":null,"ipam":{"cidr":"10.1.0.0/24","gateway":"10.1.0.1","exclude":["10.1.0.9"],"ranges":[{"rangeStart":"10.1.0.10","rangeEnd":"10.1.0.20"}]}}`,
			want: v1alpha1.NetworkSpec{Type: v1alpha1.VNet, IPAM: &v1alpha1.IPAM{CIDR: "10.1.0.0/24", Gateway: "10.1.0.1",
				Exclude: []string{"10.1.0.9"}, Ranges: []v1alpha1.IPRange{{Start: "10.1.0.10", End: "10.1.0.20"}}}}},
		{name: "subnet", config: `{"type":"l2sm","ipam":{"subnet":"fd00::/64"}}`,
			want: v1alpha1.NetworkSpec{Type: v1alpha1.VNet, IPAM: &v1alpha1.IPAM{CIDR: "fd00::/64"}}},
		{name: "another plugin", config: `{"cniVersion":"1.0.0","type":"macvlan","master":"eth0"}`, notOurs: true},
		{name: "no type", config: `{"cniVersion":"1.0.0","plugins":[]}`, notOurs: true},
		{name: "not JSON", config: `{"type":"l2sm",`, notOurs: true, err: "spec.config is not a JSON object: unexpected end of JSON input"},
		{name: "JSON but not an object", config: `["l2sm"]`, notOurs: true, err: "spec.config is not a JSON object"},
		{name: "type not a string", config: `{"type":7}`, notOurs: true, err: `spec.config: "type" must be a string such as "l2sm"`},
		{name: "kind not an object", config: `{"type":"l2sm","kind":"vnet"}`, err: `spec.config: "kind" must be an object such as {"ext-vnet": {...}}`},
		{name: "unknown kind", config: `{"type":"l2sm","kind":{"mesh":{}}}`, err: `"kind" must hold exactly one of "vnet", "vlink" or "ext-vnet", not "mesh"`},
		{name: "two kinds", config: `{"type":"l2sm","kind":{"vnet":{},"vlink":{}}}`, err: `not "vlink", "vnet"`},
		{name: "ipam not an object", config: `{"type":"l2sm","ipam":"10.0.0.0/24"}`, err: `spec.config: "ipam" must be an object`},
		{name: "ipam without cidr", config: `{"type":"l2sm","ipam":{"type":"static"}}`, err: `"ipam" needs "cidr" (or "subnet")`},
		{name: "range without end", config: `{"type":"l2sm","ipam":{"cidr":"10.0.0.0/24","ranges":[{"start":"10.0.0.1"}]}}`, err: `"ipam.ranges[0]" needs "start" and "end"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, ours, err := NetworkSpecFromConfig(tt.config)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ours == tt.notOurs {
				t.Fatalf("ours = %v, want %v", ours, !tt.notOurs)
			}
			if ours && !reflect.DeepEqual(spec, tt.want) {
				t.Errorf("spec\n got: %+v %+v\nwant: %+v %+v", spec, spec.IPAM, tt.want, tt.want.IPAM)
			}
		})
	}
}

func TestDeferredMessage(t *testing.T) {
	att := func(ns, pod string) v1alpha1.Attachment {
		return v1alpha1.Attachment{Spec: v1alpha1.AttachmentSpec{Pod: v1alpha1.PodRef{Namespace: ns, Name: pod}}}
	}
	few := []v1alpha1.Attachment{att("b", "web"), att("a", "db"), att("b", "web")} // web has two interfaces
	want := "deletion deferred: 2 pod(s) still attached: a/db, b/web; delete those pods first"
	if got := deferredMessage(few); !strings.HasPrefix(got, want) {
		t.Errorf("deferredMessage = %q, want it to start with %q", got, want)
	}
	var many []v1alpha1.Attachment
	for i := range 13 {
		many = append(many, att("ns", fmt.Sprintf("p%02d", i)))
	}
	got := deferredMessage(many)
	if !strings.Contains(got, "13 pod(s) still attached: ns/p00, ") || !strings.Contains(got, "ns/p09 and 3 more;") || strings.Contains(got, "ns/p10") {
		t.Errorf("deferredMessage of 13 pods = %q, want 10 named and 3 more", got)
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes("pods", " 10.244.0.0/16, fd00:10::/56 ,,")
	if err != nil {
		t.Fatal(err)
	}
	want := []ReservedPrefix{{netip.MustParsePrefix("10.244.0.0/16"), "pods"}, {netip.MustParsePrefix("fd00:10::/56"), "pods"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParsePrefixes = %v, want %v", got, want)
	}
	if got, err := ParsePrefixes("pods", ""); err != nil || got != nil {
		t.Errorf(`ParsePrefixes("") = %v, %v; want none`, got, err)
	}
	if _, err := ParsePrefixes("the cluster's pod CIDR (--cluster-cidr)", "10.244.0.0/16,10.0.0.0/40"); err == nil ||
		err.Error() != `the cluster's pod CIDR (--cluster-cidr): "10.0.0.0/40" is not a CIDR (e.g. 10.244.0.0/16)` {
		t.Errorf("ParsePrefixes(bad) error = %v", err)
	}
}

func TestNADConfig(t *testing.T) {
	net := &v1alpha1.Network{}
	net.Namespace, net.Name = "team-a", "red"
	want := `{"cniVersion":"1.0.0","name":"red","type":"switchboard","network":"team-a/red","capabilities":{"ips":true,"mac":true,"bandwidth":true}}`
	if got := NADConfig(net); got != want {
		t.Errorf("NADConfig\n got: %s\nwant: %s", got, want)
	}
}
