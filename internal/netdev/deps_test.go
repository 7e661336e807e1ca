package netdev_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsOneWay keeps the kernel-device layer at the bottom: netdev
// imports no Switchboard package (the rooms above import it), and devname
// imports only the standard library, so that the operator can name the
// edge cable without linking netlink.
func TestImportsOneWay(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	for pkg, allowed := range map[string][]string{
		"switchboard/internal/netdev":         {"github.com/vishvananda/", "golang.org/x/sys/"},
		"switchboard/internal/netdev/devname": nil,
	} {
		out, err := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list: %v\n%s", err, out)
		}
	next:
		for _, dep := range strings.Fields(string(out)) {
			if dep == pkg {
				continue
			}
			for _, a := range allowed {
				if strings.HasPrefix(dep, a) {
					continue next
				}
			}
			t.Errorf("%s depends on %s", pkg, dep)
		}
	}
}
