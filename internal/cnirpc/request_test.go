package cnirpc_test

import (
	"errors"
	"reflect"
	"testing"

	"switchboard/internal/cnirpc"
)

func TestRequestValidate(t *testing.T) {
	cfg := []byte(`{"name":"red"}`)
	tests := []struct {
		req       cnirpc.Request
		wantField string // "" means valid
	}{
		{cnirpc.Request{Command: "ADD", ContainerID: "c", NetNS: "/n", IfName: "net1", Config: cfg}, ""},
		{cnirpc.Request{Command: "CHECK", ContainerID: "c", NetNS: "/n", IfName: "net1", Config: cfg}, ""},
		{cnirpc.Request{Command: "DEL", ContainerID: "c", IfName: "net1", Config: cfg}, ""}, // netns may be gone
		{cnirpc.Request{Command: "STATUS", Config: cfg}, ""},
		{cnirpc.Request{Command: "GC", Config: cfg}, ""},
		{cnirpc.Request{Command: "add", ContainerID: "c", NetNS: "/n", IfName: "net1", Config: cfg}, "command"},
		{cnirpc.Request{Command: "VERSION", Config: cfg}, "command"},
		{cnirpc.Request{Command: "ADD", NetNS: "/n", IfName: "net1", Config: cfg}, "containerID"},
		{cnirpc.Request{Command: "ADD", ContainerID: "c", IfName: "net1", Config: cfg}, "netns"},
		{cnirpc.Request{Command: "CHECK", ContainerID: "c", NetNS: "/n", Config: cfg}, "ifName"},
		{cnirpc.Request{Command: "DEL", ContainerID: "c", Config: cfg}, "ifName"},
		{cnirpc.Request{Command: "GC"}, "config"},
		{cnirpc.Request{Command: "STATUS", Config: []byte(`{"name":`)}, "config"},
	}
	for _, tt := range tests {
		err := tt.req.Validate()
		if got := fieldOf(t, err); got != tt.wantField {
			t.Errorf("Validate(%+v) = %v, want field %q", tt.req, err, tt.wantField)
		}
	}
}

func TestPodArgs(t *testing.T) {
	tests := []struct {
		args      string
		want      cnirpc.PodRef
		wantField string
	}{
		{"IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=1234-5678",
			cnirpc.PodRef{Namespace: "default", Name: "web-0", UID: "1234-5678"}, ""},
		{"K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;", cnirpc.PodRef{Namespace: "default", Name: "web-0"}, ""},
		{"K8S_POD_NAME=web-0", cnirpc.PodRef{}, "CNI_ARGS K8S_POD_NAMESPACE"},
		{"K8S_POD_NAMESPACE=default;K8S_POD_NAME=", cnirpc.PodRef{}, "CNI_ARGS K8S_POD_NAME"},
		{"K8S_POD_NAMESPACE=default;junk", cnirpc.PodRef{}, "CNI_ARGS"},
		{"", cnirpc.PodRef{}, "CNI_ARGS K8S_POD_NAMESPACE"},
	}
	for _, tt := range tests {
		got, err := cnirpc.PodArgs(tt.args)
		if f := fieldOf(t, err); f != tt.wantField || got != tt.want {
			t.Errorf("PodArgs(%q) = %+v, %v; want %+v, field %q", tt.args, got, err, tt.want, tt.wantField)
		}
	}
}

func TestParseArgs(t *testing.T) {
	got, err := cnirpc.ParseArgs("A=1;B=x=y;;A=2")
	want := map[string]string{"A": "2", "B": "x=y"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseArgs = %v, %v; want %v", got, err, want)
	}
	if _, err := cnirpc.ParseArgs("=1"); fieldOf(t, err) != "CNI_ARGS" {
		t.Errorf("ParseArgs(%q) = %v, want a CNI_ARGS field error", "=1", err)
	}
}

// fieldOf returns the field a *FieldError names, "" for nil, and fails the
// test for any other error.
func fieldOf(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var fe *cnirpc.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a *FieldError", err)
	}
	return fe.Field
}
