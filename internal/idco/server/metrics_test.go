package server

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/internal/idco"
)

func TestObserveSweep(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := New(nil, nil, reg)
	s.ObserveSweep(idco.SweepResult{Audit: 7, Authorizations: 2}, nil)
	s.ObserveSweep(idco.SweepResult{Audit: 1}, errors.New("export failed"))
	got := gathered(t, reg)
	for name, want := range map[string]float64{
		`switchboard_idco_retention_deleted_total{table="audit"}`:          8,
		`switchboard_idco_retention_deleted_total{table="authorizations"}`: 2,
		`switchboard_idco_retention_sweeps_total{result="ok"}`:             1,
		`switchboard_idco_retention_sweeps_total{result="error"}`:          1,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
	if got["switchboard_idco_retention_last_success_timestamp_seconds"] == 0 {
		t.Error("last successful sweep time not set")
	}
}

// gathered returns the registry's counters and gauges by name{label="value"}.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetName() + "=\"" + l.GetValue() + "\"}"
			}
			switch {
			case m.GetCounter() != nil:
				out[name] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[name] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}
