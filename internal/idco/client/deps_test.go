package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestClientDoesNotImportDrivers keeps the operator and the edge, which
// import this package, free of the SQL drivers and the store.
func TestClientDoesNotImportDrivers(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "switchboard/internal/idco/client").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed only %v", deps)
	}
	for _, d := range deps {
		for _, banned := range []string{"modernc.org/sqlite", "modernc.org/libc", "github.com/jackc/pgx", "database/sql", "switchboard/internal/idco/store", "switchboard/internal/idco/server"} {
			if d == banned || strings.HasPrefix(d, banned+"/") {
				t.Errorf("package client depends on %s", d)
			}
		}
	}
}
