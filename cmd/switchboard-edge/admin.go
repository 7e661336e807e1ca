package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"switchboard/internal/edgectl"
)

// The admin socket serves operators on the node (or through kubectl exec
// into the edge's pod): a unix socket in a 0700 directory, so only root on
// the node reaches it. One request: POST /rotate-key.
const defaultAdminSocket = "/run/switchboard-edge/admin.sock"

// rotateResponse is the answer to POST /rotate-key.
type rotateResponse struct {
	PublicKey string `json:"publicKey,omitempty"`
	Error     string `json:"error,omitempty"`
}

// serveAdmin serves the admin socket until ctx ends.
func serveAdmin(ctx context.Context, log *slog.Logger, path string, c *edgectl.Controller) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("admin socket directory: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the old admin socket %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /rotate-key", func(w http.ResponseWriter, r *http.Request) {
		key, err := c.RotateKey(r.Context())
		resp := rotateResponse{PublicKey: key}
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			resp.Error = err.Error()
			w.WriteHeader(http.StatusInternalServerError)
		}
		_ = json.NewEncoder(w).Encode(resp)
	})
	serveOn(ctx, log, ln, newHTTPServer(mux))
	return nil
}

// rotateKey is "switchboard-edge rotate-key": it asks the running edge to
// rotate its WireGuard key and prints the new public key.
func rotateKey(args []string) error {
	fs := flag.NewFlagSet("rotate-key", flag.ContinueOnError)
	socket := fs.String("admin-socket", defaultAdminSocket, "the running edge's admin socket")
	if err := fs.Parse(args); err != nil {
		return err
	}
	hc := &http.Client{
		Timeout: time.Minute,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", *socket)
		}},
	}
	res, err := hc.Post("http://edge/rotate-key", "application/json", nil)
	if err != nil {
		return fmt.Errorf("ask the edge at %s: %w (is switchboard-edge running here? run this inside its pod: kubectl -n switchboard-system exec ds/switchboard-edge -- switchboard-edge rotate-key)", *socket, err)
	}
	defer res.Body.Close()
	var r rotateResponse
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		return fmt.Errorf("read the edge's answer (HTTP %d): %w", res.StatusCode, err)
	}
	if r.Error != "" {
		return errors.New(r.Error)
	}
	fmt.Println(r.PublicKey)
	return nil
}
