package operator

import "testing"

func TestStripComments(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		n        int
	}{
		{"{\"a\": 1} # end", "{\"a\": 1} ", 1},
		{"{\"a\": \"#not\"}", "{\"a\": \"#not\"}", 0},
		{"{\"a\": \"q\\\"#not\"}", "{\"a\": \"q\\\"#not\"}", 0},
		{"[1, # one\n # two\n 2]", "[1, \n \n 2]", 2},
		{"# only", "", 1},
	} {
		got, n := stripComments(tc.in)
		if got != tc.want || n != tc.n {
			t.Errorf("stripComments(%q) = %q, %d; want %q, %d", tc.in, got, n, tc.want, tc.n)
		}
	}
	if _, _, ok := uncomment(`{"type": "l2sm"}`); ok {
		t.Error("uncomment changed valid JSON")
	}
	if _, _, ok := uncomment("{\"type\": # x\n"); ok {
		t.Error("uncomment accepted what is not JSON without its comments either")
	}
	if clean, n, ok := uncomment("{\"type\": \"l2sm\" # x\n}"); !ok || n != 1 || clean != "{\"type\": \"l2sm\" \n}" {
		t.Errorf("uncomment = %q, %d, %v", clean, n, ok)
	}
}

// seedFolded is seed 000's spec.config as the API server gets it: YAML
// folds the lines of the single-quoted scalar into one.
const seedFolded = `{ "cniVersion": "0.3.0", "type": "l2sm", "device": "l2sm-vNet", "kind": { "ext-vnet": { "provider": { "name": "idco-#1", "domain": "198.19.0.1:8443" }, "accessList": [ # no tiene porq ser así. Dejar en abierto. # { #   "user": "<username-1>", #   "public-key": "<public-key-1>" # }, # { #   "user": "<username-2>", #   "public-key": "<public-key-2>" # }, # { #   "user": "<username-3>", #   "public-key": "<public-key-3>" # } ] } } }`

func TestUncommentFoldedSeed(t *testing.T) {
	clean, n, ok := uncomment(seedFolded)
	want := `{ "cniVersion": "0.3.0", "type": "l2sm", "device": "l2sm-vNet", "kind": { "ext-vnet": { "provider": { "name": "idco-#1", "domain": "198.19.0.1:8443" }, "accessList": [  ] } } }`
	if !ok || n != 13 || clean != want {
		t.Errorf("uncomment(folded seed) = %q, %d, %v\nwant %q, 13", clean, n, ok, want)
	}
	spec, ours, err := NetworkSpecFromConfig(clean)
	if err != nil || !ours || spec.Provider == nil || spec.Provider.Name != "idco-#1" || len(spec.AccessList) != 0 {
		t.Errorf("network from the folded seed: %+v %v %v", spec, ours, err)
	}
}
