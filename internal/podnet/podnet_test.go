package podnet

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestNetworks(t *testing.T) {
	for _, tc := range []struct {
		name, ann string
		want      []Ref
		err       bool
	}{
		{"empty", "", nil, false},
		{"name", "blue", []Ref{{"p", "blue"}}, false},
		{"short list", "blue, q/red@r1,blue@b2", []Ref{{"p", "blue"}, {"q", "red"}}, false},
		{"json", `[{"name":"blue"},{"name":"red","namespace":"q","ips":["10.0.0.1/24"]}]`, []Ref{{"p", "blue"}, {"q", "red"}}, false},
		{"json without name", `[{"namespace":"q"}]`, nil, true},
		{"bad json", `[{"name":`, nil, true},
		{"empty item", "blue,,red", nil, true},
	} {
		got, err := Networks(tc.ann, "p")
		if (err != nil) != tc.err || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Networks(%q) = %v, %v; want %v, error %v", tc.name, tc.ann, got, err, tc.want, tc.err)
		}
	}
}

func TestParseKeepsRequests(t *testing.T) {
	got, err := Parse(`q/seed@s1`)
	want := []Selection{{Name: "seed", Namespace: "q", Interface: "s1"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Parse = %+v, %v; want %+v", got, err, want)
	}
}

func TestInterfaceNameAndParseIPs(t *testing.T) {
	if got := (Selection{Name: "a"}).InterfaceName(2); got != "net3" {
		t.Fatalf("default name of the third selection: %q, want net3 (Multus's)", got)
	}
	if got := (Selection{Name: "a", Interface: "x"}).InterfaceName(2); got != "x" {
		t.Fatalf("named interface: %q", got)
	}
	ips, err := ParseIPs([]string{" 10.0.0.7/24", "10.0.0.8", "fd00::1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "[10.0.0.7/24 10.0.0.8/32 fd00::1/128]"; fmt.Sprint(ips) != want {
		t.Fatalf("ParseIPs: %v, want %s", ips, want)
	}
	if _, err := ParseIPs([]string{"ten.0.0.1"}); err == nil || !strings.Contains(err.Error(), `"ten.0.0.1"`) {
		t.Fatalf("a bad address: %v", err)
	}
}

func TestParseBandwidth(t *testing.T) {
	sels, err := Parse(`[{"name":"red","bandwidth":{"ingressRate":100000000,"egressRate":50000000,"egressBurst":400000}}]`)
	if err != nil {
		t.Fatal(err)
	}
	if b := sels[0].Bandwidth; b == nil || b.IngressRate != 100_000_000 || b.EgressRate != 50_000_000 || b.EgressBurst != 400_000 {
		t.Fatalf("bandwidth %+v", sels[0].Bandwidth)
	}
	for _, tc := range []struct{ v, want string }{
		{`[{"name":"red","bandwidth":{"ingressRate":"100M"}}]`, "bandwidth.ingressRate must be a number (bits per second"},
		{`[{"name":"red","bandwidth":{"ingressRate":-1}}]`, "element 0 (red): bandwidth.ingressRate -1 is negative"},
		{`[{"name":"red","bandwidth":{"egressRate":0.5}}]`, "bandwidth.egressRate must be a number"},
		{`[{"name":"red","bandwidth":{"egressRate":99999999999999999999}}]`, "bandwidth.egressRate must be a number"},
		{`[{"name":"red","bandwidth":{"egressRate":1000000000000}}]`, "above the maximum"},
		{`[{"name":"red","bandwidth":{"ingressBurst":100000}}]`, "without a rate"},
		{`[{"name":"red","bandwidth":"fast"}]`, "is not valid JSON"},
	} {
		if _, err := Parse(tc.v); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s): %v, want an error with %q", tc.v, err, tc.want)
		}
	}
}
