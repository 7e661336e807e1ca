package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// State is what a lab has made on the host, recorded as it is made so that
// Down can undo exactly that, even after a failed or interrupted Up.
// It is safe for concurrent use.
type State struct {
	mu   sync.Mutex
	path string
	rec  record
}

type record struct {
	Name     string            `json:"name"`
	Clusters int               `json:"clusters"`
	Nodes    int               `json:"nodes"`
	Ready    bool              `json:"ready"`             // Up finished
	FRR      bool              `json:"frr,omitempty"`     // up with --frr: the fabric of frr.go
	Primary  string            `json:"primary,omitempty"` // Config.Primary
	Kubectl  string            `json:"kubectl,omitempty"`
	NetNS    []string          `json:"netns,omitempty"`
	MountNS  []string          `json:"mountns,omitempty"` // bind-mounted mount-namespace files
	Mounts   []string          `json:"mounts,omitempty"`  // other host mounts, unmounted in reverse
	Cgroups  []string          `json:"cgroups,omitempty"` // relative paths, created in every hierarchy
	Procs    []Proc            `json:"procs,omitempty"`
	Dirs     []string          `json:"dirs,omitempty"` // host directories created as mount points
	Sysctls  map[string]string `json:"sysctls,omitempty"`
}

// Proc is a daemon the lab started.
type Proc struct {
	Name  string `json:"name"`
	PID   int    `json:"pid"`
	Start uint64 `json:"start"` // start time in clock ticks (/proc/PID/stat field 22), against PID reuse
	Log   string `json:"log"`
}

// ErrNotUp says no lab of that name is up.
var ErrNotUp = errors.New("lab is not up")

func statePath(dir string) string { return filepath.Join(dir, "state.json") }

// loadState reads the state of the lab in dir; ErrNotUp if there is none.
func loadState(dir string) (*State, error) {
	b, err := os.ReadFile(statePath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotUp
	}
	if err != nil {
		return nil, fmt.Errorf("read lab state: %w", err)
	}
	s := &State{path: statePath(dir)}
	if err := json.Unmarshal(b, &s.rec); err != nil {
		return nil, fmt.Errorf("parse lab state %s: %w", s.path, err)
	}
	return s, nil
}

func newState(dir, name string, clusters, nodes int) (*State, error) {
	s := &State{path: statePath(dir), rec: record{Name: name, Clusters: clusters, Nodes: nodes}}
	return s, s.save()
}

// update applies f to the record and writes it to disk atomically.
func (s *State) update(f func(r *record)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.rec)
	return s.saveLocked()
}

func (s *State) save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveLocked()
}

func (s *State) saveLocked() error {
	b, err := json.MarshalIndent(&s.rec, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write lab state: %w", err)
	}
	return os.Rename(tmp, s.path)
}

// snapshot returns a copy of the record.
func (s *State) snapshot() record {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rec
	r.NetNS = append([]string(nil), r.NetNS...)
	r.MountNS = append([]string(nil), r.MountNS...)
	r.Mounts = append([]string(nil), r.Mounts...)
	r.Cgroups = append([]string(nil), r.Cgroups...)
	r.Procs = append([]Proc(nil), r.Procs...)
	r.Dirs = append([]string(nil), r.Dirs...)
	return r
}
