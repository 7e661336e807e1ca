package components

import (
	"strings"
	"testing"
)

func TestRef(t *testing.T) {
	c, err := Get("switchboard-agent")
	if err != nil {
		t.Fatal(err)
	}
	if ref, err := c.Ref("ghcr.io/example/sb/", "v1.2.3"); err != nil || ref != "ghcr.io/example/sb/switchboard-agent:v1.2.3" {
		t.Errorf("ref %q, %v", ref, err)
	}
	for _, bad := range [][2]string{{"reg.example/UPPER", "v1"}, {"reg.example", "a tag"}, {"reg.example", ""}, {"", "v1"}} {
		if ref, err := c.Ref(bad[0], bad[1]); err == nil {
			t.Errorf("repository %q tag %q: accepted as %q", bad[0], bad[1], ref)
		}
	}
	if _, err := Get("nope"); err == nil || !strings.Contains(err.Error(), "switchboard-operator") {
		t.Errorf("unknown component: %v, want the list of components", err)
	}
}

func TestImageHoldsEveryBinary(t *testing.T) {
	c, _ := Get("switchboard-agent")
	s := c.Image("/b", "x.example/switchboard-agent:t")
	if len(s.Files) != 2 || s.Files[1].Source != "/b/switchboard-cni" || s.Entrypoint[0] != "/usr/local/bin/switchboard-agent" {
		t.Errorf("agent image %+v", s)
	}
}
