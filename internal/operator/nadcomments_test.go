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
