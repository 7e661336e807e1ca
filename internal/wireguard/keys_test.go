package wireguard

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

func TestLoadOrCreateKeyMakesA0600KeyOnceAndKeepsIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "wg.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", st.Mode().Perm())
	}
	if dst, _ := os.Stat(filepath.Dir(path)); dst.Mode().Perm() != 0o700 {
		t.Errorf("key directory mode %04o, want 0700", dst.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if got := strings.TrimSpace(string(b)); got != k1.String() || len(got) != 44 {
		t.Errorf("file holds %q, want the key in base64 (%s)", got, k1)
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil || k2 != k1 {
		t.Errorf("second load: %v, key changed: %v", err, k2 != k1)
	}
}

func TestLoadOrCreateKeyReadsWgGenkeyOutput(t *testing.T) {
	k, _ := wgtypes.GeneratePrivateKey()
	path := filepath.Join(t.TempDir(), "wg.key")
	if err := os.WriteFile(path, []byte(k.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadOrCreateKey(path)
	if err != nil || got != k {
		t.Fatalf("got %v, %v; want the file's key", got, err)
	}
}

func TestLoadOrCreateKeyRefusesBadFiles(t *testing.T) {
	k, _ := wgtypes.GeneratePrivateKey()
	good := k.String() + "\n"
	for _, tc := range []struct {
		name    string
		mode    os.FileMode
		content string
		want    []string // in the error
	}{
		{"world readable", 0o644, good, []string{"mode 0644", "chmod 600"}},
		{"group readable", 0o640, good, []string{"mode 0640", "chmod 600"}},
		{"group writable", 0o620, good, []string{"mode 0620"}},
		{"not base64", 0o600, "not a key\n", []string{"does not hold a WireGuard private key", "wg genkey >"}},
		{"too short", 0o600, "AAAA\n", []string{"does not hold a WireGuard private key"}},
		{"all zeros", 0o600, wgtypes.Key{}.String() + "\n", []string{"all zeros"}},
		{"empty", 0o600, "", []string{"does not hold a WireGuard private key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "wg.key")
			if err := os.WriteFile(path, []byte(tc.content), tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil { // past the umask
				t.Fatal(err)
			}
			_, err := LoadOrCreateKey(path)
			var kfe *KeyFileError
			if !errors.As(err, &kfe) || kfe.Path != path {
				t.Fatalf("err = %v, want a *KeyFileError for %s", err, path)
			}
			for _, w := range append(tc.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if b, _ := os.ReadFile(path); string(b) != tc.content {
				t.Error("the refused file was changed")
			}
		})
	}
	t.Run("a directory", func(t *testing.T) {
		_, err := LoadOrCreateKey(t.TempDir())
		var kfe *KeyFileError
		if !errors.As(err, &kfe) || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("err = %v, want not a regular file", err)
		}
	})
	t.Run("no path", func(t *testing.T) {
		if _, err := LoadOrCreateKey(""); err == nil || !strings.Contains(err.Error(), "PrivateKeyFile") {
			t.Fatalf("err = %v, want one naming PrivateKeyFile", err)
		}
	})
}

func TestWriteKeyFileReplacesAtomicallyWith0600(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wg.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := wgtypes.GeneratePrivateKey()
	if err := writeKeyFile(path, k2); err != nil {
		t.Fatal(err)
	}
	got, err := LoadOrCreateKey(path)
	if err != nil || got != k2 || got == k1 {
		t.Fatalf("after rewrite: %v, %v; want the new key", got, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key file (no temporary left)", len(entries))
	}
}
