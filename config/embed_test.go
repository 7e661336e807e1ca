package config

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestManifestsParseAsYAML(t *testing.T) {
	ic := &InterCluster{
		ClusterName: "a", EdgeNode: "a-node1", GatewayLabel: "lab.switchboard.dev/gateway=true", WANDevice: "wan0",
		Providers: []Provider{{Name: "lab-idco", Address: "198.19.0.1:8443"}, {Name: "other", Address: "idco.example:443"}},
	}
	for _, tc := range []struct {
		name string
		p    Params
		want []string
		not  []string
	}{
		{"intra-cluster", Params{ClusterCIDR: "10.10.0.0/16", ServiceCIDR: "10.96.0.0/16"},
			[]string{"--cluster-cidr=10.10.0.0/16", "--service-cidr=10.96.0.0/16"},
			[]string{"--inter-cluster", "app: switchboard-edge", "idco-certs"}},
		{"inter-cluster", Params{ClusterCIDR: "10.10.0.0/16", ServiceCIDR: "10.96.0.0/16", InterCluster: ic},
			[]string{"--inter-cluster", "--cluster-name=a", "--edge-node=a-node1", "--provider=lab-idco=198.19.0.1:8443",
				"--provider=other=idco.example:443", "--wan-device=wan0", `lab.switchboard.dev/gateway: "true"`,
				"{key: lab-idco.tls.key, path: lab-idco/tls.key}", "{key: other.ca.crt, path: other/ca.crt}",
				"--allowed-providers=lab-idco=198.19.0.1:8443,other=idco.example:443"},
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Manifests(tc.p)
			if err != nil {
				t.Fatal(err)
			}
			for _, doc := range strings.Split(out, "\n---\n") {
				var v map[string]any
				if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
					t.Fatalf("a document does not parse: %v\n%s", err, doc)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("manifests lack %q", w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(out, w) {
					t.Errorf("manifests contain %q", w)
				}
			}
		})
	}
}

func TestManifestsRejectBadInterClusterSettings(t *testing.T) {
	good := InterCluster{ClusterName: "a", EdgeNode: "a-node1", GatewayLabel: "gw=true", WANDevice: "wan0",
		Providers: []Provider{{Name: "p", Address: "h:1"}}}
	for name, mutate := range map[string]func(*InterCluster){
		"cluster name": func(ic *InterCluster) { ic.ClusterName = "A B" },
		"edge node":    func(ic *InterCluster) { ic.EdgeNode = "" },
		"label":        func(ic *InterCluster) { ic.GatewayLabel = "gw" },
		"wan":          func(ic *InterCluster) { ic.WANDevice = "" },
		"no provider":  func(ic *InterCluster) { ic.Providers = nil },
		"provider":     func(ic *InterCluster) { ic.Providers = []Provider{{Name: "P!", Address: "h:1"}} },
		"dotted":       func(ic *InterCluster) { ic.Providers = []Provider{{Name: "p.q", Address: "h:1"}} },
	} {
		ic := good
		mutate(&ic)
		if _, err := Manifests(Params{ClusterCIDR: "10.0.0.0/16", ServiceCIDR: "10.1.0.0/16", InterCluster: &ic}); err == nil || !strings.Contains(err.Error(), "inter-cluster") {
			t.Errorf("%s: err = %v, want an inter-cluster error", name, err)
		}
	}
}
