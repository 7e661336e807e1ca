package idco

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// JSONLines is an Exporter that appends rows as JSON lines, one object per
// row: {"kind":"audit","audit":{...}} or
// {"kind":"authorization","authorization":{...}}, with the fields of the
// API's AuditEntry and Authorization. Path names a file, or an existing
// directory where each day's rows go to idco-export-YYYY-MM-DD.jsonl (UTC).
// Files are created 0600 and synced before an export returns.
type JSONLines struct {
	Path string
	// Now gives the day of a directory's file; nil means time.Now.
	Now func() time.Time
}

// ExportLine is one line a JSONLines export writes.
type ExportLine struct {
	Kind          string         `json:"kind"` // "audit" or "authorization"
	Audit         *AuditEntry    `json:"audit,omitempty"`
	Authorization *Authorization `json:"authorization,omitempty"`
}

func (j JSONLines) String() string { return j.Path }

// ExportAudit implements Exporter.
func (j JSONLines) ExportAudit(_ context.Context, es []AuditEntry) error {
	lines := make([]ExportLine, len(es))
	for i := range es {
		lines[i] = ExportLine{Kind: "audit", Audit: &es[i]}
	}
	return j.write(lines)
}

// ExportAuthorizations implements Exporter.
func (j JSONLines) ExportAuthorizations(_ context.Context, as []Authorization) error {
	lines := make([]ExportLine, len(as))
	for i := range as {
		lines[i] = ExportLine{Kind: "authorization", Authorization: &as[i]}
	}
	return j.write(lines)
}

// file returns the file the rows go to.
func (j JSONLines) file() (string, error) {
	if j.Path == "" {
		return "", errors.New("export path is empty: give --retention-export a file or a directory")
	}
	st, err := os.Stat(j.Path)
	switch {
	case err == nil && st.IsDir():
		now := time.Now
		if j.Now != nil {
			now = j.Now
		}
		return filepath.Join(j.Path, "idco-export-"+now().UTC().Format("2006-01-02")+".jsonl"), nil
	case err == nil, errors.Is(err, fs.ErrNotExist):
		return j.Path, nil
	default:
		return "", fmt.Errorf("inspect export path %s: %w", j.Path, err)
	}
}

func (j JSONLines) write(lines []ExportLine) error {
	name, err := j.file()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open export file %s: %w: check --retention-export and the directory's permissions", name, err)
	}
	bw := bufio.NewWriter(f)
	enc := json.NewEncoder(bw)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			f.Close()
			return fmt.Errorf("write export file %s: %w", name, err)
		}
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write export file %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync export file %s: %w", name, err)
	}
	return f.Close()
}
