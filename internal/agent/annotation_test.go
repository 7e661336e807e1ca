package agent

import (
	"reflect"
	"testing"

	"switchboard/internal/podnet"
)

func TestSelectionFor(t *testing.T) {
	for _, tc := range []struct {
		name, ann, nadNS, nad, ifName string
		want                          podnet.Selection
		found                         bool
	}{
		{"json with ips", `[{"name":"seed","ips":["10.70.0.1/24"]}]`, "p", "seed", "net1", podnet.Selection{Name: "seed", IPs: []string{"10.70.0.1/24"}}, true},
		{"json second gets net2", `[{"name":"a"},{"name":"seed","mac":"02:00:00:00:00:01"}]`, "p", "seed", "net2", podnet.Selection{Name: "seed", MAC: "02:00:00:00:00:01"}, true},
		{"json named interface", `[{"name":"seed","interface":"s0","ips":["10.0.0.1"]}]`, "p", "seed", "s0", podnet.Selection{Name: "seed", Interface: "s0", IPs: []string{"10.0.0.1"}}, true},
		{"json other namespace", `[{"name":"seed","namespace":"q"}]`, "q", "seed", "net1", podnet.Selection{Name: "seed", Namespace: "q"}, true},
		{"json wrong namespace", `[{"name":"seed","namespace":"q"}]`, "p", "seed", "net1", podnet.Selection{}, false},
		{"short form", `red, q/seed@s1`, "q", "seed", "s1", podnet.Selection{Name: "seed", Namespace: "q", Interface: "s1"}, true},
		{"absent", `red`, "p", "seed", "net1", podnet.Selection{}, false},
	} {
		sels, err := podnet.Parse(tc.ann)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, found := selectionFor(sels, "p", tc.nadNS, tc.nad, tc.ifName)
		if found != tc.found || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v %v, want %+v %v", tc.name, got, found, tc.want, tc.found)
		}
	}
	if _, err := podnet.Parse(`[{"name":`); err == nil {
		t.Error("malformed JSON accepted")
	}
}
