package wireguard

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// KeyFileError is a private key file that LoadOrCreateKey refuses: readable
// or writable by others than its owner, not a regular file, or not a key.
// Its message names the file and the fix.
type KeyFileError struct {
	Path   string
	Reason string // what is wrong
	Fix    string // what to do about it
}

func (e *KeyFileError) Error() string {
	return fmt.Sprintf("private key file %q %s: %s", e.Path, e.Reason, e.Fix)
}

// LoadOrCreateKey returns the private key in path. When path does not exist
// it makes a new key and writes it there (mode 0600, in a directory it
// creates with mode 0700 if missing), so that an edge has its own key from
// its first start on. The file holds one line of base64, as `wg genkey`
// writes. A file that others than its owner may read or write, or that does
// not hold a key, is refused with a *KeyFileError: the key might be known to
// others, or the path might be wrong, and either needs a person to look.
func LoadOrCreateKey(path string) (wgtypes.Key, error) {
	if path == "" {
		return wgtypes.Key{}, errors.New("private key file: no path given: set the engine's PrivateKeyFile")
	}
	k, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if k, err = wgtypes.GeneratePrivateKey(); err != nil {
		return wgtypes.Key{}, fmt.Errorf("generate private key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return wgtypes.Key{}, fmt.Errorf("create the directory of private key file %q: %w", path, err)
	}
	if err := writeKeyFile(path, k); err != nil {
		return wgtypes.Key{}, err
	}
	return k, nil
}

// readKeyFile reads and checks a private key file; a missing file is an
// error that wraps fs.ErrNotExist.
func readKeyFile(path string) (wgtypes.Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return wgtypes.Key{}, fmt.Errorf("open private key file %q: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return wgtypes.Key{}, fmt.Errorf("stat private key file %q: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return wgtypes.Key{}, &KeyFileError{Path: path, Reason: "is not a regular file (" + st.Mode().Type().String() + ")",
			Fix: "point PrivateKeyFile at a file, or remove this one so that a new key is made"}
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return wgtypes.Key{}, &KeyFileError{Path: path, Reason: fmt.Sprintf("has mode %04o, open to others than its owner", perm),
			Fix: fmt.Sprintf("run \"chmod 600 %s\" if no one else can have read it, otherwise remove it so that a new key is made (and registered)", path)}
	}
	b, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return wgtypes.Key{}, fmt.Errorf("read private key file %q: %w", path, err)
	}
	k, err := wgtypes.ParseKey(strings.TrimSpace(string(b)))
	if err == nil && k == (wgtypes.Key{}) {
		err = errors.New("the key is all zeros")
	}
	if err != nil {
		return wgtypes.Key{}, &KeyFileError{Path: path, Reason: "does not hold a WireGuard private key (" + err.Error() + ")",
			Fix: fmt.Sprintf("it must be one line of base64, 44 characters, as \"wg genkey\" writes; remove it so that a new key is made, or write one with \"wg genkey > %s\"", path)}
	}
	return k, nil
}

// writeKeyFile replaces path with a file holding k, atomically: a reader
// sees the old key or the new one, never a part. The file has mode 0600
// from its creation on.
func writeKeyFile(path string, k wgtypes.Key) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*") // mode 0600
	if err != nil {
		return fmt.Errorf("write private key file %q: %w", path, err)
	}
	name := tmp.Name()
	_, err = tmp.WriteString(k.String() + "\n")
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("write private key file %q: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil { // make the rename durable
		_ = d.Sync()
		d.Close()
	}
	return nil
}
