package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"switchboard/internal/token"
)

// defaultKeysDir is $XDG_CONFIG_HOME/switchboard/keys, or
// ~/.config/switchboard/keys.
func defaultKeysDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the default keys directory: %w: pass --dir", err)
	}
	return filepath.Join(d, "switchboard", "keys"), nil
}

// keyPaths returns where the private and public key of user live in dir.
func keyPaths(dir, user string) (priv, pub string) {
	return filepath.Join(dir, user+".key"), filepath.Join(dir, user+".pub")
}

// checkUser refuses user names that cannot be a file name in the keys
// directory.
func checkUser(user string) error {
	switch {
	case user == "":
		return errors.New("--user is empty: name the user the key belongs to, as on the network's access list")
	case strings.ContainsAny(user, `/\`+"\x00") || strings.HasPrefix(user, "."):
		return fmt.Errorf("--user %q cannot be a file name: use no slashes and no leading dot", user)
	}
	return nil
}

func keysCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the signing keys of inter-cluster network users (kept on this machine)",
	}
	var user, alg, dir string
	var force bool
	newCmd := &cobra.Command{
		Use:   "new --user USER",
		Short: "Make a key pair: USER.key (private, 0600) and USER.pub (public, for access lists)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return keysNew(c, user, token.Algorithm(alg), dir, force)
		},
	}
	newCmd.Flags().StringVar(&user, "user", "", "user the key belongs to, as on the network's access list (required)")
	newCmd.Flags().StringVar(&alg, "alg", string(token.AlgEd25519), "key algorithm: ed25519 or ecdsa-p256")
	newCmd.Flags().StringVar(&dir, "dir", "", "directory for the keys (default $XDG_CONFIG_HOME/switchboard/keys or ~/.config/switchboard/keys)")
	newCmd.Flags().BoolVar(&force, "force", false, "overwrite an existing key pair of this user")
	cmd.AddCommand(newCmd)
	return cmd
}

func keysNew(c *cobra.Command, user string, alg token.Algorithm, dir string, force bool) error {
	if err := checkUser(user); err != nil {
		return err
	}
	if dir == "" {
		var err error
		if dir, err = defaultKeysDir(); err != nil {
			return err
		}
	}
	privPath, pubPath := keyPaths(dir, user)
	if !force {
		for _, p := range []string{privPath, pubPath} {
			if _, err := os.Lstat(p); err == nil {
				return fmt.Errorf("%s already exists: pass --force to replace the key pair (tokens signed with the old key stop verifying once its .pub is replaced on the access list)", p)
			}
		}
	}
	key, err := token.GenerateKey(alg)
	if err != nil {
		return fmt.Errorf("--alg: %w", err)
	}
	privPEM, err := token.MarshalPrivateKeyPEM(key)
	if err != nil {
		return err
	}
	pubPEM, err := token.MarshalPublicKeyPEM(key.Public())
	if err != nil {
		return err
	}
	fp, err := token.Fingerprint(key.Public())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create keys directory: %w", err)
	}
	if err := writeFile(privPath, privPEM, 0o600, force); err != nil {
		return err
	}
	if err := writeFile(pubPath, pubPEM, 0o644, force); err != nil {
		return err
	}
	out := c.OutOrStdout()
	fmt.Fprintf(out, "private key: %s (keep it on this machine)\n", privPath)
	fmt.Fprintf(out, "public key:  %s\n", pubPath)
	fmt.Fprintf(out, "fingerprint: %s\n", fp)
	fmt.Fprintf(out, "\nGive %s to the owner of each network you want to join, to add to its access list\n"+
		"as user %q; then sign a token with:\n  switchboard token sign --network NETWORK --user %s | kubectl apply -f -\n", pubPath, user, user)
	return nil
}

// writeFile writes data to path with mode perm. Without replace it fails if
// path exists; with replace it swaps the file in atomically.
func writeFile(path string, data []byte, perm os.FileMode, replace bool) error {
	if !replace {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists: pass --force to replace it", path)
		}
		if err != nil {
			return fmt.Errorf("create %s: %w", path, err)
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chmod(path, perm) // the umask may have narrowed it
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), perm)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
